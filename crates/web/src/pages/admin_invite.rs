//! Staff invitations. An owner invites someone by email: a single-use link (a 256-bit token
//! stored only as a hash) that expires after 7 days by default, emailed or, without email set
//! up, shown once for the owner to pass on. The owner may withdraw it. The invitee opens the
//! link (no session needed) and chooses a password; owners and managers are then made to set up
//! two-factor sign-in by the normal sign-in flow.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::access::Role;
use storefort_crypto::token;
use storefort_store::audit::AuditEvent;
use storefort_store::auth::normalize_email;
use storefort_store::staff::Invitation;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other};
use super::admin_staff::{list_page, log, refused, send_link, InviteForm, ListExtras, Owner};
use super::render::{page, url_with, utc, FormData, PageError};
use crate::middleware::ClientInfo;
use crate::AppState;

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/staff/invite", post(invite))
        .route("/admin/staff/invitations/{id}/withdraw", post(withdraw))
        .route("/admin/invite", get(accept_form).post(accept))
}

/// Check the invite form; `Err((status, message))` names the field at fault.
async fn check(
    state: &AppState,
    f: &InviteForm,
) -> Result<Result<(), (StatusCode, String)>, PageError> {
    let bad = |m: &str| Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, m.to_string())));
    let Ok(email) = normalize_email(&f.email) else {
        return bad("Email: enter their email address, like name@example.com.");
    };
    if f.name.is_empty() {
        return bad("Name: enter their name.");
    }
    if f.name.chars().count() > 100 {
        return bad("Name: use at most 100 characters.");
    }
    if Role::parse(&f.role).is_none() {
        return bad("Role: choose owner, manager or cashier.");
    }
    if state.db.user_by_email(&email).await?.is_some() {
        return Ok(Err((
            StatusCode::CONFLICT,
            format!("Email: {email} already belongs to a staff member."),
        )));
    }
    Ok(Ok(()))
}

/// `POST /admin/staff/invite` (password typed within the last few minutes: an invitation
/// creates an account, possibly an owner's).
pub async fn invite(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    if let Err(to) = s.require_recent_password(&state, "/admin/staff") {
        return Ok(to.into_response());
    }
    let form = InviteForm {
        email: f.text("email"),
        name: f.text("name"),
        role: f.text("role"),
    };
    let again = |status, msg: String, form: InviteForm| {
        let extras = ListExtras {
            form,
            error: Some(msg),
            ..Default::default()
        };
        (status, extras)
    };
    if let Err((status, msg)) = check(&state, &form).await? {
        let (status, extras) = again(status, msg, form);
        return list_page(&state, &s, status, extras).await;
    }
    let t = token::random_token();
    let created = state
        .db
        .create_invitation(
            &form.email,
            &form.name,
            &form.role,
            s.user().id.as_str(),
            &token::hash_token(&t),
        )
        .await;
    let inv = match created {
        Ok(inv) => inv,
        Err(e @ (StoreError::Invalid(_) | StoreError::Conflict { .. })) => {
            let (status, msg) = super::render::form_error(e)?;
            let (status, extras) = again(status, msg, form);
            return list_page(&state, &s, status, extras).await;
        }
        Err(e) => return Err(e.into()),
    };
    let replaced = replace_older(&state, &inv).await?;
    let mut details = format!("role {}, expires {} UTC", inv.role, utc(inv.expires_at));
    if replaced > 0 {
        details.push_str(&format!(", replaces {replaced} earlier invitation(s)"));
    }
    log(&state, &s, &client, "staff.invited", &inv.email, details).await?;
    let link = format!(
        "{}/admin/invite?token={t}",
        state.cfg.public_url.trim_end_matches('/')
    );
    let days = state.db.policy.invitation_ms / (24 * 60 * 60 * 1000);
    let text = format!(
        "Hello {},\n\n{} invited you to join {} as {}. Choose your password with this link \
         within {days} days:\n\n{link}\n\nIf you were not expecting this, ignore this email.\n",
        inv.name,
        s.user().name,
        state.cfg.shop_name,
        inv.role
    );
    let subject = format!("You are invited to {}", state.cfg.shop_name);
    let not_sent = send_link(&state, &inv.email, &subject, &text).await;
    let notice = match &not_sent {
        None => format!(
            "Invitation emailed to {}. The link works for {days} days.",
            inv.email
        ),
        Some(why) => format!(
            "Invitation for {} created. {why} Pass them the link below yourself; it is shown \
             only this once and works for {days} days.",
            inv.email
        ),
    };
    let extras = ListExtras {
        notice: Some(notice),
        link: not_sent.map(|_| link),
        ..Default::default()
    };
    list_page(&state, &s, StatusCode::OK, extras).await
}

/// A new invitation replaces any still-open one for the same address. Returns how many.
async fn replace_older(state: &AppState, inv: &Invitation) -> Result<usize, PageError> {
    let mut n = 0;
    for old in state.db.pending_invitations().await? {
        if old.email == inv.email && old.id != inv.id {
            match state.db.revoke_invitation(&old.id).await {
                Ok(()) => n += 1,
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(n)
}

/// `POST /admin/staff/invitations/{id}/withdraw`: the link stops working.
pub async fn withdraw(
    s: Owner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let inv = state.db.invitation(&id).await?;
    if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
        return Err(refused(
            "This invitation was already accepted or withdrawn.",
        ));
    }
    state.db.revoke_invitation(&id).await?;
    log(
        &state,
        &s,
        &client,
        "staff.invitation_withdrawn",
        &inv.email,
        format!("role {}", inv.role),
    )
    .await?;
    Ok(see_other("/admin/staff?done=withdrawn"))
}

#[derive(Template)]
#[template(path = "admin_invite.html")]
struct AcceptPage {
    shop_name: String,
    email: String,
    name: String,
    role: String,
    token: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_invite_closed.html")]
struct ClosedPage<'a> {
    shop_name: &'a str,
    title: &'a str,
    message: &'a str,
}

/// A link that can no longer be used (or whose account already exists): why, with links to
/// the sign-in page and the shop.
fn closed(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &ClosedPage {
            shop_name: &state.cfg.shop_name,
            title,
            message,
        },
    )
}

fn unusable(state: &AppState) -> Response {
    closed(
        state,
        StatusCode::BAD_REQUEST,
        "This invitation no longer works",
        "This invitation has expired, was withdrawn or was already used. If you already set your \
         password, sign in; otherwise ask the shop owner to invite you again.",
    )
}

fn accept_page(
    state: &AppState,
    inv: Invitation,
    t: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    page(
        status,
        &AcceptPage {
            shop_name: state.cfg.shop_name.clone(),
            email: inv.email,
            name: inv.name,
            role: inv.role,
            token: t.to_string(),
            error,
        },
    )
}

/// The open invitation behind a link token, if any.
async fn open(state: &AppState, t: &str) -> Result<Option<Invitation>, PageError> {
    if t.is_empty() || t.len() > 100 {
        return Ok(None);
    }
    Ok(state.db.open_invitation(&token::hash_token(t)).await?)
}

/// `GET /admin/invite?token=...` (no session): who the invitation is for, and a password form.
pub async fn accept_form(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let t = q.get("token").map(String::as_str).unwrap_or("");
    let Some(inv) = open(&state, t).await? else {
        return Ok(unusable(&state));
    };
    Ok(accept_page(&state, inv, t, StatusCode::OK, None))
}

/// `POST /admin/invite`: choose a password; the account is created, the link used up, and the
/// person sent to sign in (`/admin/login?joined=1&email=...`).
pub async fn accept(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, PageError> {
    // No session, so no CSRF token: the link's token is the secret, and other sites are refused.
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(PageError::forbidden(
            "Open the invitation link itself to accept it.",
        ));
    }
    let f = FormData::parse(&body);
    let t = match f.text("token") {
        t if t.is_empty() => q.get("token").cloned().unwrap_or_default(),
        t => t,
    };
    let Some(inv) = open(&state, &t).await? else {
        return Ok(unusable(&state));
    };
    let pw = f.get("password");
    if pw != f.get("confirm") {
        let msg = "Confirm password: the two passwords are not the same.".to_string();
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(accept_page(&state, inv, &t, status, Some(msg)));
    }
    let chosen =
        crate::passwords::check_new_password(&state, "password", pw, &inv.email, &inv.name, None)
            .await;
    let np = match chosen {
        Ok(np) => np,
        Err(e) if e.status.is_client_error() => {
            let msg = format!("Password: {}.", e.message);
            return Ok(accept_page(&state, inv, &t, e.status, Some(msg)));
        }
        Err(e) => return Err(e.into()),
    };
    let user = match state
        .db
        .accept_invitation(&token::hash_token(&t), &np.hash, np.score)
        .await
    {
        Ok(u) => u,
        Err(StoreError::NotFound { .. }) => return Ok(unusable(&state)),
        Err(StoreError::Conflict { .. }) => {
            return Ok(closed(
                &state,
                StatusCode::CONFLICT,
                "Not possible",
                "An account with this email already exists. Sign in instead, or ask the shop \
                 owner to reset its password.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let by = match state.db.user(&inv.invited_by).await {
        Ok(u) => u.email,
        Err(_) => inv.invited_by.clone(),
    };
    let ev = AuditEvent::new("staff.joined", &user.email, &client.ip.to_string())
        .by(user.id.as_str())
        .on(&user.email)
        .details(format!("role {}, invited by {by}", user.role));
    crate::login::audit(&state, ev).await?;
    // The person just typed this address, so showing it back on the sign-in page tells nothing.
    let to = url_with("/admin/login", &[("joined", "1"), ("email", &user.email)]);
    Ok(see_other(&to))
}
