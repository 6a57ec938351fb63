//! Proving who you are with the password again: `/admin/reauth` before sensitive actions, and
//! the helpers every password check shares (the per-address limit on failed sign-ins, and a
//! password check that counts toward the account's lockout).

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use storefort_store::audit::AuditEvent;
use storefort_store::auth::{Session, User};

use super::admin::{safe_next, see_other, AdminChrome};
use super::render::{page, FormData, PageError};
use crate::auth::{owed, AdminSession, Owed, SignInSession};
use crate::error::ApiError;
use crate::login::{audit, verify_password};
use crate::middleware::ClientInfo;
use crate::AppState;

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/reauth", get(reauth_form).post(reauth))
}

#[derive(Template)]
#[template(path = "admin_reauth.html")]
struct ReauthPage {
    admin: AdminChrome,
    next: String,
    error: Option<String>,
}

fn reauth_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    next: &str,
    error: Option<String>,
) -> Response {
    page(
        status,
        &ReauthPage {
            admin: AdminChrome::new(state, &AdminSession(s.clone()), "account"),
            next: next.to_string(),
            error,
        },
    )
}

/// `GET /admin/reauth?next=`: type the password again before a sensitive action.
pub async fn reauth_form(
    SignInSession(s): SignInSession,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if owed(&s) == Some(Owed::Code) {
        return Ok(Redirect::to(Owed::Code.page()).into_response());
    }
    let next = safe_next(q.get("next").map(String::as_str).unwrap_or(""));
    Ok(reauth_page(&state, &s, StatusCode::OK, next, None))
}

/// `POST /admin/reauth`: right password -> back to `next`; wrong -> 401 (counted toward the
/// lockout like a failed sign-in).
pub async fn reauth(
    si: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let s = &si.0;
    if owed(s) == Some(Owed::Code) {
        return Ok(Redirect::to(Owed::Code.page()).into_response());
    }
    let f = FormData::parse(&body);
    si.check_csrf(f.get("csrf"))?;
    let next = safe_next(f.get("next")).to_string();
    let ip = client.ip.to_string();
    if ip_limited(&state, &ip).await? {
        let msg = Some(RATE_LIMITED.to_string());
        return Ok(reauth_page(
            &state,
            s,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            msg,
        ));
    }
    let u = &s.user;
    if !password_ok(
        &state,
        u,
        f.get("password"),
        &ip,
        "wrong password on re-authentication",
    )
    .await?
    {
        let msg = Some(
            "That is not your password (or the account is locked for a while after too many attempts)."
                .to_string(),
        );
        return Ok(reauth_page(&state, s, StatusCode::UNAUTHORIZED, &next, msg));
    }
    state.db.mark_reauthenticated(&s.id).await?;
    audit(
        &state,
        AuditEvent::new("reauth.success", &u.email, &ip)
            .by(u.id.as_str())
            .on(&u.email),
    )
    .await?;
    Ok(see_other(&next))
}

/// Shown when an address has failed too many sign-ins recently.
pub(crate) const RATE_LIMITED: &str =
    "Too many failed sign-ins from your network. Wait 15 minutes and try again.";

/// Whether `ip` has failed as many sign-ins as the policy allows within its window (the same
/// limit the login form uses).
pub(crate) async fn ip_limited(state: &AppState, ip: &str) -> Result<bool, ApiError> {
    let db = &state.db;
    let since = db.now() - db.policy.ip_window_ms;
    Ok(db.login_failures_from(ip, since).await? >= db.policy.ip_failure_limit)
}

/// Check `pw` against the user's password. The try is counted toward the lockout before the
/// check (a locked account is refused unchecked); a wrong one is audited with `why`, a right
/// one clears the count.
pub(crate) async fn password_ok(
    state: &AppState,
    u: &User,
    pw: &str,
    ip: &str,
    why: &str,
) -> Result<bool, ApiError> {
    let Some(attempt) = crate::login::attempt(state, u, ip).await? else {
        return Ok(false);
    };
    if verify_password(pw, &u.password_hash).await? {
        attempt.right(state).await?;
        Ok(true)
    } else {
        attempt.wrong(state, why).await?;
        Ok(false)
    }
}
