//! Setting up two-factor sign-in: an authenticator app from a QR code rendered here
//! (`/admin/mfa/setup`), its status once it is on, new recovery codes and turning it off. The
//! code step of signing in is in [`super::admin_mfa`].

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_crypto::totp;
use storefort_store::audit::AuditEvent;
use storefort_store::auth::Session;

use super::admin::{see_other, AdminChrome};
use super::render::{page, FormData, PageError};
use crate::auth::{owed, AdminSession, Owed, SignInSession};
use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The set-up page.
pub const SETUP: &str = "/admin/mfa/setup";

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(SETUP, get(setup).post(confirm))
        .route("/admin/mfa/recovery-codes", post(regenerate))
        .route("/admin/mfa/reset", post(reset))
}

#[derive(Template)]
#[template(path = "admin_mfa_setup.html")]
struct SetupPage {
    admin: AdminChrome,
    /// The QR code, an SVG we generated (shown unescaped).
    qr: String,
    /// The seed in groups of four, for typing in by hand.
    secret: String,
    required: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_mfa_status.html")]
struct StatusPage {
    admin: AdminChrome,
    codes_left: i64,
    required: bool,
    recent_password: bool,
    /// Came here straight after signing in with a recovery code.
    used_recovery: bool,
}

#[derive(Template)]
#[template(path = "admin_mfa_codes.html")]
struct CodesPage {
    admin: AdminChrome,
    codes: Vec<String>,
    enrolled: bool,
}

fn internal(e: impl std::fmt::Display) -> PageError {
    PageError::internal(&e)
}

/// The set-up pages are for fully signed-in sessions that owe nothing before enrolment.
fn not_yet(s: &Session) -> Option<Response> {
    match owed(s) {
        Some(o @ (Owed::Code | Owed::NewPassword)) => Some(see_other(o.page())),
        _ => None,
    }
}

/// The QR code as inline SVG: without the XML declaration, labelled for screen readers.
fn inline_svg(svg: &str) -> String {
    let body = svg.find("<svg").map(|i| &svg[i..]).unwrap_or("");
    body.replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code to scan with your authenticator app\"",
        1,
    )
}

async fn enrol_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let u = &s.0.user;
    let secret = match state.db.pending_mfa_secret(u.id.as_str()).await? {
        Some(secret) => secret,
        None => state.db.begin_mfa_enrolment(u.id.as_str()).await?,
    };
    let svg = totp::qr_svg(&secret, &state.cfg.shop_name, &u.email).map_err(internal)?;
    let groups: Vec<&str> = secret
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    Ok(page(
        status,
        &SetupPage {
            admin: AdminChrome::new(state, s, "account"),
            qr: inline_svg(&svg),
            secret: groups.join(" "),
            required: u.role().requires_mfa(),
            error: error.map(str::to_string),
        },
    ))
}

/// `GET /admin/mfa/setup`: set up an authenticator app, or (when it is on) its status.
/// `?used=recovery` (after signing in with a recovery code) adds a notice on how to reset.
async fn setup(
    ss: SignInSession,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if let Some(r) = not_yet(&ss.0) {
        return Ok(r);
    }
    let s = AdminSession(ss.0);
    if !s.0.user.mfa_enabled {
        return enrol_page(&state, &s, StatusCode::OK, None).await;
    }
    let codes_left = state.db.recovery_codes_left(s.0.user.id.as_str()).await?;
    Ok(page(
        StatusCode::OK,
        &StatusPage {
            admin: AdminChrome::new(&state, &s, "account"),
            codes_left,
            required: s.0.user.role().requires_mfa(),
            recent_password: s.require_recent_password(&state, SETUP).is_ok(),
            used_recovery: q.get("used").is_some_and(|v| v == "recovery"),
        },
    ))
}

/// Check the form's CSRF field.
fn checked(ss: SignInSession, body: &[u8]) -> Result<(Session, FormData), PageError> {
    let f = FormData::parse(body);
    ss.check_csrf(f.get("csrf"))?;
    Ok((ss.0, f))
}

/// The start of every change to an enrolled second factor: CSRF checked, a fully signed-in
/// session with MFA on, and the password typed recently; otherwise where to send the person.
fn changing(
    ss: SignInSession,
    state: &AppState,
    body: &[u8],
) -> Result<Result<AdminSession, Response>, PageError> {
    let (s, _) = checked(ss, body)?;
    if let Some(r) = not_yet(&s) {
        return Ok(Err(r));
    }
    let s = AdminSession(s);
    if !s.0.user.mfa_enabled {
        return Ok(Err(see_other(SETUP)));
    }
    if let Err(r) = s.require_recent_password(state, SETUP) {
        return Ok(Err(r.into_response()));
    }
    Ok(Ok(s))
}

fn mfa_event(action: &str, s: &AdminSession, client: &ClientInfo) -> AuditEvent {
    let u = &s.0.user;
    AuditEvent::new(action, &u.email, &client.ip.to_string())
        .by(u.id.as_str())
        .on(&u.email)
}

/// `POST /admin/mfa/setup`: confirm enrolment with a code from the app; show the recovery
/// codes once.
async fn confirm(
    ss: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let (s, f) = checked(ss, &body)?;
    if let Some(r) = not_yet(&s) {
        return Ok(r);
    }
    let s = AdminSession(s);
    let uid = s.0.user.id.as_str();
    if s.0.user.mfa_enabled {
        return Ok(see_other(SETUP));
    }
    let Some(secret) = state.db.pending_mfa_secret(uid).await? else {
        return Ok(see_other(SETUP));
    };
    let Some(step) = totp::verify(&secret, f.get("code"), state.db.now()).map_err(internal)? else {
        let msg = "Code: that is not the code your app shows for this shop. Check that you added the QR code (or key) on this page and that your phone's clock is right, then type the newest code.";
        return enrol_page(&state, &s, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await;
    };
    let codes = totp::recovery_codes();
    state.db.confirm_mfa(uid, step, &codes).await?;
    audit(&state, mfa_event("mfa.enrolled", &s, &client)).await?;
    Ok(page(
        StatusCode::OK,
        &CodesPage {
            admin: AdminChrome::new(&state, &s, "account"),
            codes,
            enrolled: true,
        },
    ))
}

/// `POST /admin/mfa/recovery-codes`: ten new recovery codes (password confirmed recently); the
/// old ones stop working.
async fn regenerate(
    ss: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let s = match changing(ss, &state, &body)? {
        Ok(s) => s,
        Err(to) => return Ok(to),
    };
    let codes = totp::recovery_codes();
    state
        .db
        .replace_recovery_codes(s.0.user.id.as_str(), &codes)
        .await?;
    audit(
        &state,
        mfa_event("mfa.recovery_codes_regenerated", &s, &client),
    )
    .await?;
    Ok(page(
        StatusCode::OK,
        &CodesPage {
            admin: AdminChrome::new(&state, &s, "account"),
            codes,
            enrolled: false,
        },
    ))
}

/// `POST /admin/mfa/reset`: turn MFA off (password confirmed recently). Owners and managers
/// are then sent to set it up again.
async fn reset(
    ss: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let s = match changing(ss, &state, &body)? {
        Ok(s) => s,
        Err(to) => return Ok(to),
    };
    state.db.reset_mfa(s.0.user.id.as_str()).await?;
    audit(&state, mfa_event("mfa.reset", &s, &client)).await?;
    Ok(see_other("/admin"))
}
