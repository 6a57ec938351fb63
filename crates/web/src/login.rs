//! Signing in and out: per-IP rate limit, lockout after repeated failures, the same answer and
//! similar timing whether or not the account exists, rehashing old hashes, and the second
//! factor stage. Every outcome is audited.

use axum::http::{HeaderMap, HeaderValue};
use storefort_crypto::{password, token};
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::auth::{Session, Stage, User};

use crate::auth::{current_session, owed_for, Owed, SESSION_COOKIE};
use crate::error::ApiError;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Why a sign-in failed (deliberately vague to the user).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password, disabled or locked account: one message for all.
    #[error(
        "Email or password is wrong, or the account is locked for a while after too many attempts."
    )]
    BadCredentials,
    /// Too many failures from this address.
    #[error("Too many failed sign-ins from your network. Wait 15 minutes and try again.")]
    RateLimited,
    /// Something broke.
    #[error(transparent)]
    Internal(#[from] ApiError),
}

impl From<storefort_store::StoreError> for LoginError {
    fn from(e: storefort_store::StoreError) -> Self {
        LoginError::Internal(e.into())
    }
}

/// A successful password step.
#[derive(Debug)]
pub struct SignedIn {
    /// `Set-Cookie` for the new session.
    pub cookie: HeaderValue,
    /// What the session still owes (the second factor, a new password, MFA set-up).
    pub owed: Option<Owed>,
}

/// A stand-in hash checked when the email is unknown, so both paths take the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn dummy_hash() -> String {
    DUMMY_HASH
        .get_or_init(|| password::hash(&token::random_token()).unwrap_or_default())
        .clone()
}

/// Check a password against a stored hash on the hashing pool (argon2id is slow on purpose).
pub async fn verify_password(pw: &str, hash: &str) -> Result<bool, ApiError> {
    let (pw, hash) = (pw.to_string(), hash.to_string());
    Ok(crate::hasher::run(move || password::verify(&pw, &hash).unwrap_or(false)).await?)
}

/// Hash a password off the async runtime.
pub async fn hash_password(pw: &str) -> Result<String, ApiError> {
    let pw = pw.to_string();
    crate::hasher::run(move || password::hash(&pw))
        .await?
        .map_err(|e| ApiError::internal(&e))
}

/// Append an audit event; a failure to record is a failure of the action.
pub async fn audit(state: &AppState, ev: AuditEvent) -> Result<(), ApiError> {
    state.db.audit(ev).await?;
    Ok(())
}

/// Check credentials and open a session (at the second-factor stage if the user has MFA).
pub async fn login(
    state: &AppState,
    email: &str,
    pw: &str,
    client: &ClientInfo,
    user_agent: &str,
) -> Result<SignedIn, LoginError> {
    let db = &state.db;
    let ip = client.ip.to_string();
    let typed: String = email.trim().chars().take(254).collect();
    let since = db.now() - db.policy.ip_window_ms;
    if db.login_failures_from(&ip, since).await? >= db.policy.ip_failure_limit {
        // Recorded once per address and window, so a flood cannot fill the audit log.
        if db.actions_from(&ip, "login.rate_limited", since).await? == 0 {
            audit(
                state,
                AuditEvent::new("login.rate_limited", &typed, &ip)
                    .on(&typed)
                    .outcome(Outcome::Denied),
            )
            .await?;
        }
        return Err(LoginError::RateLimited);
    }
    let user = db.user_by_email(&typed).await?;
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(dummy_hash);
    // Always run argon2, even for unknown or locked accounts, so timing tells nothing.
    let right = verify_password(pw, &hash).await? && user.is_some();
    let Some(user) = user else {
        audit(
            state,
            AuditEvent::new("login.failure", &typed, &ip)
                .on(&typed)
                .outcome(Outcome::Failure)
                .details("unknown account"),
        )
        .await?;
        return Err(LoginError::BadCredentials);
    };
    if user.disabled {
        refuse(state, &user, &ip, "account disabled").await?;
        return Err(LoginError::BadCredentials);
    }
    let Some(attempt) = attempt(state, &user, &ip).await? else {
        return Err(LoginError::BadCredentials);
    };
    if !right {
        attempt.wrong(state, "wrong password").await?;
        return Err(LoginError::BadCredentials);
    }
    if user.mfa_enabled {
        // The count is cleared only once the code is right too (pages::admin_mfa), so typing
        // the password again cannot reset a run of wrong codes before the lockout.
        attempt.release(state).await?;
    } else {
        attempt.right(state).await?;
    }
    if password::needs_rehash(&user.password_hash) {
        let fresh = hash_password(pw).await?;
        db.rehash_password(user.id.as_str(), &fresh).await?;
    }
    let stage = if user.mfa_enabled {
        Stage::Mfa
    } else {
        Stage::Full
    };
    let t = token::random_token();
    db.create_session(
        user.id.as_str(),
        &token::hash_token(&t),
        &token::random_token(),
        stage,
        &ip,
        user_agent,
    )
    .await?;
    let action = if stage == Stage::Mfa {
        "login.password_ok"
    } else {
        "login.success"
    };
    audit(
        state,
        AuditEvent::new(action, &user.email, &ip)
            .by(user.id.as_str())
            .on(&user.email)
            .details(user_agent.chars().take(200).collect::<String>()),
    )
    .await?;
    Ok(SignedIn {
        cookie: session_cookie(&t)?,
        owed: owed_for(&user, stage),
    })
}

/// One counted try at an account's password or code. It is counted *before* the secret is
/// checked ([`attempt`]), so parallel guesses cannot get past the lockout threshold; the
/// caller then says how it went.
#[derive(Debug)]
pub struct Attempt {
    /// The account as it stood after the try was counted.
    user: User,
    ip: String,
}

/// Count a try at `user`'s password or code. `None` means the account is locked: the try is
/// refused without checking anything (and audited).
pub async fn attempt(state: &AppState, user: &User, ip: &str) -> Result<Option<Attempt>, ApiError> {
    match state.db.claim_login_attempt(user.id.as_str()).await? {
        Some(after) => Ok(Some(Attempt {
            user: after,
            ip: ip.to_string(),
        })),
        None => {
            refuse(state, user, ip, "account locked").await?;
            Ok(None)
        }
    }
}

/// Audit a refused try that was not counted (disabled or already locked account).
async fn refuse(state: &AppState, user: &User, ip: &str, why: &str) -> Result<(), ApiError> {
    audit(
        state,
        AuditEvent::new("login.failure", &user.email, ip)
            .by(user.id.as_str())
            .on(&user.email)
            .outcome(Outcome::Denied)
            .details(why),
    )
    .await
}

impl Attempt {
    /// The secret was wrong: audit it (`mfa.failure` when `why` mentions a code), and the
    /// lockout if this try caused one. Returns whether the account is now locked.
    pub async fn wrong(self, state: &AppState, why: &str) -> Result<bool, ApiError> {
        let u = &self.user;
        let action = if why.contains("code") {
            "mfa.failure"
        } else {
            "login.failure"
        };
        audit(
            state,
            AuditEvent::new(action, &u.email, &self.ip)
                .by(u.id.as_str())
                .on(&u.email)
                .outcome(Outcome::Failure)
                .details(why),
        )
        .await?;
        let locked = u.is_locked(state.db.now());
        if locked {
            audit(
                state,
                AuditEvent::new("login.lockout", "system", &self.ip)
                    .on(&u.email)
                    .outcome(Outcome::Denied)
                    .details(format!(
                        "{} failed attempts; locked for {} minutes",
                        u.failed_logins,
                        state.db.policy.lockout_ms / 60_000
                    )),
            )
            .await?;
        }
        Ok(locked)
    }

    /// The secret was right and the person is through: clear the count and any lock.
    pub async fn right(self, state: &AppState) -> Result<(), ApiError> {
        state.db.record_login_success(self.user.id.as_str()).await?;
        Ok(())
    }

    /// The secret was right but another step follows (the second factor): take back this
    /// try only; earlier failures still count.
    pub async fn release(self, state: &AppState) -> Result<(), ApiError> {
        state
            .db
            .release_login_attempt(self.user.id.as_str())
            .await?;
        Ok(())
    }
}

/// The `Set-Cookie` value for a session token.
pub fn session_cookie(token: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// The `Set-Cookie` value that removes the session cookie.
pub const CLEAR_COOKIE: &str =
    "__Host-sf_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0";

/// End the request's session (if any) on the server; returns the session that ended. The
/// caller clears the cookie and sends `Clear-Site-Data`.
pub async fn logout(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Result<Option<Session>, ApiError> {
    let Some(s) = current_session(state, headers).await? else {
        return Ok(None);
    };
    state.db.delete_session(&s.id).await?;
    audit(
        state,
        AuditEvent::new("logout", &s.user.email, &client.ip.to_string())
            .by(s.user.id.as_str())
            .on(&s.user.email),
    )
    .await?;
    Ok(Some(s))
}
