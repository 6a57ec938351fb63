//! The signed-in staff member's own account: details, MFA status, live sessions (end one or
//! all others) and changing the password. Confirming the password again is in
//! [`super::admin_reauth`], forgotten passwords in [`super::admin_reset`].

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_store::audit::AuditEvent;
use storefort_store::auth::Session;

use super::admin::{checked_form, see_other, signed_out, AdminChrome};
use super::admin_reauth::{ip_limited, password_ok, RATE_LIMITED};
use super::render::{page, seg, utc, FormData, PageError};
use crate::auth::{owed, AdminSession, Owed, SignInSession};
use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// This module's routes (and those of [`super::admin_reset`] and [`super::admin_reauth`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/account", get(show))
        .route("/admin/account/sessions/{id}/end", post(end_session))
        .route("/admin/account/sessions/end-others", post(end_others))
        .route(
            "/admin/account/password",
            get(password_form).post(change_password),
        )
        .merge(super::admin_reset::routes())
        .merge(super::admin_reauth::routes())
}

struct SessionRow {
    id: String,
    started: String,
    last_seen: String,
    ip: String,
    device: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "admin_account.html")]
struct AccountPage {
    admin: AdminChrome,
    name: String,
    email: String,
    role: String,
    mfa: bool,
    password_changed: String,
    sessions: Vec<SessionRow>,
    others: usize,
    notice: Option<&'static str>,
    /// Your till PIN (set, locked).
    pin: super::admin_staff_pin::PinView,
}

/// `GET /admin/account`.
pub async fn show(
    s: AdminSession,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let u = s.user();
    let sessions: Vec<SessionRow> = state
        .db
        .sessions_of(u.id.as_str())
        .await?
        .into_iter()
        .map(|i| SessionRow {
            current: i.id == s.0.id,
            id: seg(&i.id),
            started: utc(i.created_at),
            last_seen: utc(i.last_seen_at),
            ip: i.ip,
            device: device(&i.user_agent),
        })
        .collect();
    let notice = match q.get("done").map(String::as_str) {
        Some("ended") => Some("That session has ended."),
        Some("ended-others") => Some("All your other sessions have ended."),
        Some("pin") => Some("Your till PIN is saved. It works on every till from now on."),
        _ => None,
    };
    let pin = super::admin_staff_pin::pin_view(&state, u.id.as_str()).await?;
    Ok(page(
        StatusCode::OK,
        &AccountPage {
            admin: AdminChrome::new(&state, &s, "account"),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.clone(),
            mfa: u.mfa_enabled,
            password_changed: utc(u.password_changed_at),
            others: sessions.iter().filter(|r| !r.current).count(),
            sessions,
            notice,
            pin,
        },
    ))
}

/// `POST /admin/account/sessions/{id}/end`: end one of your own sessions (another person's
/// session ID is a 404 and ends nothing).
pub async fn end_session(
    s: AdminSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = s.user();
    state.db.end_session_of(u.id.as_str(), &id).await?;
    audit(
        &state,
        AuditEvent::new("session.ended", &u.email, &client.ip.to_string())
            .by(u.id.as_str())
            .on(&id),
    )
    .await?;
    if id == s.0.id {
        return Ok(signed_out("/admin/login"));
    }
    Ok(see_other("/admin/account?done=ended"))
}

/// `POST /admin/account/sessions/end-others`: sign out everywhere but here.
pub async fn end_others(
    s: AdminSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let u = s.user();
    let n = state
        .db
        .end_sessions_of(u.id.as_str(), Some(&s.0.id))
        .await?;
    audit(
        &state,
        AuditEvent::new("session.ended_others", &u.email, &client.ip.to_string())
            .by(u.id.as_str())
            .on(&u.email)
            .details(format!("{n} other sessions ended")),
    )
    .await?;
    Ok(see_other("/admin/account?done=ended-others"))
}

/// Plain-word problems with a password form, one per field.
#[derive(Debug, Default)]
struct FieldErrors {
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
    form: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_account_password.html")]
struct PasswordPage {
    admin: AdminChrome,
    email: String,
    forced: bool,
    errors: FieldErrors,
}

/// Where a session that may not use the password or re-authentication pages goes instead.
fn detour(s: &Session) -> Option<Response> {
    match owed(s) {
        Some(o @ (Owed::Code | Owed::Enrolment)) => Some(Redirect::to(o.page()).into_response()),
        _ => None,
    }
}

fn password_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    errors: FieldErrors,
) -> Response {
    page(
        status,
        &PasswordPage {
            admin: AdminChrome::new(state, &AdminSession(s.clone()), "account"),
            email: s.user.email.clone(),
            forced: s.user.must_change_password,
            errors,
        },
    )
}

/// `GET /admin/account/password`: for a fully signed-in session, or one that must replace a
/// temporary password.
pub async fn password_form(
    SignInSession(s): SignInSession,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    if let Some(r) = detour(&s) {
        return Ok(r);
    }
    Ok(password_page(
        &state,
        &s,
        StatusCode::OK,
        FieldErrors::default(),
    ))
}

/// `POST /admin/account/password`: check the current password (typed now, so no separate
/// re-authentication is needed), the confirmation and the policy; then set it, which ends
/// every session, and send the person to sign in again.
pub async fn change_password(
    si: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let s = &si.0;
    if let Some(r) = detour(s) {
        return Ok(r);
    }
    let f = FormData::parse(&body);
    si.check_csrf(f.get("csrf"))?;
    let ip = client.ip.to_string();
    if ip_limited(&state, &ip).await? {
        let errors = FieldErrors {
            form: Some(RATE_LIMITED.into()),
            ..Default::default()
        };
        return Ok(password_page(
            &state,
            s,
            StatusCode::TOO_MANY_REQUESTS,
            errors,
        ));
    }
    let u = &s.user;
    let (current, new, confirm) = (
        f.get("current_password"),
        f.get("new_password"),
        f.get("confirm_password"),
    );
    if !password_ok(
        &state,
        u,
        current,
        &ip,
        "wrong current password on the change form",
    )
    .await?
    {
        let errors = FieldErrors {
            current: Some("This is not your current password.".into()),
            ..Default::default()
        };
        return Ok(password_page(
            &state,
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ));
    }
    if new != confirm {
        let errors = FieldErrors {
            confirm: Some("The two new passwords are not the same; type it again.".into()),
            ..Default::default()
        };
        return Ok(password_page(
            &state,
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        ));
    }
    let checked = crate::passwords::check_new_password(
        &state,
        "new_password",
        new,
        &u.email,
        &u.name,
        Some(u),
    )
    .await;
    let fresh = match checked {
        Ok(p) => p,
        Err(e) if e.status.is_client_error() => {
            let errors = FieldErrors {
                new: Some(sentence(&e.message)),
                ..Default::default()
            };
            return Ok(password_page(&state, s, e.status, errors));
        }
        Err(e) => return Err(e.into()),
    };
    state
        .db
        .set_password(u.id.as_str(), &fresh.hash, fresh.score)
        .await?;
    audit(
        &state,
        AuditEvent::new("password.changed", &u.email, &ip)
            .by(u.id.as_str())
            .on(&u.email)
            .details("changed by the user; every session ended"),
    )
    .await?;
    Ok(signed_out("/admin/login?changed=1"))
}

/// `"use at least 12 characters"` -> `"Use at least 12 characters."`
pub(crate) fn sentence(msg: &str) -> String {
    let mut c = msg.chars();
    let mut out: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return String::new(),
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A user agent in plain words: "Firefox on Windows".
fn device(ua: &str) -> String {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") {
        Some("Edge")
    } else if has("OPR/") {
        Some("Opera")
    } else if has("Firefox/") {
        Some("Firefox")
    } else if has("Chrome/") || has("CriOS/") {
        Some("Chrome")
    } else if has("Safari/") {
        Some("Safari")
    } else if has("curl/") {
        Some("curl")
    } else {
        None
    };
    let system = if has("iPhone") {
        Some("an iPhone")
    } else if has("iPad") {
        Some("an iPad")
    } else if has("Android") {
        Some("Android")
    } else if has("Windows") {
        Some("Windows")
    } else if has("Mac OS X") || has("Macintosh") {
        Some("a Mac")
    } else if has("CrOS") {
        Some("a Chromebook")
    } else if has("Linux") {
        Some("Linux")
    } else {
        None
    };
    match (browser, system) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => format!("A browser on {o}"),
        (None, None) => "Unknown device".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{device, sentence};

    #[test]
    fn user_agents_in_plain_words() {
        let ff = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0";
        assert_eq!(device(ff), "Firefox on Windows");
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
        assert_eq!(device(safari), "Safari on an iPhone");
        let chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
                      (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
        assert_eq!(device(chrome), "Chrome on a Mac");
        assert_eq!(device(""), "Unknown device");
        assert_eq!(device("curl/8.5.0"), "curl");
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(
            sentence("use at least 12 characters"),
            "Use at least 12 characters."
        );
        assert_eq!(sentence(""), "");
    }
}
