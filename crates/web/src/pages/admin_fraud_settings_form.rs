//! The fraud settings form: its inputs and their labels, what was typed (kept after a
//! refusal), turning it into [`FraudSettings`] (amounts in the shop's currency, empty points
//! meaning the signal's default, one domain a line), and the audit log's description of a
//! change. Range checks are [`FraudSettings::validate`]'s, so the page and the API agree.

use std::collections::{BTreeMap, HashMap};

use storefort_core::fraud::{FraudSettings, Signal};
use storefort_core::money::Currency;

use super::render::FormData;

/// The thresholds and limits: (input name, label, hint, an amount in the shop's currency).
pub(super) const NUMBERS: &[(&str, &str, &str, bool)] = &[
    ("review_threshold", "Review threshold", "score 1-100 at which an order is held for a phone check (default 50)", false),
    ("block_threshold", "Block threshold", "score at which the payment is voided; at least the review threshold, at most 100 (default 85)", false),
    ("high_total", "High order total", "an order above this amount...", true),
    ("high_total_multiple", "Times the typical order", "...and above this many times the shop's typical order counts as high", false),
    ("expensive_quantity", "Units of expensive items", "more units than this of items priced in the shop's top tenth", false),
    ("new_customer", "Large first order", "a new customer's first order above this amount", true),
    ("velocity_window_minutes", "Velocity window (minutes)", "how far back the counts below look (1440 is a day)", false),
    ("velocity_orders", "Orders within the window", "more than this from the same email, internet address, card or device", false),
    ("velocity_failed_payments", "Failed payments within the window", "more than this", false),
    ("velocity_cards", "Different cards within the window", "more than this", false),
    ("velocity_addresses", "Different delivery addresses within the window", "more than this", false),
    ("loyal_paid_orders", "Paid orders for a loyal customer", "this many paid orders without refunds lowers the score", false),
    ("authorization_days", "Card authorisations last (days)", "how long your gateway keeps an authorisation; staff are warned a day before (default 7)", false),
];

/// A person's name for a settings input (or a field name the store used).
pub fn label(input: &str) -> String {
    if let Some(sig) = input.strip_prefix("points_").and_then(Signal::parse) {
        return format!("Points for \"{}\"", sig.label());
    }
    match input {
        "enabled" => "Screening".into(),
        "extra_disposable_domains" => "Extra throwaway domains".into(),
        "allowed_domains" => "Allowed domains".into(),
        other => NUMBERS
            .iter()
            .find(|n| n.0 == other)
            .map_or_else(|| super::render::field_label(other), |n| n.1.to_string()),
    }
}

/// The input a field named by [`FraudSettings::validate`] is typed into.
pub fn input_of(field: &str) -> String {
    match field {
        "high_total_minor" => "high_total".into(),
        "new_customer_minor" => "new_customer".into(),
        f => match f.strip_prefix("weights.") {
            Some(sig) => format!("points_{sig}"),
            None => f.to_string(),
        },
    }
}

/// A refused form: which form (`settings`, `rule-new`, `rule-edit`), which rule row, which
/// input, and the sentence shown.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The form.
    pub form: &'static str,
    /// The rule's ID, for `rule-edit`.
    pub row: String,
    /// The input's name.
    pub input: String,
    /// What went wrong, starting with the input's label.
    pub text: String,
}

impl Problem {
    /// A refusal of `input` in `form` with `message`.
    pub fn new(form: &'static str, input: &str, message: &str) -> Self {
        Self {
            form,
            row: String::new(),
            text: format!("{}: {message}", label(input)),
            input: input.to_string(),
        }
    }
}

/// The settings form as typed (every value as text).
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    /// Screening on.
    pub(super) enabled: bool,
    /// The thresholds and limits by input name.
    pub(super) values: HashMap<&'static str, String>,
    /// Points per signal, in [`Signal::ALL`] order.
    pub(super) points: Vec<String>,
    /// Extra throwaway domains, one a line.
    pub(super) extra_domains: String,
    /// Allowed domains, one a line.
    pub(super) allowed_domains: String,
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.clamp(0, i64::from(u32::MAX))).unwrap_or(u32::MAX)
}

impl SettingsForm {
    /// The form showing stored settings.
    pub(super) fn of(s: &FraudSettings, cur: &Currency) -> Self {
        let mut values = HashMap::new();
        for (name, v) in [
            ("review_threshold", s.review_threshold.to_string()),
            ("block_threshold", s.block_threshold.to_string()),
            ("high_total", cur.to_decimal(s.high_total_minor)),
            ("high_total_multiple", s.high_total_multiple.to_string()),
            ("expensive_quantity", s.expensive_quantity.to_string()),
            ("new_customer", cur.to_decimal(s.new_customer_minor)),
            (
                "velocity_window_minutes",
                s.velocity_window_minutes.to_string(),
            ),
            ("velocity_orders", s.velocity_orders.to_string()),
            (
                "velocity_failed_payments",
                s.velocity_failed_payments.to_string(),
            ),
            ("velocity_cards", s.velocity_cards.to_string()),
            ("velocity_addresses", s.velocity_addresses.to_string()),
            ("loyal_paid_orders", s.loyal_paid_orders.to_string()),
            ("authorization_days", s.authorization_days.to_string()),
        ] {
            values.insert(name, v);
        }
        Self {
            enabled: s.enabled,
            values,
            points: Signal::ALL
                .iter()
                .map(|g| s.points(*g).to_string())
                .collect(),
            extra_domains: s.extra_disposable_domains.join("\n"),
            allowed_domains: s.allowed_domains.join("\n"),
        }
    }

    /// The form as posted.
    pub(super) fn from_form(f: &FormData) -> Self {
        Self {
            enabled: f.checked("enabled"),
            values: NUMBERS.iter().map(|n| (n.0, f.text(n.0))).collect(),
            points: Signal::ALL
                .iter()
                .map(|g| f.text(&format!("points_{}", g.as_str())))
                .collect(),
            extra_domains: f.get("extra_disposable_domains").to_string(),
            allowed_domains: f.get("allowed_domains").to_string(),
        }
    }

    /// The trimmed value of an input.
    pub(super) fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", |v| v.trim())
    }

    /// The settings these values describe, or the refused input and why. Range checks are
    /// left to [`FraudSettings::validate`], so the form and the API say the same.
    pub(super) fn settings(&self, cur: &Currency) -> Result<FraudSettings, Problem> {
        let refuse = |input: &str, m: &str| Problem::new("settings", input, m);
        let whole = |name: &str| -> Result<i64, Problem> {
            let t = self.value(name);
            if t.is_empty() {
                return Err(refuse(name, "enter a number"));
            }
            t.parse::<i64>()
                .map_err(|_| refuse(name, "enter a whole number, like 5"))
        };
        let amount = |name: &str| -> Result<i64, Problem> {
            cur.parse(name, self.value(name))
                .map_err(|v| refuse(name, &v.message))
        };
        let mut weights = BTreeMap::new();
        for (sig, typed) in Signal::ALL.iter().zip(&self.points) {
            let input = format!("points_{}", sig.as_str());
            let t = typed.trim();
            if t.is_empty() {
                continue;
            }
            let p = t
                .parse::<i64>()
                .map_err(|_| refuse(&input, "enter whole points, like 25 or -30"))?;
            let p = i32::try_from(p.clamp(-1000, 1000)).unwrap_or(0);
            if p != sig.default_points() {
                weights.insert(*sig, p);
            }
        }
        let threshold = |name: &str| -> Result<u8, Problem> {
            Ok(u8::try_from(whole(name)?.clamp(0, 255)).unwrap_or(u8::MAX))
        };
        Ok(FraudSettings {
            enabled: self.enabled,
            review_threshold: threshold("review_threshold")?,
            block_threshold: threshold("block_threshold")?,
            weights,
            high_total_minor: amount("high_total")?,
            high_total_multiple: u32_of(whole("high_total_multiple")?),
            expensive_quantity: u32_of(whole("expensive_quantity")?),
            new_customer_minor: amount("new_customer")?,
            velocity_window_minutes: u32_of(whole("velocity_window_minutes")?),
            velocity_orders: u32_of(whole("velocity_orders")?),
            velocity_failed_payments: u32_of(whole("velocity_failed_payments")?),
            velocity_cards: u32_of(whole("velocity_cards")?),
            velocity_addresses: u32_of(whole("velocity_addresses")?),
            loyal_paid_orders: u32_of(whole("loyal_paid_orders")?),
            authorization_days: u32_of(whole("authorization_days")?),
            extra_disposable_domains: domains(&self.extra_domains),
            allowed_domains: domains(&self.allowed_domains),
        })
    }
}

/// One domain a line, lower case, blank lines and repeats dropped.
pub fn domains(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in text.lines().map(|l| l.trim().to_ascii_lowercase()) {
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// What changed, for the audit log (numbers, points and domain counts; nothing personal).
pub fn changes(old: &FraudSettings, new: &FraudSettings, cur: &Currency) -> String {
    let on = |b: bool| if b { "on" } else { "off" }.to_string();
    macro_rules! number {
        ($name:literal, $f:ident) => {
            ($name.to_string(), old.$f.to_string(), new.$f.to_string())
        };
    }
    macro_rules! money {
        ($name:literal, $f:ident) => {
            ($name.to_string(), cur.format(old.$f), cur.format(new.$f))
        };
    }
    let mut all = vec![
        ("screening".to_string(), on(old.enabled), on(new.enabled)),
        number!("review threshold", review_threshold),
        number!("block threshold", block_threshold),
        money!("high total", high_total_minor),
        number!("high total multiple", high_total_multiple),
        number!("expensive quantity", expensive_quantity),
        money!("new customer amount", new_customer_minor),
        number!("velocity window minutes", velocity_window_minutes),
        number!("velocity orders", velocity_orders),
        number!("velocity failed payments", velocity_failed_payments),
        number!("velocity cards", velocity_cards),
        number!("velocity addresses", velocity_addresses),
        number!("loyal paid orders", loyal_paid_orders),
        number!("authorization days", authorization_days),
    ];
    for sig in Signal::ALL {
        let (a, b) = (old.points(sig), new.points(sig));
        all.push((
            format!("points {}", sig.as_str()),
            a.to_string(),
            b.to_string(),
        ));
    }
    let mut out: Vec<String> = all
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(name, a, b)| format!("{name} {a} -> {b}"))
        .collect();
    let lists = [
        (
            "extra throwaway domains",
            &old.extra_disposable_domains,
            &new.extra_disposable_domains,
        ),
        (
            "allowed domains",
            &old.allowed_domains,
            &new.allowed_domains,
        ),
    ];
    for (name, a, b) in lists {
        if a != b {
            out.push(format!("{name}: {} -> {} entries", a.len(), b.len()));
        }
    }
    if out.is_empty() {
        "nothing changed".into()
    } else {
        out.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_become_settings() {
        let gbp = Currency::from_code("GBP").unwrap();
        let defaults = FraudSettings::default();
        let mut form = SettingsForm::of(&defaults, &gbp);
        assert_eq!(form.value("high_total"), "500.00");
        assert_eq!(form.settings(&gbp).unwrap(), defaults, "round trip");
        form.values.insert("high_total", "600".into());
        form.points[0] = "40".into();
        form.points[1] = String::new();
        form.extra_domains = " Spam.example \n\nspam.example\nother.test".into();
        let s = form.settings(&gbp).unwrap();
        assert_eq!(s.high_total_minor, 60_000);
        assert_eq!(s.points(Signal::AddressMismatch), 40);
        assert_eq!(s.weights.len(), 1, "defaults are not stored");
        assert_eq!(s.extra_disposable_domains, ["spam.example", "other.test"]);
        let text = changes(&defaults, &s, &gbp);
        assert!(text.contains("high total £500.00 -> £600.00"), "{text}");
        let was = Signal::AddressMismatch.default_points();
        assert!(
            text.contains(&format!("points address_mismatch {was} -> 40")),
            "{text}"
        );
        assert!(
            text.contains("extra throwaway domains: 0 -> 2 entries"),
            "{text}"
        );
        for (input, typed, named) in [
            ("review_threshold", "ten", "Review threshold"),
            ("velocity_cards", "", "Different cards"),
            ("high_total", "5.555", "High order total"),
        ] {
            let mut bad = SettingsForm::of(&defaults, &gbp);
            bad.values.insert(input, typed.into());
            let p = bad.settings(&gbp).unwrap_err();
            assert_eq!(p.input, input);
            assert!(p.text.starts_with(named), "{}", p.text);
        }
        assert_eq!(input_of("weights.cvc_failed"), "points_cvc_failed");
        assert_eq!(input_of("high_total_minor"), "high_total");
        assert!(label("points_cvc_failed").contains("CVC"));
    }
}
