//! Two-factor sign-in pages: the code step of signing in (`/admin/mfa`), setting up an
//! authenticator app from a QR code rendered here (`/admin/mfa/setup`), new recovery codes and
//! turning MFA off. Each TOTP code works once; so does each recovery code (stored hashed).

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
use storefort_store::auth::{Session, Stage};

use super::admin::{safe_next, see_other, signed_out, AdminChrome};
use super::render::{page, FormData, PageError};
use crate::auth::{owed, AdminSession, Owed, SignInSession};
use crate::login::{attempt, audit};
use crate::middleware::ClientInfo;
use crate::AppState;

const SETUP: &str = "/admin/mfa/setup";
const WRONG: &str = "That code is not right, or was already used.";

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/mfa", get(code_form).post(check_code))
        .route(SETUP, get(setup).post(confirm))
        .route("/admin/mfa/recovery-codes", post(regenerate))
        .route("/admin/mfa/reset", post(reset))
}

#[derive(Template)]
#[template(path = "admin_mfa.html")]
struct CodePage {
    shop_name: String,
    csrf: String,
    next: String,
    error: Option<String>,
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

fn code_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    next: String,
    error: Option<&str>,
) -> Response {
    page(
        status,
        &CodePage {
            shop_name: state.cfg.shop_name.clone(),
            csrf: s.csrf_token.clone(),
            next,
            error: error.map(str::to_string),
        },
    )
}

/// Where a session with no code left to give goes: the page for what it still owes, or `next`.
fn onward(s: &Session, next: &str) -> Response {
    match owed(s) {
        Some(o) => see_other(o.page()),
        None => see_other(safe_next(next)),
    }
}

/// A session at the code stage whose account is locked, disabled or no longer has MFA ends
/// here: the person signs in again from the start.
async fn shut_out(state: &AppState, s: &Session) -> Result<Option<Response>, PageError> {
    let u = &s.user;
    if u.disabled || u.is_locked(state.db.now()) || !u.mfa_enabled {
        state.db.delete_session(&s.id).await?;
        return Ok(Some(signed_out("/admin/login")));
    }
    Ok(None)
}

/// `GET /admin/mfa`: ask for the second factor.
async fn code_form(
    SignInSession(s): SignInSession,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let next = safe_next(q.get("next").map(String::as_str).unwrap_or("")).to_string();
    if s.stage == Stage::Full {
        return Ok(onward(&s, &next));
    }
    if let Some(r) = shut_out(&state, &s).await? {
        return Ok(r);
    }
    Ok(code_page(&state, &s, StatusCode::OK, next, None))
}

/// A 6-digit code from the app: right now (one step of drift either way) and newer than every
/// code used before.
async fn totp_ok(state: &AppState, user_id: &str, code: &str) -> Result<bool, PageError> {
    let Some(secret) = state.db.mfa_secret(user_id).await? else {
        return Ok(false);
    };
    match totp::verify(&secret, code, state.db.now()).map_err(internal)? {
        Some(step) => Ok(state.db.spend_totp_step(user_id, step).await?),
        None => Ok(false),
    }
}

/// `POST /admin/mfa`: check a TOTP code (6 digits) or a recovery code (anything else).
async fn check_code(
    ss: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = FormData::parse(&body);
    ss.check_csrf(f.get("csrf"))?;
    let s = ss.0;
    let next = safe_next(f.get("next")).to_string();
    if s.stage == Stage::Full {
        return Ok(onward(&s, &next));
    }
    if let Some(r) = shut_out(&state, &s).await? {
        return Ok(r);
    }
    let typed: String = f
        .get("code")
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(64)
        .collect();
    if typed.is_empty() {
        let msg = "Code: enter the 6-digit code from your authenticator app, or one of your recovery codes.";
        return Ok(code_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            next,
            Some(msg),
        ));
    }
    let (uid, ip) = (s.user.id.as_str(), client.ip.to_string());
    let is_totp = typed.len() == 6 && typed.bytes().all(|b| b.is_ascii_digit());
    if super::admin_reset::ip_limited(&state, &ip).await? {
        return Ok(code_page(
            &state,
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            Some(super::admin_reset::RATE_LIMITED),
        ));
    }
    let Some(attempt) = attempt(&state, &s.user, &ip).await? else {
        state.db.delete_session(&s.id).await?;
        return Ok(signed_out("/admin/login"));
    };
    let right = if is_totp {
        totp_ok(&state, uid, &typed).await?
    } else {
        state.db.spend_recovery_code(uid, &typed).await?
    };
    if !right {
        let why = if is_totp {
            "wrong code"
        } else {
            "wrong recovery code"
        };
        if attempt.wrong(&state, why).await? {
            state.db.delete_session(&s.id).await?;
            return Ok(signed_out("/admin/login"));
        }
        return Ok(code_page(
            &state,
            &s,
            StatusCode::UNAUTHORIZED,
            next,
            Some(WRONG),
        ));
    }
    let how = if is_totp {
        "password+totp"
    } else {
        let left = state.db.recovery_codes_left(uid).await?;
        audit(
            &state,
            AuditEvent::new("mfa.recovery_code_used", &s.user.email, &ip)
                .by(uid)
                .on(&s.user.email)
                .details(format!("{left} recovery codes left")),
        )
        .await?;
        "password+recovery code"
    };
    attempt.right(&state).await?;
    state.db.complete_session(&s.id).await?;
    audit(
        &state,
        AuditEvent::new("login.success", &s.user.email, &ip)
            .by(uid)
            .on(&s.user.email)
            .details(how),
    )
    .await?;
    // A new token now that sign-in is complete: one seen before the code is worthless.
    let fresh = storefort_crypto::token::random_token();
    state
        .db
        .rotate_session_token(&s.id, &storefort_crypto::token::hash_token(&fresh))
        .await?;
    let mut done = s.clone();
    done.stage = Stage::Full;
    let mut res = onward(&done, &next);
    res.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        crate::login::session_cookie(&fresh)?,
    );
    Ok(res)
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
async fn setup(ss: SignInSession, State(state): State<AppState>) -> Result<Response, PageError> {
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
        },
    ))
}

/// Check the form's CSRF field.
fn checked(ss: SignInSession, body: &[u8]) -> Result<(Session, FormData), PageError> {
    let f = FormData::parse(body);
    ss.check_csrf(f.get("csrf"))?;
    Ok((ss.0, f))
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
    let (s, _) = checked(ss, &body)?;
    if let Some(r) = not_yet(&s) {
        return Ok(r);
    }
    let s = AdminSession(s);
    if !s.0.user.mfa_enabled {
        return Ok(see_other(SETUP));
    }
    if let Err(r) = s.require_recent_password(&state, SETUP) {
        return Ok(r.into_response());
    }
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
    let (s, _) = checked(ss, &body)?;
    if let Some(r) = not_yet(&s) {
        return Ok(r);
    }
    let s = AdminSession(s);
    if !s.0.user.mfa_enabled {
        return Ok(see_other(SETUP));
    }
    if let Err(r) = s.require_recent_password(&state, SETUP) {
        return Ok(r.into_response());
    }
    state.db.reset_mfa(s.0.user.id.as_str()).await?;
    audit(&state, mfa_event("mfa.reset", &s, &client)).await?;
    Ok(see_other("/admin"))
}
