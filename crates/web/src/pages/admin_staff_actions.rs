//! What an owner may do to a staff member's account: change its role, disable or enable it,
//! unlock it, end its sessions, reset its second factor, and the "device lost or account
//! compromised" button that does everything at once. Owners cannot demote or disable
//! themselves here, and the last enabled owner cannot be demoted or disabled.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storefort_core::access::Role;
use storefort_crypto::{password, token};
use storefort_store::auth::User;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_staff::{log, member_url, refused, Owner};
use super::render::{ok, seg, PageError};
use crate::auth::AdminSession;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Owners other than `except` who can still sign in.
async fn other_enabled_owners(state: &AppState, except: &User) -> Result<usize, PageError> {
    Ok(state
        .db
        .users_with_role(Role::Owner.as_str())
        .await?
        .iter()
        .filter(|u| !u.disabled && u.id != except.id)
        .count())
}

/// Refuse to take the last enabled owner away (demote or disable): the shop would have nobody
/// left to manage it.
/// This is the early, friendly check; the store makes the same check atomically with the
/// change (two owners acting at once), see [`owner_guard`].
async fn keep_an_owner(state: &AppState, u: &User) -> Result<(), PageError> {
    if u.role() == Role::Owner && !u.disabled && other_enabled_owners(state, u).await? == 0 {
        return Err(only_owner(u));
    }
    Ok(())
}

fn only_owner(u: &User) -> PageError {
    refused(format!(
        "{} is the shop's only owner. Make another staff member an owner first, or the shop \
         would have nobody left who can manage staff.",
        u.email
    ))
}

/// The store refused because the change would leave no enabled owner (another owner was
/// demoted or disabled at the same moment): the same friendly 409.
fn owner_guard(u: &User, e: StoreError) -> PageError {
    match e {
        StoreError::Conflict { .. } => only_owner(u),
        e => e.into(),
    }
}

fn not_yourself(s: &AdminSession, u: &User, what: &str) -> Result<(), PageError> {
    if u.id == s.user().id {
        return Err(refused(format!(
            "You cannot {what} your own account here. Ask another owner, or use Your account \
             (/admin/account) for your own settings."
        )));
    }
    Ok(())
}

/// `POST /admin/staff/{id}/role` (password typed within the last few minutes).
pub async fn role(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    let Some(new) = Role::parse(f.get("role")) else {
        return Err(PageError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "That did not work",
            message: "Role: choose owner, manager or cashier.".into(),
        });
    };
    if new != Role::Owner {
        keep_an_owner(&state, &u).await?;
    }
    not_yourself(&s, &u, "change the role of")?;
    if new == u.role() {
        return Ok(see_other(&member_url(&id, "unchanged")));
    }
    if let Err(to) = s.require_recent_password(&state, &back(&id)) {
        return Ok(to.into_response());
    }
    state
        .db
        .change_role_keeping_an_owner(&id, new.as_str())
        .await
        .map_err(|e| owner_guard(&u, e))?;
    let details = format!("{} -> {}", u.role, new.as_str());
    log(&state, &s, &client, "staff.role_changed", &u.email, details).await?;
    Ok(see_other(&member_url(&id, "role")))
}

/// `POST /admin/staff/{id}/disable`: they cannot sign in, their sessions end now, and the
/// invitations they sent are withdrawn.
pub async fn disable(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    keep_an_owner(&state, &u).await?;
    not_yourself(&s, &u, "disable")?;
    if u.disabled {
        return Ok(see_other(&member_url(&id, "unchanged")));
    }
    let ended = state.db.sessions_of(&id).await?.len();
    state
        .db
        .disable_keeping_an_owner(&id)
        .await
        .map_err(|e| owner_guard(&u, e))?;
    let withdrawn = state.db.revoke_invitations_by(&id).await?;
    let mut details = format!("{ended} sessions ended");
    if withdrawn > 0 {
        details.push_str(&format!(", {withdrawn} pending invitations withdrawn"));
    }
    log(&state, &s, &client, "staff.disabled", &u.email, details).await?;
    Ok(see_other(&member_url(&id, "disabled")))
}

/// `POST /admin/staff/{id}/enable`.
pub async fn enable(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    if !u.disabled {
        return Ok(see_other(&member_url(&id, "unchanged")));
    }
    state.db.set_disabled(&id, false).await?;
    log(&state, &s, &client, "staff.enabled", &u.email, "").await?;
    Ok(see_other(&member_url(&id, "enabled")))
}

/// `POST /admin/staff/{id}/unlock`: lift a lockout after too many failed sign-ins.
pub async fn unlock(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    state.db.unlock_user(&id).await?;
    let details = format!("{} failed sign-ins cleared", u.failed_logins);
    log(&state, &s, &client, "staff.unlocked", &u.email, details).await?;
    Ok(see_other(&member_url(&id, "unlocked")))
}

/// `POST /admin/staff/{id}/sessions/{sid}/end`: end one of their sessions (404 if it is not
/// theirs).
pub async fn end_session(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path((id, sid)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    state.db.end_session_of(&id, &sid).await?;
    let details = format!("session {sid}");
    log(
        &state,
        &s,
        &client,
        "staff.session_ended",
        &u.email,
        details,
    )
    .await?;
    Ok(see_other(&member_url(&id, "session-ended")))
}

/// `POST /admin/staff/{id}/sessions/end-all` (on yourself, the session in use stays).
pub async fn end_all(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    let keep = (u.id == s.user().id).then_some(s.0.id.as_str());
    let n = state.db.end_sessions_of(&id, keep).await?;
    let details = format!("{n} sessions ended");
    log(
        &state,
        &s,
        &client,
        "staff.sessions_ended",
        &u.email,
        details,
    )
    .await?;
    Ok(see_other(&member_url(&id, "sessions-ended")))
}

/// `POST /admin/staff/{id}/mfa-reset` (password typed within the last few minutes): turn off
/// their second factor so they can set it up again (lost phone), and end all their sessions
/// (a session that passed the old second factor should not outlive it).
pub async fn mfa_reset(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    if let Err(to) = s.require_recent_password(&state, &back(&id)) {
        return Ok(to.into_response());
    }
    state.db.reset_mfa(&id).await?;
    let ended = state.db.end_sessions_of(&id, None).await?;
    let details = format!("{ended} sessions ended");
    log(&state, &s, &client, "staff.mfa_reset", &u.email, details).await?;
    if u.id == s.user().id {
        // Their own: the session in use ended too.
        return Ok(super::admin::signed_out("/admin/login"));
    }
    Ok(see_other(&member_url(&id, "mfa-reset")))
}

#[derive(Template)]
#[template(path = "admin_staff_compromised.html")]
struct SecuredPage {
    admin: AdminChrome,
    id: String,
    name: String,
    email: String,
    sessions: usize,
    keys: u64,
    links: u64,
    invitations: u64,
    minutes: i64,
    link: String,
    mfa: bool,
}

/// `POST /admin/staff/{id}/compromised` (password typed within the last few minutes): the
/// "device lost or account compromised" button. In one step: the password is replaced by a
/// random one nobody knows (which ends every session), every API key they made is revoked,
/// their second factor is turned off (the authenticator may be on the lost device), earlier
/// reset links are expired, the invitations they sent are withdrawn, and a new reset link is
/// shown once to the owner to hand over in person. It is never emailed: their mailbox may be
/// on the lost device too. Refused on yourself (409): it would lock you out.
pub async fn compromised(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = state.db.user(&id).await?;
    if u.id == s.user().id {
        // It would sign you out with a password nobody knows: a lone owner locked out for good.
        return Err(refused(
            "You cannot use this on your own account: it would lock you out. To secure your own \
             account, use your account page (/admin/account): end all other sessions and change \
             your password. If you are signed in elsewhere on a lost device, \"End all other \
             sessions\" there signs it out.",
        ));
    }
    if let Err(to) = s.require_recent_password(&state, &back(&id)) {
        return Ok(to.into_response());
    }
    let temp = password::generate();
    let score = password::check_policy(&temp, &[]).unwrap_or(password::MIN_SCORE);
    let hash = crate::login::hash_password(&temp).await?;
    let sessions = state.db.sessions_of(&id).await?.len();
    state.db.set_temporary_password(&id, &hash, score).await?;
    let keys = state.db.revoke_api_keys_of(&id).await?;
    state.db.reset_mfa(&id).await?;
    let links = state.db.expire_password_resets(&id).await?;
    let invitations = state.db.revoke_invitations_by(&id).await?;
    let t = token::random_token();
    state
        .db
        .create_password_reset(&id, &token::hash_token(&t))
        .await?;
    let details = format!(
        "{sessions} sessions ended, {keys} API keys revoked, two-factor sign-in {}, \
         {links} earlier reset links expired, {invitations} pending invitations withdrawn",
        if u.mfa_enabled {
            "turned off"
        } else {
            "was not set up"
        }
    );
    log(&state, &s, &client, "staff.compromised", &u.email, details).await?;
    let link = format!(
        "{}{}?token={t}",
        state.cfg.public_url.trim_end_matches('/'),
        super::admin_staff::RESET_PATH
    );
    ok(&SecuredPage {
        admin: AdminChrome::new(&state, &s, "staff"),
        id: seg(&id),
        name: u.name,
        email: u.email,
        sessions,
        keys,
        links,
        invitations,
        minutes: state.db.policy.reset_link_ms / 60_000,
        link,
        mfa: u.mfa_enabled,
    })
}

fn back(id: &str) -> String {
    format!("/admin/staff/{}", seg(id))
}
