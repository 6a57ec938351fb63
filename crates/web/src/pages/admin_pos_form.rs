//! The till settings form: what people type (minutes, hours, amounts in the shop's currency,
//! a percentage) to and from [`PosSettings`], with a sentence naming the field when a value is
//! refused, and the audit line saying what changed.

use storefort_core::money::Currency;
use storefort_core::pos_device_rules::PosSettings;

use super::render::FormData;

/// How a field is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number.
    Whole,
    /// An amount in the shop's currency ("200.00").
    Money,
    /// A percentage with up to 2 decimals ("12.5").
    Percent,
}

/// (input name, label, hint, kind, lowest, highest) — the bounds in stored units, the same as
/// `PosSettings::validate`.
pub const FIELDS: [(&str, &str, &str, Kind, i64, i64); 6] = [
    (
        "idle_lock_minutes",
        "Lock the till after this many minutes without input",
        "1 to 15; the cashier's PIN unlocks it",
        Kind::Whole,
        1,
        15,
    ),
    (
        "offline_grace_hours",
        "Offline grace period in hours",
        "1 to 168; a till that cannot reach the shop for longer locks itself until it does",
        Kind::Whole,
        1,
        168,
    ),
    (
        "offline_sale_limit",
        "Largest sale a till may take offline",
        "cash only; card and customer features wait for the connection",
        Kind::Money,
        0,
        10_000_000,
    ),
    (
        "cashier_discount_limit",
        "Cashier discount limit (%)",
        "above it a manager approves with their PIN; managers and owners have no limit",
        Kind::Percent,
        0,
        10_000,
    ),
    (
        "variance_threshold",
        "Cash difference that needs a manager",
        "when a shift's counted cash differs from the expected by more, a manager approves it",
        Kind::Money,
        0,
        1_000_000,
    ),
    (
        "cash_out_approval",
        "Cash out that needs a manager",
        "taking more than this out of the drawer at once needs a manager's PIN",
        Kind::Money,
        0,
        10_000_000,
    ),
];

/// The form as typed, one text per field of [`FIELDS`].
#[derive(Debug, Clone, Default)]
pub struct PosForm(pub [String; 6]);

/// A refused value: the input name and the sentence (which names the field).
#[derive(Debug, Clone)]
pub struct Problem {
    /// Input name.
    pub input: &'static str,
    /// What to tell the person.
    pub text: String,
}

fn stored(s: &PosSettings) -> [i64; 6] {
    [
        s.idle_lock_minutes,
        s.offline_grace_hours,
        s.offline_sale_limit_minor,
        s.cashier_discount_limit_bp,
        s.variance_threshold_minor,
        s.cash_out_approval_minor,
    ]
}

/// Basis points as a typed percentage: 1000 -> `10`, 1250 -> `12.5`, 1225 -> `12.25`.
pub fn percent_text(bp: i64) -> String {
    match bp % 100 {
        0 => format!("{}", bp / 100),
        r if r % 10 == 0 => format!("{}.{}", bp / 100, r / 10),
        r => format!("{}.{r:02}", bp / 100),
    }
}

/// A typed percentage (`10`, `12.5`, `12.25`, an optional `%`) as basis points.
pub fn parse_percent(text: &str) -> Option<i64> {
    let t = text.trim().trim_end_matches('%').trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 5 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let frac_bp: i64 = format!("{frac:0<2}").parse().ok()?;
    Some(whole.parse::<i64>().ok()? * 100 + frac_bp)
}

fn show(kind: Kind, v: i64, cur: &Currency) -> String {
    match kind {
        Kind::Whole => v.to_string(),
        Kind::Money => cur.to_decimal(v),
        Kind::Percent => percent_text(v),
    }
}

impl PosForm {
    /// The stored settings as the form shows them.
    pub fn of(s: &PosSettings, cur: &Currency) -> Self {
        let v = stored(s);
        Self(std::array::from_fn(|i| show(FIELDS[i].3, v[i], cur)))
    }

    /// Read the posted form.
    pub fn from_form(f: &FormData) -> Self {
        Self(std::array::from_fn(|i| f.text(FIELDS[i].0)))
    }

    /// The settings, or the first refused field.
    pub fn settings(&self, cur: &Currency) -> Result<PosSettings, Problem> {
        let mut v = [0i64; 6];
        for (i, (input, label, _, kind, lo, hi)) in FIELDS.iter().enumerate() {
            let text = self.0[i].as_str();
            let problem = |what: String| Problem {
                input,
                text: format!("{label}: {what}"),
            };
            let range = || match kind {
                Kind::Whole => format!("use a whole number from {lo} to {hi}."),
                Kind::Money => format!(
                    "use an amount from {} to {}.",
                    cur.format(*lo),
                    cur.format(*hi)
                ),
                Kind::Percent => format!(
                    "use a percentage from {} to {}.",
                    percent_text(*lo),
                    percent_text(*hi)
                ),
            };
            let n = match kind {
                Kind::Whole => text.parse::<i64>().ok(),
                Kind::Money => cur.parse(input, text).ok(),
                Kind::Percent => parse_percent(text),
            };
            match n {
                Some(n) if (*lo..=*hi).contains(&n) => v[i] = n,
                _ => return Err(problem(range())),
            }
        }
        Ok(PosSettings {
            idle_lock_minutes: v[0],
            offline_grace_hours: v[1],
            offline_sale_limit_minor: v[2],
            cashier_discount_limit_bp: v[3],
            variance_threshold_minor: v[4],
            cash_out_approval_minor: v[5],
        })
    }
}

/// The input of a field the store named (`offline_sale_limit_minor` -> `offline_sale_limit`).
pub fn input_of(field: &str) -> &'static str {
    FIELDS
        .iter()
        .map(|f| f.0)
        .find(|i| field.starts_with(i))
        .unwrap_or("idle_lock_minutes")
}

/// "idle lock 5 -> 10 minutes; ..." for the audit log ("no change" when nothing did).
pub fn changes(old: &PosSettings, new: &PosSettings, cur: &Currency) -> String {
    let (a, b) = (stored(old), stored(new));
    let out: Vec<String> = FIELDS
        .iter()
        .enumerate()
        .filter(|(i, _)| a[*i] != b[*i])
        .map(|(i, f)| {
            format!(
                "{} {} -> {}",
                f.0,
                show(f.3, a[i], cur),
                show(f.3, b[i], cur)
            )
        })
        .collect();
    if out.is_empty() {
        "no change".into()
    } else {
        out.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp() -> Currency {
        Currency::from_code("GBP").unwrap()
    }

    #[test]
    fn percentages_round_trip() {
        for (text, bp) in [
            ("10", 1000),
            ("12.5", 1250),
            ("12.25", 1225),
            ("0", 0),
            ("100%", 10_000),
        ] {
            assert_eq!(parse_percent(text), Some(bp), "{text}");
        }
        assert_eq!(percent_text(1250), "12.5");
        assert_eq!(percent_text(1205), "12.05");
        for bad in ["", "-1", "1.234", "ten", ".5", "1e3"] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_reads_and_refuses_naming_the_field() {
        let cur = gbp();
        let f = PosForm::of(&PosSettings::default(), &cur);
        assert_eq!(f.0[2], "200.00");
        assert_eq!(f.settings(&cur).unwrap(), PosSettings::default());
        let mut bad = f.clone();
        bad.0[0] = "0".into();
        let p = bad.settings(&cur).unwrap_err();
        assert_eq!(p.input, "idle_lock_minutes");
        assert!(p.text.starts_with("Lock the till after"), "{}", p.text);
        assert!(p.text.contains("1 to 15"), "{}", p.text);
        let mut bad = f.clone();
        bad.0[2] = "lots".into();
        assert_eq!(bad.settings(&cur).unwrap_err().input, "offline_sale_limit");
        assert_eq!(
            input_of("cashier_discount_limit_bp"),
            "cashier_discount_limit"
        );
    }

    #[test]
    fn changes_name_what_moved() {
        let cur = gbp();
        let old = PosSettings::default();
        let new = PosSettings {
            idle_lock_minutes: 10,
            ..old
        };
        assert_eq!(changes(&old, &new, &cur), "idle_lock_minutes 5 -> 10");
        assert_eq!(changes(&old, &old, &cur), "no change");
    }
}
