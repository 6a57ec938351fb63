//! The admin console's shell: sign in, sign out, the dashboard and the shared layout data.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use storefort_core::access::Permission;

use super::render::{ok, page, FormData, PageError};
use crate::auth::{self, AdminSession, LoginError, SignInSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// What the admin layout shows: shop, signed-in user, the CSRF token for the sign-out form.
#[derive(Debug, Clone)]
pub struct AdminChrome {
    /// Shop name.
    pub shop_name: String,
    /// Signed-in user's email.
    pub email: String,
    /// CSRF token for every form on the page.
    pub csrf: String,
    /// Current section, for `aria-current` in the nav.
    pub section: &'static str,
    /// May look up customers (shows the Customers link).
    pub customers: bool,
    /// May manage staff (shows the Staff link).
    pub staff: bool,
    /// May change settings and API keys.
    pub settings: bool,
    /// May read the audit log.
    pub audit: bool,
    /// May work the fraud review queue (shows the Reviews link).
    pub reviews: bool,
    /// Orders waiting for a phone check (the badge; 0 hides it).
    pub reviews_waiting: i64,
    /// May pair, sign out and revoke tills (shows the Tills link).
    pub tills: bool,
    /// May take and download backups (shows the Backups link).
    pub backups: bool,
    /// May install and manage plugins (shows the Plugins link).
    pub plugins: bool,
}

impl AdminChrome {
    /// Layout data for a page in `section`.
    pub fn new(state: &AppState, s: &AdminSession, section: &'static str) -> Self {
        Self {
            shop_name: state.cfg.shop_name.clone(),
            email: s.0.user.email.clone(),
            csrf: s.0.csrf_token.clone(),
            section,
            customers: s.can(Permission::CustomersView),
            staff: s.can(Permission::Staff),
            settings: s.can(Permission::Settings),
            audit: s.can(Permission::Audit),
            reviews: s.can(Permission::OrdersManage),
            reviews_waiting: state.db.open_reviews_hint().max(0),
            tills: s.can(Permission::Devices),
            backups: s.can(Permission::Backups),
            plugins: s.can(Permission::Plugins),
        }
    }
}

/// Parse a posted form and check its CSRF field.
pub fn checked_form(s: &AdminSession, body: &[u8]) -> Result<FormData, PageError> {
    let f = FormData::parse(body);
    s.check_csrf(f.get("csrf"))?;
    Ok(f)
}

/// A 303 See Other to `to` (after a successful POST).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The product edit page, with a `done` notice (`saved`, `variant-added`, ...).
pub fn product_url(id: &str, done: &str) -> String {
    format!("/admin/products/{}?done={done}", super::render::seg(id))
}

/// Only an `/admin` path is an acceptable place to return to after signing in.
pub fn safe_next(next: &str) -> &str {
    let ok = (next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?"))
        && !next.contains('\\')
        && next.chars().all(|c| !c.is_control() && c != ' ');
    if ok {
        next
    } else {
        "/admin"
    }
}

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    shop_name: String,
    email: String,
    next: String,
    error: Option<String>,
    /// Came here after changing or resetting the password.
    changed: bool,
    /// Came here after accepting an invitation.
    joined: bool,
}

/// `GET /admin/login` (`?changed=1` after a new password, `?joined=1&email=` after accepting
/// an invitation: a notice, and the email filled in).
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let next = safe_next(params.get("next").map(String::as_str).unwrap_or("")).to_string();
    if auth::current_session(&state, &headers).await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let joined = params.get("joined").is_some_and(|v| v == "1");
    // Prefilled only right after accepting an invitation (the address the person just used).
    let email = match params.get("email") {
        Some(e) if joined => e.trim().chars().take(254).collect(),
        _ => String::new(),
    };
    ok(&LoginPage {
        shop_name: state.cfg.shop_name.clone(),
        email,
        next,
        error: None,
        changed: params.get("changed").is_some_and(|v| v == "1"),
        joined,
    })
}

/// `POST /admin/login`.
pub async fn login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    // No session yet, so no CSRF token: refuse sign-ins posted from other sites instead.
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(PageError::forbidden(
            "Sign in from this site's own login page.",
        ));
    }
    let f = FormData::parse(&body);
    let email = f.text("email");
    let next = safe_next(f.get("next")).to_string();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ua: String = ua.chars().take(300).collect();
    match auth::login(&state, &email, f.get("password"), &client, &ua).await {
        Ok(signed) => {
            let to = signed.owed.map(|o| o.page()).unwrap_or(&next);
            let to = if signed.owed == Some(crate::auth::Owed::Code) {
                let n: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                format!("{to}?next={n}")
            } else {
                to.to_string()
            };
            let mut res = Redirect::to(&to).into_response();
            res.headers_mut().insert(header::SET_COOKIE, signed.cookie);
            Ok(res)
        }
        Err(e @ (LoginError::BadCredentials | LoginError::RateLimited)) => Ok(page(
            if matches!(e, LoginError::RateLimited) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            },
            &LoginPage {
                shop_name: state.cfg.shop_name.clone(),
                email,
                next,
                error: Some(e.to_string()),
                changed: false,
                joined: false,
            },
        )),
        Err(LoginError::Internal(e)) => Err(e.into()),
    }
}

/// `POST /admin/logout`: ends the session on the server, clears the cookie and asks the
/// browser to drop everything it stored for the site.
pub async fn logout(
    s: SignInSession,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    s.check_csrf(FormData::parse(&body).get("csrf"))?;
    auth::logout(&state, &headers, &client).await?;
    Ok(signed_out("/admin/login"))
}

/// A redirect to `to` that clears the session cookie and the site's stored data.
pub fn signed_out(to: &str) -> Response {
    let mut res = see_other(to);
    let h = res.headers_mut();
    h.insert(
        header::SET_COOKIE,
        axum::http::HeaderValue::from_static(crate::login::CLEAR_COOKIE),
    );
    h.insert(
        "clear-site-data",
        axum::http::HeaderValue::from_static("\"cookies\", \"storage\""),
    );
    res
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct Dashboard {
    admin: AdminChrome,
    products: i64,
    locations: usize,
    can_edit: bool,
}

/// `GET /admin`.
pub async fn dashboard(
    s: auth::Admin<auth::perm::CatalogView>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let products = state.db.count_products().await?;
    let locations = state.db.locations().await?.len();
    ok(&Dashboard {
        admin: AdminChrome::new(&state, &s, "dashboard"),
        products,
        locations,
        can_edit: s.can(Permission::CatalogEdit),
    })
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_admin() {
        assert_eq!(safe_next("/admin/products?q=a"), "/admin/products?q=a");
        assert_eq!(safe_next("https://evil.example"), "/admin");
        assert_eq!(safe_next("//evil.example/admin"), "/admin");
        assert_eq!(safe_next("/admin\\@evil"), "/admin");
        assert_eq!(safe_next(""), "/admin");
        assert_eq!(safe_next("/administrator"), "/admin");
    }
}
