//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps, the form every
//! authenticator app reads) and the enrolment QR code, rendered here as SVG so the seed never
//! leaves the server.

use rand::RngCore;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::CryptoError;

/// Seconds per code.
pub const STEP_SECS: u64 = 30;
/// Codes one step either side of now are accepted (clock drift on phones).
const SKEW: i64 = 1;

/// A new random 160-bit seed, base32 as the apps show it.
pub fn new_secret() -> String {
    let mut b = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut b);
    Secret::Raw(b.to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str, issuer: &str, account: &str) -> Result<TOTP, CryptoError> {
    let raw = Secret::Encoded(secret_b32.to_string())
        .to_bytes()
        .map_err(|_| CryptoError::Totp("the stored seed is not base32".into()))?;
    // Issuer and account may not contain ':' in otpauth URLs.
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        raw,
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|e| CryptoError::Totp(e.to_string()))
}

/// The `otpauth://` URL an authenticator app imports.
pub fn url(secret_b32: &str, issuer: &str, account: &str) -> Result<String, CryptoError> {
    Ok(totp(secret_b32, issuer, account)?.get_url())
}

/// The enrolment QR code as an SVG document (black on white, scales with CSS).
pub fn qr_svg(secret_b32: &str, issuer: &str, account: &str) -> Result<String, CryptoError> {
    let code = qrcode::QrCode::new(url(secret_b32, issuer, account)?.as_bytes())
        .map_err(|e| CryptoError::Totp(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

/// The 30-second step that `now_ms` falls in.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_SECS as i64 * 1000)
}

/// Check a 6-digit code at `now_ms`. Returns the step it belongs to, so the caller can refuse it
/// (and every earlier step) next time: each code works once.
pub fn verify(secret_b32: &str, code: &str, now_ms: i64) -> Result<Option<i64>, CryptoError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret_b32, "storefort", "staff")?;
    let now = step_at(now_ms);
    for step in now - SKEW..=now + SKEW {
        let Ok(secs) = u64::try_from(step) else {
            continue;
        };
        let expected = t.generate(secs * STEP_SECS);
        if crate::token::constant_time_eq(&expected, &code) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The code for `now_ms` (tests and the bench use it to sign in).
pub fn code_at(secret_b32: &str, now_ms: i64) -> Result<String, CryptoError> {
    let secs = u64::try_from(step_at(now_ms)).unwrap_or(0) * STEP_SECS;
    Ok(totp(secret_b32, "storefort", "staff")?.generate(secs))
}

/// Ten single-use recovery codes, `xxxxx-xxxxx` from an unambiguous alphabet (about 50 bits).
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..10)
        .map(|_| {
            let mut s = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    s.push('-');
                }
                let n = (rng.next_u32() as usize) % ALPHABET.len();
                s.push(char::from(ALPHABET[n]));
            }
            s
        })
        .collect()
}

/// A recovery code as typed, normalised for hashing (case, spaces and dashes ignored).
pub fn normalize_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 seed "12345678901234567890".
    const RFC_SEED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        assert_eq!(code_at(RFC_SEED, 59_000).unwrap(), "287082");
        assert_eq!(code_at(RFC_SEED, 1_111_111_109_000).unwrap(), "081804");
        assert_eq!(code_at(RFC_SEED, 1_234_567_890_000).unwrap(), "005924");
    }

    #[test]
    fn accepts_one_step_of_drift_and_reports_the_step() {
        let s = new_secret();
        let now = 1_800_000_000_000;
        let code = code_at(&s, now).unwrap();
        assert_eq!(verify(&s, &code, now).unwrap(), Some(step_at(now)));
        assert_eq!(verify(&s, &code, now + 30_000).unwrap(), Some(step_at(now)));
        assert_eq!(verify(&s, &code, now + 90_000).unwrap(), None);
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(verify(&s, bad, now).unwrap(), None, "{bad}");
        }
    }

    #[test]
    fn qr_is_svg_and_url_names_the_shop() {
        let s = new_secret();
        let u = url(&s, "Corner: Shop", "a@b.co").unwrap();
        assert!(u.starts_with("otpauth://totp/"), "{u}");
        assert!(u.contains(&s));
        let svg = qr_svg(&s, "Corner Shop", "a@b.co").unwrap();
        assert!(svg.contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct() {
        let c = recovery_codes();
        assert_eq!(c.len(), 10);
        let mut d = c.clone();
        d.sort();
        d.dedup();
        assert_eq!(d.len(), 10);
        assert_eq!(normalize_recovery_code(" ABCDE-fghij "), "abcdefghij");
    }
}
