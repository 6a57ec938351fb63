//! Which backups to keep: the newest of each of the last N hours, days and ISO weeks that have
//! backups (like borg and restic), plus always the newest. Pure: no clock, no I/O.
//!
//! Counting periods *with backups* rather than calendar periods means a server that was down
//! for a week still keeps its last 24 hourly backups instead of pruning down to one.

use std::collections::BTreeSet;

use crate::settings::BackupSettings;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The creation times (UTC ms) of the backups to keep out of `created`; everything else may be
/// deleted. Backups dated after `now` (the clock went backwards since) are always kept: where
/// they belong cannot be judged.
pub fn to_keep(created: &[i64], now: i64, s: &BackupSettings) -> BTreeSet<i64> {
    let mut newest_first: Vec<i64> = created.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    newest_first.dedup();
    let mut keep = BTreeSet::new();
    if let Some(&newest) = newest_first.first() {
        keep.insert(newest);
    }
    keep.extend(newest_first.iter().copied().filter(|&t| t > now));
    keep_per_period(
        &newest_first,
        s.keep_hourly,
        |t| t.div_euclid(HOUR_MS),
        &mut keep,
    );
    keep_per_period(
        &newest_first,
        s.keep_daily,
        |t| t.div_euclid(DAY_MS),
        &mut keep,
    );
    keep_per_period(&newest_first, s.keep_weekly, iso_week, &mut keep);
    keep
}

/// Walk newest first and keep the first (newest) backup of each new period, `count` periods.
fn keep_per_period(
    newest_first: &[i64],
    count: u32,
    period: impl Fn(i64) -> i64,
    keep: &mut BTreeSet<i64>,
) {
    let mut last_period = None;
    let mut kept = 0u32;
    for &t in newest_first {
        if kept >= count {
            break;
        }
        let p = period(t);
        if last_period != Some(p) {
            last_period = Some(p);
            keep.insert(t);
            kept += 1;
        }
    }
}

/// The ISO week as one number (year * 100 + week), UTC. ISO weeks start on Monday and the
/// first days of January may belong to the previous year's last week.
fn iso_week(t: i64) -> i64 {
    match time::OffsetDateTime::from_unix_timestamp(t.div_euclid(1000)) {
        Ok(dt) => {
            let (year, week, _) = dt.to_iso_week_date();
            i64::from(year) * 100 + i64::from(week)
        }
        // Out of time's range (year > 9999): fall back to 7-day blocks, still monotonic.
        Err(_) => 1_000_000 + t.div_euclid(7 * DAY_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(h: u32, d: u32, w: u32) -> BackupSettings {
        BackupSettings {
            keep_hourly: h,
            keep_daily: d,
            keep_weekly: w,
            ..BackupSettings::default()
        }
    }

    /// Monday 2026-01-05 00:00:00 UTC.
    const MONDAY: i64 = 1_767_571_200_000;

    /// Ten weeks of hourly backups, each at hh:05, ending just before `end`.
    fn ten_weeks_hourly() -> (Vec<i64>, i64) {
        let start = MONDAY + 5 * 60_000;
        let all: Vec<i64> = (0..10 * 7 * 24).map(|i| start + i * HOUR_MS).collect();
        let now = all[all.len() - 1] + 60_000;
        (all, now)
    }

    #[test]
    fn ten_weeks_of_hourly_backups_keep_24_hourly_14_daily_8_weekly() {
        let (all, now) = ten_weeks_hourly();
        let keep = to_keep(&all, now, &BackupSettings::default());
        let newest = *all.last().unwrap();
        // The last 24 hours: every backup.
        for i in 0..24 {
            assert!(keep.contains(&(newest - i * HOUR_MS)), "hour {i}");
        }
        // The last 14 days: the newest (23:05) of each day; the newest day is today.
        let day_ends: Vec<i64> = (0..14).map(|d| newest - d * DAY_MS).collect();
        for t in &day_ends {
            assert!(keep.contains(t));
        }
        // The last 8 ISO weeks: the newest of each, which is Sunday 23:05.
        for w in 0..8 {
            assert!(keep.contains(&(newest - w * 7 * DAY_MS)), "week {w}");
        }
        // Nothing else: 24 hourly, plus 13 older day ends, plus the week ends older than 14 days.
        let weekly_extra = (0..8)
            .map(|w| newest - w * 7 * DAY_MS)
            .filter(|t| !day_ends.contains(t))
            .count();
        assert_eq!(weekly_extra, 6);
        assert_eq!(keep.len(), 24 + 13 + weekly_extra);
        // The oldest two weeks are gone completely.
        assert!(keep.iter().all(|&t| t > newest - 8 * 7 * DAY_MS));
    }

    #[test]
    fn the_newest_backup_is_kept_even_with_everything_set_to_zero() {
        let (all, now) = ten_weeks_hourly();
        let keep = to_keep(&all, now, &settings(0, 0, 0));
        assert_eq!(
            keep.into_iter().collect::<Vec<_>>(),
            vec![*all.last().unwrap()]
        );
        assert!(to_keep(&[], now, &settings(0, 0, 0)).is_empty());
    }

    #[test]
    fn periods_with_backups_count_not_calendar_periods() {
        // Three backups a week apart, server down in between: 2 hourly keeps the newest two.
        let all = [MONDAY, MONDAY + 7 * DAY_MS, MONDAY + 14 * DAY_MS];
        let keep = to_keep(&all, MONDAY + 100 * DAY_MS, &settings(2, 0, 0));
        assert_eq!(keep.into_iter().collect::<Vec<_>>(), all[1..].to_vec());
    }

    #[test]
    fn several_backups_in_one_hour_keep_only_the_newest_of_that_hour() {
        let all = [MONDAY, MONDAY + 60_000, MONDAY + 120_000, MONDAY + HOUR_MS];
        let keep = to_keep(&all, MONDAY + 2 * HOUR_MS, &settings(2, 0, 0));
        assert_eq!(
            keep.into_iter().collect::<Vec<_>>(),
            vec![MONDAY + 120_000, MONDAY + HOUR_MS]
        );
    }

    #[test]
    fn a_sunday_and_the_next_monday_are_different_iso_weeks() {
        assert_ne!(iso_week(MONDAY - 1), iso_week(MONDAY));
        assert_eq!(iso_week(MONDAY), iso_week(MONDAY + 7 * DAY_MS - 1));
        // 2026-01-01 (Thursday) is in ISO week 1 of 2026; 2027-01-01 (Friday) in 2026-W53.
        assert_eq!(iso_week(1_767_225_600_000), 202_601);
        assert_eq!(iso_week(1_798_761_600_000), 202_653);
    }

    #[test]
    fn backups_from_the_future_are_kept() {
        let keep = to_keep(
            &[MONDAY, MONDAY + DAY_MS],
            MONDAY - DAY_MS,
            &settings(0, 0, 0),
        );
        assert_eq!(keep.len(), 2);
    }
}
