//! Staff passwords: argon2id hashing and the policy a new password must meet.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;

use crate::CryptoError;

/// argon2id parameters: 19 MiB, 2 passes, 1 lane (OWASP's minimum recommendation).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// argon2id time cost.
pub const TIME_COST: u32 = 2;
/// Minimum zxcvbn score (0-4) for staff passwords.
pub const MIN_SCORE: u8 = 3;

fn hasher() -> Result<Argon2<'static>, CryptoError> {
    let params = Params::new(MEMORY_KIB, TIME_COST, 1, None)
        .map_err(|e| CryptoError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hash a password to a PHC string. CPU-heavy: call it off the async runtime.
pub fn hash(password: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hash(e.to_string()))
}

/// Check a password against a stored PHC hash. A corrupt hash is an error, a wrong password `false`.
pub fn verify(password: &str, stored: &str) -> Result<bool, CryptoError> {
    let parsed = PasswordHash::new(stored).map_err(|e| CryptoError::Hash(e.to_string()))?;
    Ok(hasher()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// A password that fails the policy, with the reason to show the user.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WeakPassword(pub String);

/// The staff password policy (PCI DSS 8.3.6 + zxcvbn): 12-128 characters, letters and digits,
/// zxcvbn score of at least 3 given the shop name and the user's own details.
/// Returns the zxcvbn score on success.
pub fn check_policy(password: &str, user_inputs: &[&str]) -> Result<u8, WeakPassword> {
    let len = password.chars().count();
    if len < 12 {
        return Err(WeakPassword("use at least 12 characters".into()));
    }
    if len > 128 {
        return Err(WeakPassword("use at most 128 characters".into()));
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(WeakPassword("use both letters and digits".into()));
    }
    let lower = password.to_lowercase();
    for input in user_inputs.iter().filter(|i| i.len() >= 3) {
        let part = input.to_lowercase();
        let local = part.split('@').next().unwrap_or(&part);
        if local.len() >= 3 && lower.contains(local) {
            return Err(WeakPassword(
                "do not use your name, email or the shop name".into(),
            ));
        }
    }
    let score = u8::from(zxcvbn::zxcvbn(password, user_inputs).score());
    if score < MIN_SCORE {
        return Err(WeakPassword(
            "too easy to guess: try a few unrelated words with a number".into(),
        ));
    }
    Ok(score)
}

/// A strong random password for generated accounts (demo owner): five groups of letters and
/// digits, about 119 bits.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    loop {
        let groups: Vec<String> = (0..5)
            .map(|_| {
                (0..4)
                    .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                    .collect()
            })
            .collect();
        let pw = groups.join("-");
        if check_policy(&pw, &[]).is_ok() {
            return pw;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse battery 42").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery 42", &h).unwrap());
        assert!(!verify("wrong horse battery 42", &h).unwrap());
        assert!(verify("x", "not a hash").is_err());
    }

    #[test]
    fn policy_rejects_weak_passwords() {
        assert!(check_policy("short1", &[]).is_err());
        assert!(check_policy("abcdefghijklmnop", &[]).is_err(), "no digits");
        assert!(check_policy("password1234", &[]).is_err(), "common");
        assert!(check_policy("ownername2024xyz", &["ownername@example.com"]).is_err());
        assert!(check_policy(&"a1".repeat(65), &[]).is_err(), "too long");
        assert!(check_policy("plum-tractor-87-saxophone", &[]).is_ok());
        let g = generate();
        assert!(check_policy(&g, &[]).unwrap() >= MIN_SCORE);
    }
}
