//! Staff management (owners only): the staff list and one member's page. What an owner may do
//! to an account (role, disable, unlock, sessions, second factor, the "device lost or account
//! compromised" button) is in [`super::admin_staff_actions`]; invitations (sending, withdrawing,
//! accepting) in [`super::admin_invite`]. Every change is audited with who did it, to whom and
//! from where.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use storefort_core::access::Role;
use storefort_store::audit::AuditEvent;
use storefort_store::auth::User;

use super::admin::AdminChrome;
use super::admin_products::Opt;
use super::admin_staff_actions as act;
use super::render::{page, seg, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Owners only.
pub type Owner = Admin<perm::Staff>;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// This module's routes (and the invitation routes).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/staff", get(list))
        .route("/admin/staff/{id}", get(member))
        .route("/admin/staff/{id}/role", post(act::role))
        .route("/admin/staff/{id}/disable", post(act::disable))
        .route("/admin/staff/{id}/enable", post(act::enable))
        .route("/admin/staff/{id}/unlock", post(act::unlock))
        .route(
            "/admin/staff/{id}/sessions/{sid}/end",
            post(act::end_session),
        )
        .route("/admin/staff/{id}/sessions/end-all", post(act::end_all))
        .route("/admin/staff/{id}/mfa-reset", post(act::mfa_reset))
        .route("/admin/staff/{id}/compromised", post(act::compromised))
        .merge(super::admin_invite::routes())
}

/// One staff member as shown in the list and on their page.
struct MemberRow {
    id: String,
    name: String,
    email: String,
    role: String,
    mfa: bool,
    locked_until: Option<String>,
    disabled: bool,
    last_login: String,
    password_age: String,
    must_change: bool,
    is_self: bool,
}

fn days_ago(now: i64, then: i64) -> String {
    match (now - then).max(0) / DAY_MS {
        0 => "under a day".into(),
        1 => "1 day".into(),
        d => format!("{d} days"),
    }
}

fn member_row(state: &AppState, s: &AdminSession, u: &User) -> MemberRow {
    let now = state.db.now();
    MemberRow {
        id: seg(u.id.as_str()),
        name: u.name.clone(),
        email: u.email.clone(),
        role: u.role.clone(),
        mfa: u.mfa_enabled,
        locked_until: u.locked_until.filter(|t| *t > now).map(utc),
        disabled: u.disabled,
        last_login: u.last_login_at.map(utc).unwrap_or_else(|| "never".into()),
        password_age: days_ago(now, u.password_changed_at),
        must_change: u.must_change_password,
        is_self: u.id == s.user().id,
    }
}

/// Where a password-reset link points (`?token=...` is appended).
pub const RESET_PATH: &str = "/admin/reset";

/// Email a link to a staff member. `None` when it was sent; otherwise why not, and the caller
/// shows the link once to the owner to pass on.
pub async fn send_link(state: &AppState, to: &str, subject: &str, body: &str) -> Option<String> {
    match crate::mail::send(state.cfg.smtp.as_ref(), to, subject, body).await {
        Ok(()) => None,
        Err(crate::mail::MailError::NotConfigured) => {
            Some("Email is not set up for this shop, so nothing was sent.".into())
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not send a staff email");
            Some(format!("The email could not be sent: {e}."))
        }
    }
}

/// The role choices, with `current` selected.
pub fn role_options(current: &str) -> Vec<Opt> {
    Role::ALL
        .iter()
        .map(|r| Opt {
            value: r.as_str().into(),
            label: r.as_str().into(),
            selected: r.as_str() == current,
        })
        .collect()
}

/// Record what the signed-in staff member did to or saw of `target` (a staff email, a
/// customer ID); `details` must hold no personal data.
pub async fn log(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    action: &str,
    target: &str,
    details: impl Into<String>,
) -> Result<(), PageError> {
    let u = s.user();
    let ev = AuditEvent::new(action, &u.email, &client.ip.to_string())
        .by(u.id.as_str())
        .on(target)
        .details(details);
    crate::login::audit(state, ev).await?;
    Ok(())
}

/// The member's page URL with a `done` notice.
pub fn member_url(id: &str, done: &str) -> String {
    format!("/admin/staff/{}?done={done}", seg(id))
}

/// 409 with a message, for a refused change.
pub fn refused(message: impl Into<String>) -> PageError {
    PageError {
        status: StatusCode::CONFLICT,
        title: "Not possible",
        message: message.into(),
    }
}

#[derive(Template)]
#[template(path = "admin_staff.html")]
struct ListPage {
    admin: AdminChrome,
    members: Vec<MemberRow>,
    invites: Vec<InviteRow>,
    form: InviteForm,
    roles: Vec<Opt>,
    notice: Option<String>,
    error: Option<String>,
    link: Option<String>,
    /// SMTP is configured: invitations are emailed (otherwise the owner passes the link on).
    email_ready: bool,
}

struct InviteRow {
    id: String,
    email: String,
    name: String,
    role: String,
    sent: String,
    expires: String,
    expired: bool,
}

/// The invite form's values, kept when it is shown again with an error.
#[derive(Debug, Default, Clone)]
pub struct InviteForm {
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
}

/// What the staff list page shows besides the lists.
#[derive(Debug, Default)]
pub struct ListExtras {
    /// The invite form's values.
    pub form: InviteForm,
    /// A success message.
    pub notice: Option<String>,
    /// An error message (for the invite form).
    pub error: Option<String>,
    /// An invitation link to show once (email not set up or not sent).
    pub link: Option<String>,
}

/// Render the staff list with `status`.
pub async fn list_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    extras: ListExtras,
) -> Result<Response, PageError> {
    let now = state.db.now();
    let members = state
        .db
        .users()
        .await?
        .iter()
        .map(|u| member_row(state, s, u))
        .collect();
    let invites = state
        .db
        .pending_invitations()
        .await?
        .into_iter()
        .map(|i| InviteRow {
            id: seg(&i.id),
            email: i.email,
            name: i.name,
            role: i.role,
            sent: utc(i.created_at),
            expires: utc(i.expires_at),
            expired: i.expires_at <= now,
        })
        .collect();
    let role = if extras.form.role.is_empty() {
        Role::Cashier.as_str()
    } else {
        extras.form.role.as_str()
    };
    let roles = role_options(role);
    Ok(page(
        status,
        &ListPage {
            admin: AdminChrome::new(state, s, "staff"),
            members,
            invites,
            form: extras.form,
            roles,
            notice: extras.notice,
            error: extras.error,
            link: extras.link,
            email_ready: state.cfg.smtp.is_some(),
        },
    ))
}

/// `GET /admin/staff`.
pub async fn list(
    s: Owner,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = match q.get("done").map(String::as_str) {
        Some("withdrawn") => Some("Invitation withdrawn; its link no longer works.".to_string()),
        _ => None,
    };
    let extras = ListExtras {
        notice,
        ..Default::default()
    };
    list_page(&state, &s, StatusCode::OK, extras).await
}

struct SessionRow {
    id: String,
    started: String,
    last_seen: String,
    ip: String,
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin_staff_member.html")]
struct MemberPage {
    admin: AdminChrome,
    m: MemberRow,
    sessions: Vec<SessionRow>,
    roles: Vec<Opt>,
    notice: Option<String>,
    /// Their till PIN (set, locked).
    pin: super::admin_staff_pin::PinView,
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "role" => "Role changed. It applies to their next click.",
        "disabled" => {
            "Account disabled: their sessions have ended, they cannot sign in, and invitations \
             they sent were withdrawn."
        }
        "enabled" => "Account enabled: they can sign in again.",
        "unlocked" => "Account unlocked: they can try to sign in again now.",
        "session-ended" => "Session ended.",
        "sessions-ended" => "All their sessions have ended.",
        "mfa-reset" => {
            "Two-factor sign-in was reset and their sessions have ended. Owners and managers must \
             set it up again at their next sign-in."
        }
        "unchanged" => "Nothing to change.",
        "pin" => "Till PIN saved. It works on every till from now on.",
        _ => return None,
    })
}

/// `GET /admin/staff/{id}`.
pub async fn member(
    s: Owner,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let u = state.db.user(&id).await?;
    let sessions = state
        .db
        .sessions_of(&id)
        .await?
        .into_iter()
        .map(|x| SessionRow {
            current: x.id == s.0.id,
            id: seg(&x.id),
            started: utc(x.created_at),
            last_seen: utc(x.last_seen_at),
            ip: x.ip,
            user_agent: x.user_agent,
        })
        .collect();
    let notice = q
        .get("done")
        .and_then(|d| notice_for(d))
        .map(str::to_string);
    let pin = super::admin_staff_pin::pin_view(&state, &id).await?;
    Ok(page(
        StatusCode::OK,
        &MemberPage {
            admin: AdminChrome::new(&state, &s, "staff"),
            m: member_row(&state, &s, &u),
            sessions,
            roles: role_options(&u.role),
            notice,
            pin,
        },
    ))
}
