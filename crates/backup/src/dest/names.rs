//! Backup file names: `storefort-YYYYmmddTHHMMSSZ.sfbak` (UTC). The admin passes names typed
//! or clicked by a user, so every name is checked against this exact shape before it touches a
//! path or an object key.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::BackupError;

const PREFIX: &str = "storefort-";
const SUFFIX: &str = ".sfbak";

/// The file name of a backup taken at `created_at_ms` (UTC ms; seconds precision).
pub fn backup_name(created_at_ms: i64) -> String {
    let dt = OffsetDateTime::from_unix_timestamp(created_at_ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z{SUFFIX}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// When the backup named `name` was taken (UTC ms), or `None` if it is not a backup name.
pub fn parse_name(name: &str) -> Option<i64> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = stamp.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(digits(6..8)?).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(digits(9..11)?).ok()?,
        u8::try_from(digits(11..13)?).ok()?,
        u8::try_from(digits(13..15)?).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp()
            * 1000,
    )
}

/// [`parse_name`], with an error for the owner when it is not a backup name.
pub fn check_name(name: &str) -> Result<i64, BackupError> {
    parse_name(name).ok_or_else(|| {
        BackupError::Invalid(format!(
            "{name:?} is not a backup name: backups are named storefort-YYYYmmddTHHMMSSZ.sfbak"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_at_second_precision() {
        let ms = 1_795_205_112_345; // 2026-11-20T20:05:12.345Z
        let n = backup_name(ms);
        assert_eq!(n, "storefort-20261120T200512Z.sfbak");
        assert_eq!(parse_name(&n), Some(ms - 345));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "storefort-20261120T200512Z.sfbak.sha256",
            "../storefort-20261120T200512Z.sfbak",
            "storefort-20261120T200512Z.sfbak/x",
            "storefort-2026112xT200512Z.sfbak",
            "storefort-20261320T200512Z.sfbak",
            "storefort-20261120T250512Z.sfbak",
            "storefort-+2026112T200512Z.sfbak",
            "storefort-20261120T200512.sfbak",
        ] {
            assert!(parse_name(bad).is_none(), "{bad}");
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
