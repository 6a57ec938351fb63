//! Two-factor sign-in, the code step of signing in (`/admin/mfa`): a 6-digit code from the
//! authenticator app, or a recovery code. Each TOTP code works once; so does each recovery code
//! (stored hashed). Setting up an app, new recovery codes and turning MFA off are in
//! [`super::admin_mfa_setup`].

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use storefort_crypto::totp;
use storefort_store::audit::AuditEvent;
use storefort_store::auth::{Session, Stage};

use super::admin::{safe_next, see_other, signed_out};
use super::admin_mfa_setup::SETUP;
use super::admin_reauth::{ip_limited, RATE_LIMITED};
use super::render::{page, FormData, PageError};
use crate::auth::{owed, SignInSession};
use crate::login::{attempt, audit};
use crate::middleware::ClientInfo;
use crate::AppState;

const WRONG: &str = "That code is not right, or was already used.";

/// This module's routes (and those of [`super::admin_mfa_setup`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/mfa", get(code_form).post(check_code))
        .merge(super::admin_mfa_setup::routes())
}

#[derive(Template)]
#[template(path = "admin_mfa.html")]
struct CodePage {
    shop_name: String,
    csrf: String,
    next: String,
    error: Option<String>,
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
    if ip_limited(&state, &ip).await? {
        return Ok(code_page(
            &state,
            &s,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            Some(RATE_LIMITED),
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
    let mut res = match owed(&done) {
        // A recovery code usually means a lost phone: show how to set up the new one.
        None if !is_totp => see_other(&format!("{SETUP}?used=recovery")),
        _ => onward(&done, &next),
    };
    res.headers_mut().insert(
        axum::http::header::SET_COOKIE,
        crate::login::session_cookie(&fresh)?,
    );
    Ok(res)
}
