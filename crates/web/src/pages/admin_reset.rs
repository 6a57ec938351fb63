//! "Forgot your password?": a reset link by email (256-bit token stored hashed, 30 minutes,
//! single use). The request page answers the same whether or not the account exists, and the
//! email is sent in the background so the timing tells nothing either. Completing a reset ends
//! every session of the account.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use storefort_crypto::token;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::auth::User;

use super::admin::see_other;
use super::admin_account::sentence;
use super::admin_reauth::{ip_limited, RATE_LIMITED};
use super::render::{page, FormData, PageError};
use crate::login::audit;
use crate::middleware::ClientInfo;
use crate::AppState;

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/forgot", get(forgot_form).post(forgot))
        .route("/admin/reset", get(reset_form).post(reset))
}

/// The answer to every reset request when no SMTP server is configured.
const NO_EMAIL: &str = "Email is not set up for this shop, so we cannot send you a reset link. \
     Ask the shop owner: on the Staff page, \"Device lost or account compromised\" gives them a \
     one-time link to hand you. The person who runs the server can also give you a temporary \
     password with the command: storefort user reset-password YOUR-EMAIL";

#[derive(Template)]
#[template(path = "admin_forgot.html")]
struct ForgotPage {
    shop_name: String,
    /// SMTP is configured; otherwise the page explains the other ways at once.
    email_ready: bool,
    no_email: &'static str,
    email: String,
    notice: Option<String>,
    error: Option<&'static str>,
}

fn forgot_page(
    state: &AppState,
    status: StatusCode,
    email: String,
    notice: Option<String>,
    error: Option<&'static str>,
) -> Response {
    page(
        status,
        &ForgotPage {
            shop_name: state.cfg.shop_name.clone(),
            email_ready: state.cfg.smtp.is_some(),
            no_email: NO_EMAIL,
            email,
            notice,
            error,
        },
    )
}

/// Refuse forms posted from other sites (these pages have no session, so no CSRF token).
fn same_site(headers: &HeaderMap) -> Result<(), PageError> {
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(PageError::forbidden("Use this site's own page for this."));
    }
    Ok(())
}

/// `GET /admin/forgot`.
pub async fn forgot_form(State(state): State<AppState>) -> Response {
    forgot_page(&state, StatusCode::OK, String::new(), None, None)
}

/// `POST /admin/forgot`: email a reset link if the account exists and may sign in; answer the
/// same either way.
pub async fn forgot(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    same_site(&headers)?;
    let f = FormData::parse(&body);
    let typed: String = f.text("email").chars().take(254).collect();
    let ip = client.ip.to_string();
    let event = || AuditEvent::new("password_reset.requested", &typed, &ip).on(&typed);
    if ip_limited(&state, &ip).await? {
        audit(
            &state,
            event().outcome(Outcome::Denied).details("rate limited"),
        )
        .await?;
        return Ok(forgot_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            typed.clone(),
            None,
            Some(RATE_LIMITED),
        ));
    }
    let user = if typed.is_empty() {
        None
    } else {
        state.db.user_by_email(&typed).await?
    };
    let smtp = state.cfg.smtp.is_some();
    let recent = match &user {
        Some(u) => {
            let since = state.db.now() - LINK_WINDOW_MS;
            state.db.reset_links_since(u.id.as_str(), since).await?
        }
        None => 0,
    };
    let why = match &user {
        None => "no such account",
        Some(u) if u.disabled => "account disabled",
        Some(_) if !smtp => "email is not set up",
        // Nobody's inbox gets flooded with links: the page still answers the same.
        Some(_) if recent >= LINKS_PER_WINDOW => "not sent: too many links requested this hour",
        Some(u) => {
            send_link(&state, u, &ip).await?;
            "link emailed"
        }
    };
    audit(&state, event().details(why)).await?;
    // The same answer whether or not the account exists.
    let notice = if smtp {
        format!(
            "If an account exists for that address, we have emailed a link. It works for {} minutes.",
            state.db.policy.reset_link_ms / 60_000
        )
    } else {
        NO_EMAIL.to_string()
    };
    Ok(forgot_page(
        &state,
        StatusCode::OK,
        String::new(),
        Some(notice),
        None,
    ))
}

/// At most this many reset links are emailed to one account per [`LINK_WINDOW_MS`].
const LINKS_PER_WINDOW: i64 = 3;
/// One hour.
const LINK_WINDOW_MS: i64 = 60 * 60 * 1000;

/// Store a fresh link for `u` and email it in the background (a slow or failing mail server
/// must not show in the response time; failures are logged).
async fn send_link(state: &AppState, u: &User, ip: &str) -> Result<(), PageError> {
    let t = token::random_token();
    state
        .db
        .create_password_reset(u.id.as_str(), &token::hash_token(&t))
        .await?;
    let minutes = state.db.policy.reset_link_ms / 60_000;
    let link = format!(
        "{}/admin/reset?token={t}",
        state.cfg.public_url.trim_end_matches('/')
    );
    let shop = &state.cfg.shop_name;
    let body = format!(
        "Someone (hopefully you) asked to reset the password of your {shop} staff account \
         ({email}) from the address {ip}.\n\n\
         Open this link within {minutes} minutes to choose a new password:\n\n{link}\n\n\
         The link works once. Using it signs you out everywhere.\n\
         If you did not ask for this, ignore this email: your password stays as it is.\n",
        email = u.email,
    );
    let subject = format!("Reset your {shop} password");
    let (to, smtp) = (u.email.clone(), state.cfg.smtp.clone());
    tokio::spawn(async move {
        if let Err(e) = crate::mail::send(smtp.as_ref(), &to, &subject, &body).await {
            tracing::warn!(error = %e, "password reset email not sent");
        }
    });
    Ok(())
}

#[derive(Template)]
#[template(path = "admin_reset.html")]
struct ResetPage {
    shop_name: String,
    email: String,
    token: String,
    expired: bool,
    new_error: Option<String>,
    confirm_error: Option<String>,
}

fn expired_page(state: &AppState) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        &ResetPage {
            shop_name: state.cfg.shop_name.clone(),
            email: String::new(),
            token: String::new(),
            expired: true,
            new_error: None,
            confirm_error: None,
        },
    )
}

/// The account a link is for, if the link is live and the account may sign in.
async fn link_user(state: &AppState, t: &str) -> Result<Option<User>, PageError> {
    if t.is_empty() || t.len() > 100 {
        return Ok(None);
    }
    let u = state.db.password_reset_user(&token::hash_token(t)).await?;
    Ok(u.filter(|u| !u.disabled))
}

/// `GET /admin/reset?token=`: the new-password form, or why the link no longer works.
pub async fn reset_form(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let t = q.get("token").map(String::as_str).unwrap_or("");
    let Some(u) = link_user(&state, t).await? else {
        return Ok(expired_page(&state));
    };
    Ok(page(
        StatusCode::OK,
        &ResetPage {
            shop_name: state.cfg.shop_name.clone(),
            email: u.email,
            token: t.to_string(),
            expired: false,
            new_error: None,
            confirm_error: None,
        },
    ))
}

/// `POST /admin/reset` (token in the form body): set the new password, use the link up, end
/// every session of the account.
pub async fn reset(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    same_site(&headers)?;
    let f = FormData::parse(&body);
    let t = f.get("token");
    let ip = client.ip.to_string();
    let Some(u) = link_user(&state, t).await? else {
        audit(
            &state,
            AuditEvent::new("password_reset.failed", "anonymous", &ip)
                .outcome(Outcome::Failure)
                .details("expired, used or unknown link"),
        )
        .await?;
        return Ok(expired_page(&state));
    };
    let (new, confirm) = (f.get("new_password"), f.get("confirm_password"));
    let form_again = |status, new_error: Option<String>, confirm_error: Option<String>| {
        page(
            status,
            &ResetPage {
                shop_name: state.cfg.shop_name.clone(),
                email: u.email.clone(),
                token: t.to_string(),
                expired: false,
                new_error,
                confirm_error,
            },
        )
    };
    if new != confirm {
        let msg = "The two new passwords are not the same; type it again.".to_string();
        return Ok(form_again(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(msg),
        ));
    }
    let fresh = match crate::passwords::check_new_password(
        &state,
        "new_password",
        new,
        &u.email,
        &u.name,
        Some(&u),
    )
    .await
    {
        Ok(p) => p,
        Err(e) if e.status.is_client_error() => {
            return Ok(form_again(e.status, Some(sentence(&e.message)), None));
        }
        Err(e) => return Err(e.into()),
    };
    // Single use even when two tabs race: only one `use` returns the account.
    if state
        .db
        .use_password_reset(&token::hash_token(t))
        .await?
        .as_deref()
        != Some(u.id.as_str())
    {
        return Ok(expired_page(&state));
    }
    state
        .db
        .set_password(u.id.as_str(), &fresh.hash, fresh.score)
        .await?;
    audit(
        &state,
        AuditEvent::new("password_reset.completed", &u.email, &ip)
            .by(u.id.as_str())
            .on(&u.email)
            .details("by email link; every session ended"),
    )
    .await?;
    Ok(see_other("/admin/login?changed=1"))
}
