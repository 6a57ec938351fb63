//! Pure rules for POS devices and cashiers: the till settings and their ranges, which PINs a
//! cashier may choose, and how a typed pairing code is read.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Characters of a pairing code: no 0/O or 1/I, so a code read aloud or typed from a screen
/// cannot be mistaken. 32 characters, so one random byte modulo 32 picks one without bias.
pub const PAIRING_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a pairing code.
pub const PAIRING_CODE_LEN: usize = 8;

/// How the shop's tills behave. Every field has a default, so a stored document missing a newer
/// field still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PosSettings {
    /// Minutes without input before the till locks (1-15).
    pub idle_lock_minutes: i64,
    /// Hours a device may go without reaching the server before it locks itself (1-168).
    pub offline_grace_hours: i64,
    /// Largest single sale a device may take while offline, minor units (0-10,000,000).
    pub offline_sale_limit_minor: i64,
    /// Largest discount a cashier may give without a manager, basis points (0-10,000).
    pub cashier_discount_limit_bp: i64,
    /// A shift's cash variance above this (minor units, 0-1,000,000) needs a manager.
    pub variance_threshold_minor: i64,
    /// Cash taken out of the drawer above this (minor units, 0-10,000,000) needs a manager.
    pub cash_out_approval_minor: i64,
}

impl Default for PosSettings {
    fn default() -> Self {
        Self {
            idle_lock_minutes: 5,
            offline_grace_hours: 24,
            offline_sale_limit_minor: 20_000,
            cashier_discount_limit_bp: 1_000,
            variance_threshold_minor: 500,
            cash_out_approval_minor: 5_000,
        }
    }
}

impl PosSettings {
    /// Check every number is in range; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let checks: [(&str, i64, i64, i64, &str); 6] = [
            (
                "idle_lock_minutes",
                self.idle_lock_minutes,
                1,
                15,
                "minutes",
            ),
            (
                "offline_grace_hours",
                self.offline_grace_hours,
                1,
                168,
                "hours",
            ),
            (
                "offline_sale_limit_minor",
                self.offline_sale_limit_minor,
                0,
                10_000_000,
                "minor units",
            ),
            (
                "cashier_discount_limit_bp",
                self.cashier_discount_limit_bp,
                0,
                10_000,
                "basis points",
            ),
            (
                "variance_threshold_minor",
                self.variance_threshold_minor,
                0,
                1_000_000,
                "minor units",
            ),
            (
                "cash_out_approval_minor",
                self.cash_out_approval_minor,
                0,
                10_000_000,
                "minor units",
            ),
        ];
        for (field, value, lo, hi, unit) in checks {
            if !(lo..=hi).contains(&value) {
                return Err(ValidationError::new(
                    field,
                    format!("must be between {lo} and {hi} {unit}"),
                ));
            }
        }
        Ok(())
    }

    /// The idle lock in milliseconds.
    pub fn idle_ms(&self) -> i64 {
        self.idle_lock_minutes * 60_000
    }

    /// The offline grace period in milliseconds.
    pub fn offline_grace_ms(&self) -> i64 {
        self.offline_grace_hours * 3_600_000
    }
}

/// A PIN a cashier may choose: 4-8 ASCII digits, not one digit repeated (1111), not a run up or
/// down (1234, 98765). The error names the field `pin`.
pub fn check_pin(pin: &str) -> Result<(), ValidationError> {
    let bad = |m: &str| Err(ValidationError::new("pin", m));
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        return bad("use digits only");
    }
    if !(4..=8).contains(&pin.len()) {
        return bad("use 4 to 8 digits");
    }
    let d: Vec<i16> = pin.bytes().map(|b| i16::from(b - b'0')).collect();
    let steps: Vec<i16> = d.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|&s| s == 0) {
        return bad("is too easy to guess: do not repeat one digit");
    }
    if steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1) {
        return bad("is too easy to guess: do not use a run of digits like 1234");
    }
    Ok(())
}

/// A typed pairing code as stored: uppercase, without the spaces and dashes people type to group
/// it ("abcd-efgh" -> "ABCDEFGH"). It does not check the alphabet (see [`is_pairing_code`]).
pub fn normalize_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

/// Whether a normalized code has the shape of a pairing code (8 characters of the alphabet).
pub fn is_pairing_code(code: &str) -> bool {
    code.len() == PAIRING_CODE_LEN && code.chars().all(|c| PAIRING_ALPHABET.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        for ok in ["2580", "1357", "90210", "12345670", "1123", "8642"] {
            assert!(check_pin(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1234",
            "12345",
            "45678",
            "4321",
            "9876543",
            "0000",
            "99999999",
            "12",
            "123",
            "abcd",
            "12a4",
            "123456789",
            "",
            " 2580",
            "２５８０",
        ] {
            let e = check_pin(bad).unwrap_err();
            assert_eq!(e.field, "pin", "{bad}");
        }
    }

    #[test]
    fn settings_ranges_name_the_field() {
        let s = PosSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.idle_ms(), 300_000);
        for (s, field) in [
            (
                PosSettings {
                    idle_lock_minutes: 0,
                    ..s
                },
                "idle_lock_minutes",
            ),
            (
                PosSettings {
                    idle_lock_minutes: 16,
                    ..s
                },
                "idle_lock_minutes",
            ),
            (
                PosSettings {
                    offline_grace_hours: 169,
                    ..s
                },
                "offline_grace_hours",
            ),
            (
                PosSettings {
                    offline_sale_limit_minor: -1,
                    ..s
                },
                "offline_sale_limit_minor",
            ),
            (
                PosSettings {
                    cashier_discount_limit_bp: 10_001,
                    ..s
                },
                "cashier_discount_limit_bp",
            ),
            (
                PosSettings {
                    variance_threshold_minor: 1_000_001,
                    ..s
                },
                "variance_threshold_minor",
            ),
        ] {
            assert_eq!(s.validate().unwrap_err().field, field);
        }
        let partial: PosSettings = serde_json::from_str(r#"{"idle_lock_minutes":2}"#).unwrap();
        assert_eq!(partial.idle_lock_minutes, 2);
        assert_eq!(partial.offline_grace_hours, 24);
    }

    #[test]
    fn codes() {
        assert_eq!(normalize_code(" abcd-efgh "), "ABCDEFGH");
        assert_eq!(normalize_code("ABCD EFGH"), "ABCDEFGH");
        assert!(is_pairing_code("ABCD2345"));
        assert!(!is_pairing_code("ABCD0345"), "0 is not in the alphabet");
        assert!(!is_pairing_code("ABCD234"));
        assert_eq!(PAIRING_ALPHABET.len(), 32);
    }
}
