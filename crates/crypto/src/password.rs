//! Staff passwords: argon2id hashing and the policy a new password must meet.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
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
///
/// The argon2 working memory (19 MiB) is kept per thread and reused: allocating and freeing it on
/// every sign-in makes glibc raise its mmap threshold and keep each thread's freed blocks, which
/// grew the server by over 100 MiB under steady logins.
pub fn verify(password: &str, stored: &str) -> Result<bool, CryptoError> {
    use subtle::ConstantTimeEq;
    let bad = |e: &dyn std::fmt::Display| CryptoError::Hash(e.to_string());
    let parsed = PasswordHash::new(stored).map_err(|e| bad(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| bad(&e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| bad(&e))?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(|e| bad(&e))?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| bad(&"the stored hash has no salt"))?
        .decode_b64(&mut salt_buf)
        .map_err(|e| bad(&e))?;
    let expected = parsed
        .hash
        .ok_or_else(|| bad(&"the stored hash has no output"))?;
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    MEMORY
        .with(|m| {
            let mut m = m.borrow_mut();
            if m.len() < blocks {
                m.resize(blocks, argon2::Block::default());
            }
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut m[..blocks],
            )
        })
        .map_err(|e| bad(&e))?;
    Ok(bool::from(expected.as_bytes().ct_eq(&out)))
}

thread_local! {
    /// Reused argon2 working memory (see [`verify`]).
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether a stored hash was made with other parameters than today's (or another algorithm), so
/// it should be replaced after the next successful sign-in.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != argon2::ARGON2ID_IDENT
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != TIME_COST
        || params.p_cost() != 1
}

/// Hex digits of a password's SHA-1 kept in the offline breached-password list. 16 hex digits
/// (64 bits) make a false match vanishingly rare and keep the list small.
pub const BREACHED_PREFIX_LEN: usize = 16;

/// The breached-list key of a password: the first [`BREACHED_PREFIX_LEN`] hex digits of its
/// SHA-1, uppercase, as in the Have I Been Pwned files.
pub fn breached_prefix(password: &str) -> String {
    use sha1::{Digest, Sha1};
    hex::encode_upper(Sha1::digest(password.as_bytes()))[..BREACHED_PREFIX_LEN].to_string()
}

/// The breached-list key of one line of an imported list: a SHA-1 in hex, optionally followed by
/// `:count` (the Have I Been Pwned format) or a prefix of at least 16 hex digits. `None` for a
/// line that is none of these (blank lines and comments included).
pub fn breached_line_prefix(line: &str) -> Option<String> {
    let hash = line.trim().split(':').next()?.trim();
    (hash.len() >= BREACHED_PREFIX_LEN
        && hash.len() <= 40
        && hash.chars().all(|c| c.is_ascii_hexdigit()))
    .then(|| hash[..BREACHED_PREFIX_LEN].to_ascii_uppercase())
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
    fn rehash_when_parameters_change() {
        let h = hash("a perfectly fine passphrase 9").unwrap();
        assert!(!needs_rehash(&h));
        let weak = argon2::Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let old = weak.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(needs_rehash(&old));
        assert!(verify("pw", &old).unwrap(), "old hashes still verify");
        assert!(needs_rehash("not a hash"));
    }

    #[test]
    fn breached_prefixes() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        assert_eq!(breached_prefix("password"), "5BAA61E4C9B93F3F");
        assert_eq!(
            breached_line_prefix("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8:3861493").as_deref(),
            Some("5BAA61E4C9B93F3F")
        );
        assert_eq!(
            breached_line_prefix("5BAA61E4C9B93F3F").as_deref(),
            Some("5BAA61E4C9B93F3F")
        );
        for bad in ["", "# comment", "5BAA61", "zzzz61e4c9b93f3f06", "password"] {
            assert_eq!(breached_line_prefix(bad), None, "{bad}");
        }
    }

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
