//! Who is calling: staff sessions (cookie + CSRF) and integration API keys (bearer, scoped).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use storefort_crypto::{password, token};
use storefort_store::auth::{ApiKey, Session, User};
use storefort_store::Db;

use crate::error::ApiError;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-sf_session";
/// Header carrying the CSRF token on API calls made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of every API key, so leaked keys are easy to recognise and scan for.
pub const API_KEY_PREFIX: &str = "sf_";

/// An authenticated caller of the API.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in staff member (browser).
    Staff(Session),
    /// An integration.
    Key(ApiKey),
}

impl Principal {
    /// Name recorded in the stock ledger.
    pub fn actor(&self) -> String {
        match self {
            Principal::Staff(s) => s.user.email.clone(),
            Principal::Key(k) => format!("api-key:{}", k.name),
        }
    }

    /// Only a signed-in owner may do this (e.g. manage API keys).
    pub fn require_owner(&self) -> Result<&User, ApiError> {
        match self {
            Principal::Staff(s) if s.user.role == "owner" => Ok(&s.user),
            _ => Err(ApiError::forbidden(
                "only the shop owner, signed in, may do this",
            )),
        }
    }
}

/// Read the session token from the Cookie header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|pair| {
                let (k, val) = pair.trim().split_once('=')?;
                (k == SESSION_COOKIE && !val.is_empty()).then(|| val.to_string())
            })
        })
}

/// The live session behind the request's cookie, if any.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    let Some(t) = session_token(headers) else {
        return Ok(None);
    };
    Ok(state.db.touch_session(&token::hash_token(&t)).await?)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(key) = bearer(&parts.headers) {
            if !key.starts_with(API_KEY_PREFIX) {
                return Err(ApiError::unauthorized());
            }
            let k = state
                .db
                .api_key_by_hash(&token::hash_token(key))
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            if !is_safe(&parts.method) && k.scope != "write" {
                return Err(ApiError::forbidden("this API key is read-only"));
            }
            return Ok(Principal::Key(k));
        }
        let s = current_session(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if !is_safe(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !token::constant_time_eq(sent, &s.csrf_token) {
                return Err(ApiError::forbidden("missing or wrong X-CSRF-Token header"));
            }
        }
        Ok(Principal::Staff(s))
    }
}

/// A signed-in staff member on an admin page; anyone else is sent to the login page.
#[derive(Debug, Clone)]
pub struct AdminSession(pub Session);

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match current_session(state, &parts.headers).await {
            Ok(Some(s)) => Ok(AdminSession(s)),
            Ok(None) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/admin");
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Err(Redirect::to(&format!("/admin/login?next={next}")).into_response())
            }
            Err(e) => Err(e.into_response()),
        }
    }
}

impl AdminSession {
    /// Check a form's CSRF field against the session.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        if token::constant_time_eq(sent, &self.0.csrf_token) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this form has expired; reload the page and try again",
            ))
        }
    }
}

/// Why a login failed (deliberately vague to the user).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or disabled account: one message for all.
    #[error("email or password is wrong")]
    BadCredentials,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] ApiError),
}

/// A stand-in hash checked when the email is unknown, so both paths take the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> String {
    DUMMY_HASH
        .get_or_init(|| password::hash(&token::random_token()).unwrap_or_default())
        .clone()
}

/// Check credentials and open a session. Returns the `Set-Cookie` value.
pub async fn login(
    state: &AppState,
    email: &str,
    pw: &str,
    client: &ClientInfo,
    user_agent: &str,
) -> Result<HeaderValue, LoginError> {
    let user = state
        .db
        .user_by_email(email)
        .await
        .map_err(ApiError::from)?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let pw = pw.to_string();
    let ok = tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let checked = password::verify(&pw, &hash.unwrap_or_else(dummy_hash)).unwrap_or(false);
        real && checked
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            tracing::info!(ip = %client.ip, "failed staff login");
            return Err(LoginError::BadCredentials);
        }
    };
    let t = token::random_token();
    state
        .db
        .create_session(
            user.id.as_str(),
            &token::hash_token(&t),
            &token::random_token(),
            &client.ip.to_string(),
            user_agent,
        )
        .await
        .map_err(ApiError::from)?;
    tracing::info!(user = %user.id, ip = %client.ip, "staff login");
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={t}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .map_err(|e| LoginError::Internal(ApiError::internal(&e)))
}

/// End the request's session (if any) and return a `Set-Cookie` that clears the cookie.
pub async fn logout(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, ApiError> {
    if let Some(s) = current_session(state, headers).await? {
        state.db.delete_session(&s.id).await?;
    }
    Ok(HeaderValue::from_static(
        "__Host-sf_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    ))
}

/// Make a new API key for `owner`: returns the key (show it once) and its record.
pub async fn create_api_key(
    db: &Db,
    name: &str,
    scope: &str,
    owner: &User,
) -> Result<(String, ApiKey), ApiError> {
    let key = format!("{API_KEY_PREFIX}{}", token::random_token());
    let prefix: String = key.chars().take(10).collect();
    let rec = db
        .create_api_key(
            name,
            &prefix,
            &token::hash_token(&key),
            scope,
            owner.id.as_str(),
        )
        .await?;
    Ok((key, rec))
}
