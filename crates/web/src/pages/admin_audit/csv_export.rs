//! The audit log as CSV: formula-looking cells neutralised, times in ISO 8601 UTC.

use std::io::Write;

use storefort_store::audit::AuditEntry;

/// Most rows in one CSV download.
pub const CSV_LIMIT: i64 = 10_000;
/// Columns of the CSV export, in order.
pub const CSV_HEADER: [&str; 9] = [
    "seq", "time_utc", "actor", "actor_id", "action", "target", "ip", "outcome", "details",
];

/// UTC ms as `yyyy-mm-dd hh:mm:ss` (`-` when out of range).
pub(super) fn utc_seconds(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => "-".into(),
    }
}

/// UTC ms as ISO 8601 with milliseconds: `2024-02-29T12:34:56.789Z`.
pub fn iso_utc(ms: i64) -> String {
    let s = utc_seconds(ms).replacen(' ', "T", 1);
    if s == "-" {
        s
    } else {
        format!("{s}.{:03}Z", ms.rem_euclid(1000))
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading
/// `'` so it shows as text (OWASP "CSV injection").
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

/// A CSV export being written: the header first, then entries, every cell neutralised.
pub struct CsvExport<W: Write>(csv::Writer<W>);

impl<W: Write> CsvExport<W> {
    /// Start an export into `out` (writes the header).
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(CSV_HEADER)?;
        Ok(Self(w))
    }

    /// Append entries.
    pub fn write(&mut self, entries: &[AuditEntry]) -> Result<(), csv::Error> {
        for e in entries {
            let cells = [
                e.seq.to_string(),
                iso_utc(e.at),
                e.actor.clone(),
                e.actor_id.clone().unwrap_or_default(),
                e.action.clone(),
                e.target.clone(),
                e.ip.clone(),
                e.outcome.clone(),
                e.details.clone(),
            ];
            self.0
                .write_record(cells.iter().map(|c| safe_cell(c).into_owned()))?;
        }
        Ok(())
    }

    /// Flush and hand back the output.
    pub fn finish(self) -> Result<W, csv::Error> {
        self.0
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_cells() {
        assert_eq!(iso_utc(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(utc_seconds(0), "1970-01-01 00:00:00");
        assert_eq!(safe_cell("=cmd()"), "'=cmd()");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("-2+3"), "'-2+3");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("a=b"), "a=b");
        assert_eq!(safe_cell(""), "");
    }
}
