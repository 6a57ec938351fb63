//! Shopper passwords, per NIST SP 800-63B 5.1.1.2: 8 to 128 characters of anything (spaces and
//! any Unicode count), not one of the 10,000 most common passwords, not the shopper's own email
//! address. No composition rules (no "must contain a digit"), as the guideline asks.
//!
//! Staff passwords follow a stricter policy in [`crate::password::check_policy`].

use std::collections::HashSet;
use std::sync::LazyLock;

/// Fewest characters a shopper password may have.
pub const MIN_CHARS: usize = 8;
/// Most characters a shopper password may have.
pub const MAX_CHARS: usize = 128;

/// The blocklist as shipped: one lower-case password a line, `#` lines are comments (see
/// `data/README.md` for where it came from and its licence).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// The blocklist, parsed once on first use.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Why a shopper password was refused. The message is written for the shopper and fits after
/// "Password: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejected {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("use at least 8 characters (a few words with spaces between them work well)")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("use at most 128 characters")]
    TooLong,
    /// On the list of the most common passwords.
    #[error("this is one of the most common passwords, so it is easy to guess; choose another")]
    Common,
    /// The same as the email address or the part before the `@`.
    #[error("do not use your email address as your password")]
    SameAsEmail,
}

/// Check a new shopper password. `email` is the address the account is (or will be) under.
/// Letter case is ignored when comparing with the blocklist and the email.
pub fn check(password: &str, email: &str) -> Result<(), PasswordRejected> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(PasswordRejected::TooShort);
    }
    if chars > MAX_CHARS {
        return Err(PasswordRejected::TooLong);
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(PasswordRejected::Common);
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if !email.is_empty() && (lower == email || lower == local) {
        return Err(PasswordRejected::SameAsEmail);
    }
    Ok(())
}

/// Whether `password` (any case) is on the common-password blocklist.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "ann.example@example.com";

    #[test]
    fn the_list_is_loaded_whole() {
        assert_eq!(COMMON.len(), 10_000);
        assert!(
            !COMMON.iter().any(|p| p.starts_with('#')),
            "comments skipped"
        );
        assert!(is_common("pic's"), "the escaped entry was unescaped");
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert_eq!(check("password", EMAIL), Err(PasswordRejected::Common));
        assert!(is_common("password1"), "test premise: on the list");
        assert_eq!(check("Password1", EMAIL), Err(PasswordRejected::Common));
        assert_eq!(check("QWERTYUIOP", EMAIL), Err(PasswordRejected::Common));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(check("7 chars", EMAIL), Err(PasswordRejected::TooShort));
        assert_eq!(check("", EMAIL), Err(PasswordRejected::TooShort));
        // Seven characters but more than eight bytes: still too short.
        assert_eq!(check("ééééééé", EMAIL), Err(PasswordRejected::TooShort));
        assert_eq!(check("éééééééé", EMAIL), Ok(()));
        assert_eq!(
            check(&"x".repeat(129), EMAIL),
            Err(PasswordRejected::TooLong)
        );
        assert_eq!(check(&"xy".repeat(64), EMAIL), Ok(()));
        // 128 characters of four bytes each is still fine.
        assert_eq!(check(&"🦀".repeat(128), EMAIL), Ok(()));
        assert_eq!(
            check(&"🦀".repeat(129), EMAIL),
            Err(PasswordRejected::TooLong)
        );
    }

    #[test]
    fn no_composition_rules_and_unicode_is_welcome() {
        assert_eq!(check("correct horse battery", EMAIL), Ok(()));
        assert_eq!(check("onlylowercaseletters", EMAIL), Ok(()));
        assert_eq!(
            check("Schöne Grüße aus Köln, 東京タワー と 🌸", EMAIL),
            Ok(())
        );
        assert!(check("        ", EMAIL).is_ok(), "spaces are characters");
    }

    #[test]
    fn the_email_is_not_a_password() {
        assert_eq!(check(EMAIL, EMAIL), Err(PasswordRejected::SameAsEmail));
        assert_eq!(
            check("Ann.Example@Example.com", EMAIL),
            Err(PasswordRejected::SameAsEmail)
        );
        assert_eq!(
            check("ann.example", EMAIL),
            Err(PasswordRejected::SameAsEmail)
        );
        assert_eq!(check("ann.example!", EMAIL), Ok(()));
        assert_eq!(check("ann.example", ""), Ok(()), "no email to compare");
    }

    #[test]
    fn messages_read_well() {
        assert!(PasswordRejected::TooShort
            .to_string()
            .contains("at least 8"));
        assert!(PasswordRejected::TooLong
            .to_string()
            .contains("at most 128"));
        assert!(PasswordRejected::Common.to_string().contains("common"));
    }
}
