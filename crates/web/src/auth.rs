//! Who is calling and what they may do. Staff sign in with a session cookie (plus a CSRF token
//! on writes); integrations send a scoped API key. Every handler names the permission it needs
//! in its signature ([`Api`] for the JSON API, [`Admin`] for admin pages); refusals are
//! audited. Sign-in itself lives in [`crate::login`].

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use storefort_core::access::Permission;
use storefort_crypto::token;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::auth::{ApiKey, Session, Stage, User};

use crate::error::ApiError;
use crate::middleware::ClientInfo;
use crate::AppState;

pub use crate::login::{login, logout, LoginError, SignedIn};

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const SESSION_COOKIE: &str = "__Host-sf_session";
/// Header carrying the CSRF token on API calls made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Prefix of every API key, so leaked keys are easy to recognise and scan for.
pub const API_KEY_PREFIX: &str = "sf_";

/// The permissions as types, so a handler's signature says what it needs:
/// `Api<perm::CatalogEdit>`, `Admin<perm::Staff>`.
pub mod perm {
    use storefort_core::access::Permission;

    /// A permission as a type.
    pub trait Perm: Send + Sync + 'static {
        /// The permission.
        const P: Permission;
    }

    macro_rules! perms {
        ($($name:ident),*) => {$(
            #[doc = concat!("[`Permission::", stringify!($name), "`] as a type.")]
            #[derive(Debug, Clone, Copy)]
            pub struct $name;
            impl Perm for $name {
                const P: Permission = Permission::$name;
            }
        )*};
    }

    perms!(
        CatalogView,
        CatalogEdit,
        StockView,
        StockEdit,
        OrdersView,
        OrdersManage,
        Refunds,
        CustomersView,
        CustomersEdit,
        CustomersPrivacy,
        Staff,
        Devices,
        Plugins,
        Backups,
        Settings,
        Audit
    );
}

/// An authenticated caller of the API.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in staff member (browser).
    Staff(Session),
    /// An integration.
    Key(ApiKey),
}

impl Principal {
    /// Name recorded in the stock ledger and the audit log.
    pub fn actor(&self) -> String {
        match self {
            Principal::Staff(s) => s.user.email.clone(),
            Principal::Key(k) => format!("api-key:{}", k.name),
        }
    }

    /// Staff user ID, if a person is calling.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::Staff(s) => Some(s.user.id.as_str()),
            Principal::Key(_) => None,
        }
    }

    /// Whether the caller holds `p` (role for staff, scope for keys).
    pub fn allows(&self, p: Permission) -> bool {
        match self {
            Principal::Staff(s) => s.user.role().allows(p),
            Principal::Key(k) => p.allowed_for_key_scope(&k.scope),
        }
    }

    /// Sensitive actions need the password typed in this session within the last few minutes.
    pub fn require_recent_password(&self, state: &AppState) -> Result<(), ApiError> {
        match self {
            Principal::Staff(s) if state.db.now() - s.reauth_at <= state.db.policy.reauth_ms => {
                Ok(())
            }
            _ => Err(ApiError::forbidden(
                "confirm your password first (POST /admin/reauth, or sign in again): this action needs it typed within the last 5 minutes",
            )),
        }
    }

    /// The signed-in staff member, or 403 for an API key (e.g. keys cannot make keys).
    pub fn staff(&self) -> Result<&User, ApiError> {
        match self {
            Principal::Staff(s) => Ok(&s.user),
            Principal::Key(_) => Err(ApiError::forbidden(
                "only a signed-in staff member may do this, not an API key",
            )),
        }
    }
}

/// Record a refused request in the audit log (a failure to write is logged, and the request
/// is refused anyway).
pub async fn audit_denied(
    state: &AppState,
    actor_id: Option<&str>,
    actor: &str,
    ip: &str,
    what: &str,
    why: &str,
) {
    let mut ev = AuditEvent::new("access.denied", actor, ip)
        .on(what)
        .outcome(Outcome::Denied)
        .details(why);
    ev.actor_id = actor_id.map(str::to_string);
    if let Err(e) = state.db.audit(ev).await {
        tracing::error!(error = %e, "could not audit a refused request");
    }
}

/// Read the session token from the Cookie header.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The non-empty value of the cookie called `name`, from any Cookie header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';').find_map(|pair| {
                let (k, val) = pair.trim().split_once('=')?;
                (k == name && !val.is_empty()).then(|| val.to_string())
            })
        })
}

/// The live session behind the request's cookie, if any (at any sign-in stage).
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    let Some(t) = session_token(headers) else {
        return Ok(None);
    };
    Ok(state.db.touch_session(&token::hash_token(&t)).await?)
}

/// What a fully signed-in session still owes before it may do anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owed {
    /// The second factor for this sign-in.
    Code,
    /// A new password (temporary one, or flagged after a compromise).
    NewPassword,
    /// Setting up MFA (owners and managers).
    Enrolment,
}

impl Owed {
    /// The page that settles it.
    pub fn page(self) -> &'static str {
        match self {
            Owed::Code => "/admin/mfa",
            Owed::NewPassword => "/admin/account/password",
            Owed::Enrolment => "/admin/mfa/setup",
        }
    }
}

/// What `s` still owes, in the order it must be settled.
pub fn owed(s: &Session) -> Option<Owed> {
    owed_for(&s.user, s.stage)
}

/// What a session of `user` at `stage` still owes (see [`owed`]).
pub fn owed_for(user: &User, stage: Stage) -> Option<Owed> {
    if stage == Stage::Mfa {
        Some(Owed::Code)
    } else if user.must_change_password {
        Some(Owed::NewPassword)
    } else if user.role().requires_mfa() && !user.mfa_enabled {
        Some(Owed::Enrolment)
    } else {
        None
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `METHOD /path` of the request as the client sent it (before nesting stripped `/api/v1`),
/// for audit entries.
fn request_line(parts: &Parts) -> String {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path())
        .unwrap_or(parts.uri.path());
    format!("{} {}", parts.method, path)
}

fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientInfo>()
        .map(|c| c.ip.to_string())
        .unwrap_or_default()
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
                audit_denied(
                    state,
                    None,
                    &format!("api-key:{}", k.name),
                    &client_ip(parts),
                    &request_line(parts),
                    "change anything with a read-only API key",
                )
                .await;
                return Err(ApiError::forbidden("this API key is read-only"));
            }
            return Ok(Principal::Key(k));
        }
        let s = current_session(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if let Some(o) = owed(&s) {
            return Err(ApiError::forbidden(match o {
                Owed::Code => "finish signing in: enter your authenticator code first",
                Owed::NewPassword => "choose a new password before using the API",
                Owed::Enrolment => "set up two-factor sign-in before using the API",
            }));
        }
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

/// An API caller who holds permission `P`; anyone else gets 401 or 403 (and the refusal is
/// audited).
#[derive(Debug, Clone)]
pub struct Api<P> {
    /// Who is calling.
    pub who: Principal,
    _p: PhantomData<P>,
}

impl<P> std::ops::Deref for Api<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.who
    }
}

impl<P: perm::Perm> FromRequestParts<AppState> for Api<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let who = Principal::from_request_parts(parts, state).await?;
        if !who.allows(P::P) {
            audit_denied(
                state,
                who.user_id(),
                &who.actor(),
                &client_ip(parts),
                &request_line(parts),
                P::P.describe(),
            )
            .await;
            return Err(ApiError::forbidden(format!(
                "you are not allowed to {}",
                P::P.describe()
            )));
        }
        Ok(Api {
            who,
            _p: PhantomData,
        })
    }
}

fn login_redirect(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/admin");
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    Redirect::to(&format!("/admin/login?next={next}")).into_response()
}

/// A staff member part-way through signing in or fully signed in: for the pages that settle
/// what is owed (second factor, new password, MFA set-up) and for signing out. Anyone without
/// a session is sent to the login page.
#[derive(Debug, Clone)]
pub struct SignInSession(pub Session);

impl FromRequestParts<AppState> for SignInSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match current_session(state, &parts.headers).await {
            Ok(Some(s)) => Ok(SignInSession(s)),
            Ok(None) => Err(login_redirect(parts)),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl SignInSession {
    /// Check a form's CSRF field against the session.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        check_csrf(&self.0, sent)
    }
}

fn check_csrf(s: &Session, sent: &str) -> Result<(), ApiError> {
    if token::constant_time_eq(sent, &s.csrf_token) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this form has expired; reload the page and try again",
        ))
    }
}

/// A fully signed-in staff member on an admin page (owing nothing); anyone else is sent to
/// the login page, or to the page that settles what they owe.
#[derive(Debug, Clone)]
pub struct AdminSession(pub Session);

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignInSession(s) = SignInSession::from_request_parts(parts, state).await?;
        match owed(&s) {
            Some(o) => Err(Redirect::to(o.page()).into_response()),
            None => Ok(AdminSession(s)),
        }
    }
}

impl AdminSession {
    /// Check a form's CSRF field against the session.
    pub fn check_csrf(&self, sent: &str) -> Result<(), ApiError> {
        check_csrf(&self.0, sent)
    }

    /// The signed-in user.
    pub fn user(&self) -> &User {
        &self.0.user
    }

    /// Whether the user's role holds `p` (to show or hide links and buttons).
    pub fn can(&self, p: Permission) -> bool {
        self.0.user.role().allows(p)
    }

    /// Sensitive actions need the password typed within the last few minutes (5 by default);
    /// otherwise the person is sent to confirm it and brought back to `back`.
    pub fn require_recent_password(&self, state: &AppState, back: &str) -> Result<(), Redirect> {
        if state.db.now() - self.0.reauth_at <= state.db.policy.reauth_ms {
            return Ok(());
        }
        let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
        Err(Redirect::to(&format!("/admin/reauth?next={next}")))
    }
}

/// An admin page for a staff member holding permission `P`. Others get a 403 page (audited).
#[derive(Debug, Clone)]
pub struct Admin<P> {
    /// The session.
    pub session: AdminSession,
    _p: PhantomData<P>,
}

impl<P> std::ops::Deref for Admin<P> {
    type Target = AdminSession;
    fn deref(&self) -> &AdminSession {
        &self.session
    }
}

impl<P: perm::Perm> FromRequestParts<AppState> for Admin<P> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = AdminSession::from_request_parts(parts, state).await?;
        if !session.can(P::P) {
            let u = session.user();
            audit_denied(
                state,
                Some(u.id.as_str()),
                &u.email,
                &client_ip(parts),
                &request_line(parts),
                P::P.describe(),
            )
            .await;
            return Err(crate::pages::render::PageError::forbidden(format!(
                "Your role ({}) does not allow you to {}. Ask the shop owner if you need to.",
                u.role,
                P::P.describe()
            ))
            .into_response());
        }
        Ok(Admin {
            session,
            _p: PhantomData,
        })
    }
}

/// Make a new API key for `owner`: returns the key (show it once) and its record.
pub async fn create_api_key(
    db: &storefort_store::Db,
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
