//! Choosing a staff password: the policy (12-128 characters, letters and digits, zxcvbn >= 3,
//! not the shop's or user's name or email), the offline breached list, and the last 4
//! passwords. Every rejection says why in plain words and names the field.

use storefort_crypto::password;
use storefort_store::auth::User;

use crate::error::ApiError;
use crate::login::{hash_password, verify_password};
use crate::AppState;

/// A new password that passed every check, hashed.
#[derive(Debug, Clone)]
pub struct NewPassword {
    /// argon2id PHC string.
    pub hash: String,
    /// zxcvbn score (3 or 4).
    pub score: u8,
}

/// Check a proposed password for a (possibly not yet existing) staff member and hash it.
/// `user` is given when they exist, so their last 4 passwords can be refused. Errors are 422
/// with `field` set to `field`.
pub async fn check_new_password(
    state: &AppState,
    field: &str,
    pw: &str,
    email: &str,
    name: &str,
    user: Option<&User>,
) -> Result<NewPassword, ApiError> {
    if pw.is_empty() {
        return Err(ApiError::invalid(field, "enter a password"));
    }
    let shop = state.cfg.shop_name.clone();
    let score = password::check_policy(pw, &[email, name, &shop])
        .map_err(|e| ApiError::invalid(field, e.0))?;
    if state.db.is_breached(&password::breached_prefix(pw)).await? {
        return Err(ApiError::invalid(
            field,
            "this password appears in a list of passwords leaked from other sites; choose another",
        ));
    }
    if let Some(u) = user {
        for old in state.db.password_history(u.id.as_str()).await? {
            if verify_password(pw, &old).await? {
                return Err(ApiError::invalid(
                    field,
                    "you used this password recently; choose one you have not used for your last 4 passwords",
                ));
            }
        }
    }
    Ok(NewPassword {
        hash: hash_password(pw).await?,
        score,
    })
}
