//! Shopper accounts on the storefront: the `__Host-shopper` session cookie, the [`Shopper`]
//! extractor for account pages, signing in and out. Registration is in
//! [`super::shopper_register`], the account page in [`super::shopper_account`].
//!
//! Shopper sessions are separate from staff sessions (own cookie, own table): a shopper cookie
//! never opens `/admin`. Forms carry the session's CSRF token; the sign-in and registration
//! forms, which come before any session, refuse cross-site posts instead (as the staff login
//! does), and the cookie is `SameSite=Strict`.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::customer::Customer;
use storefort_core::ids::CustomerId;
use storefort_crypto::{password, token};
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::shopper_sessions::{ShopperAttempt, ShopperSession};
use tower_http::set_header::SetResponseHeaderLayer;

use super::render::{page, FormData, PageError};
use super::storefront::{shop, Shop};
use crate::error::ApiError;
use storefort_store::StoreError;

use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The shopper session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SHOPPER_COOKIE: &str = "__Host-shopper";
/// The one answer for an unknown email, a wrong password and a locked account.
pub const BAD_CREDENTIALS: &str = "Email or password is wrong.";
/// The answer when one network has failed to sign in too often.
pub const RATE_LIMITED: &str =
    "Too many failed sign-ins from your network. Wait 15 minutes and try again.";
/// Audit action of a failed shopper sign-in (also what the per-IP limit counts).
const FAILURE: &str = "shopper.login_failure";
/// Actor recorded in the audit log for shoppers (no email: personal data stays in the vault).
const ACTOR: &str = "shopper";

/// The shopper pages' routes. Every response is `Cache-Control: no-store`: they are personal.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account/sign-in", get(sign_in_form).post(sign_in))
        .route("/account/sign-out", post(sign_out))
        .merge(super::shopper_register::routes())
        .merge(super::shopper_account::routes())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// The shopper session token from the Cookie header.
pub fn shopper_token(headers: &HeaderMap) -> Option<String> {
    crate::auth::cookie(headers, SHOPPER_COOKIE)
}

/// The `Set-Cookie` value for a new shopper session (kept for the session's whole lifetime).
pub fn shopper_cookie(token: &str) -> Result<HeaderValue, ApiError> {
    let max_age = storefort_store::shopper_sessions::SHOPPER_SESSION_ABSOLUTE_MS / 1000;
    HeaderValue::from_str(&format!(
        "{SHOPPER_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// The `Set-Cookie` value that removes the shopper cookie.
pub const CLEAR_SHOPPER_COOKIE: &str =
    "__Host-shopper=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";

/// A signed-in shopper whose account is live (not erased, still has a password). Anyone else
/// is sent to the sign-in page.
#[derive(Debug, Clone)]
pub struct Shopper {
    /// The session.
    pub session: ShopperSession,
    /// The shopper's own customer record, addresses included.
    pub customer: Customer,
}

impl FromRequestParts<AppState> for Shopper {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_sign_in = || Redirect::to("/account/sign-in").into_response();
        match current_shopper(state, &parts.headers).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(to_sign_in()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The live shopper behind the request's cookie, if any. A session whose customer was erased
/// or lost the account is ended (all of that customer's sessions).
pub async fn current_shopper(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Shopper>, PageError> {
    let Some(t) = shopper_token(headers) else {
        return Ok(None);
    };
    let Some(session) = state.db.shopper_session(&t).await? else {
        return Ok(None);
    };
    let customer = match state.db.customer(&session.customer_id).await {
        Ok(c) => c,
        Err(storefort_store::StoreError::NotFound { .. }) => {
            state.db.end_shopper_session(&t).await?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if customer.erased_at.is_some() || !customer.has_account {
        state.db.end_shopper_sessions_of(&customer.id).await?;
        return Ok(None);
    }
    Ok(Some(Shopper { session, customer }))
}

impl Shopper {
    /// Parse a posted form and check its CSRF field against this session.
    pub fn checked_form(&self, body: &[u8]) -> Result<FormData, PageError> {
        let f = FormData::parse(body);
        if token::constant_time_eq(f.get("csrf"), &self.session.csrf_token) {
            Ok(f)
        } else {
            Err(PageError::forbidden(
                "This form has expired. Reload the page and try again.",
            ))
        }
    }
}

/// Refuse a form posted from another site, sibling subdomains included (for the forms that come
/// before a session exists: sign-in, register, cart, checkout). Browsers send
/// `Sec-Fetch-Site`; only `same-origin` and `none` (typed or bookmarked) are this shop's own.
/// Older browsers without it are judged by `Origin`, which must name this host.
pub fn refuse_cross_site(headers: &HeaderMap) -> Result<(), PageError> {
    let refuse = || {
        PageError::forbidden(
            "This form was sent from another site. Please use this shop's own pages.",
        )
    };
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site") | Some("same-site") => return Err(refuse()),
        Some(_) => return Ok(()),
        None => {}
    }
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let from = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if !from.eq_ignore_ascii_case(host) {
            return Err(refuse());
        }
    }
    Ok(())
}

/// Start a session for `customer`: ends the session the request came with (if any), and
/// returns a 303 to `to` that sets the new cookie. A fresh token on every sign-in.
pub async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    customer: &CustomerId,
    to: &str,
) -> Result<Response, PageError> {
    if let Some(old) = shopper_token(headers) {
        state.db.end_shopper_session(&old).await?;
    }
    let t = state.db.create_shopper_session(customer).await?;
    // The cart filled before signing in becomes the shopper's (joined with any cart they left
    // on another device), so it follows them from now on.
    if let Some(cart) = crate::auth::cookie(headers, super::cart::CART_COOKIE) {
        match state.db.cart_by_token(&cart).await {
            Ok(c) if c.order_id.is_none() && c.customer_id.is_none() => {
                state.db.attach_cart(&c.id, customer).await?;
            }
            Ok(_) | Err(StoreError::NotFound { .. }) | Err(StoreError::Gone(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut res = Redirect::to(to).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, shopper_cookie(&t)?);
    Ok(res)
}

/// A hash to check when the email is unknown, so both paths do the same argon2 work. Made on
/// the hashing pool the first time it is needed.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Check `pw` against `hash` (or against a dummy hash when there is none) on the hashing pool.
pub async fn verify_or_dummy(pw: &str, hash: Option<String>) -> Result<bool, ApiError> {
    let pw = pw.to_string();
    let known = hash.is_some();
    let right = crate::hasher::run(move || {
        let h = hash.unwrap_or_else(|| {
            DUMMY_HASH
                .get_or_init(|| password::hash(&token::random_token()).unwrap_or_default())
                .clone()
        });
        password::verify(&pw, &h).unwrap_or(false)
    })
    .await?;
    Ok(right && known)
}

#[derive(Template)]
#[template(path = "account_sign_in.html")]
struct SignInPage {
    shop: Shop,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    Ok(page(
        status,
        &SignInPage {
            shop: shop(state, "", "").await?,
            email,
            error,
            notice,
        },
    ))
}

/// `GET /account/sign-in` (`?done=signed-out` after signing out).
pub async fn sign_in_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, PageError> {
    if current_shopper(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    let notice = (uri.query() == Some("done=signed-out")).then_some("You are signed out.");
    sign_in_page(&state, StatusCode::OK, String::new(), None, notice).await
}

/// `POST /account/sign-in`: the same answer and the same argon2 work for an unknown email, a
/// wrong password and a locked account. Failures are counted per network address (the staff
/// limit's numbers, counted separately) and per account (locks after the policy's threshold).
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    refuse_cross_site(&headers)?;
    let f = FormData::parse(&body);
    let email: String = f.text("email").chars().take(254).collect();
    let pw = f.get("password");
    if email.is_empty() || pw.is_empty() {
        let which = if email.is_empty() {
            "Email"
        } else {
            "Password"
        };
        let msg = format!("{which}: enter it to sign in.");
        return sign_in_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            Some(msg),
            None,
        )
        .await;
    }
    let db = &state.db;
    let ip = client.ip.to_string();
    let since = db.now() - db.policy.ip_window_ms;
    if db.actions_from(&ip, FAILURE, since).await? >= db.policy.ip_failure_limit {
        let msg = Some(RATE_LIMITED.to_string());
        return sign_in_page(&state, StatusCode::TOO_MANY_REQUESTS, email, msg, None).await;
    }
    let login = db.customer_login(&email).await?;
    // Always run argon2, even for unknown emails, so timing tells nothing.
    let right = verify_or_dummy(pw, login.as_ref().map(|(_, h)| h.clone())).await?;
    let refused = |why: &'static str, target: String| {
        AuditEvent::new(FAILURE, ACTOR, &ip)
            .on(&target)
            .outcome(Outcome::Failure)
            .details(why)
    };
    let Some((id, hash)) = login else {
        audit(&state, refused("unknown account", String::new())).await?;
        return bad_credentials(&state, email).await;
    };
    if db.claim_shopper_login_attempt(&id).await? == ShopperAttempt::Locked {
        audit(&state, refused("account locked", id.0.clone())).await?;
        return bad_credentials(&state, email).await;
    }
    if !right {
        audit(&state, refused("wrong password", id.0.clone())).await?;
        return bad_credentials(&state, email).await;
    }
    db.shopper_login_succeeded(&id).await?;
    if password::needs_rehash(&hash) {
        let fresh = crate::login::hash_password(pw).await?;
        db.set_customer_password(&id, &fresh).await?;
    }
    audit(
        &state,
        AuditEvent::new("shopper.login", ACTOR, &ip).on(id.as_str()),
    )
    .await?;
    start_session(&state, &headers, &id, "/account").await
}

async fn bad_credentials(state: &AppState, email: String) -> Result<Response, PageError> {
    let msg = Some(BAD_CREDENTIALS.to_string());
    sign_in_page(state, StatusCode::UNAUTHORIZED, email, msg, None).await
}

/// `POST /account/sign-out`: ends this session on the server and clears the cookie (only the
/// shopper cookie: a staff session in the same browser is left alone).
pub async fn sign_out(
    s: Shopper,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    s.checked_form(&body)?;
    if let Some(t) = shopper_token(&headers) {
        state.db.end_shopper_session(&t).await?;
    }
    let mut res = Redirect::to("/account/sign-in?done=signed-out").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(CLEAR_SHOPPER_COOKIE),
    );
    Ok(res)
}
