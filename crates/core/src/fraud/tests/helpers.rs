//! Builders and short accessors for the fraud tests.

pub(super) use super::super::sample::{plain, risky};
use super::super::*;

/// One order line.
pub(super) fn line(sku: &str, price: i64, qty: i64) -> RiskLine {
    RiskLine {
        sku: sku.into(),
        unit_price_minor: price,
        quantity: qty,
    }
}

/// Another address for the same person (the plain sample's name) in `country`.
pub(super) fn other_address(country: &str) -> Address {
    Address {
        name: "Jane Doe".into(),
        line1: "4 Mill Lane".into(),
        line2: String::new(),
        city: "Manchester".into(),
        region: String::new(),
        postcode: "M1 2AB".into(),
        country: country.into(),
    }
}

/// Assess with default settings, no rules, the bundled domains.
pub(super) fn run(i: &RiskInput) -> Assessment {
    assess_with(i, &FraudSettings::default())
}

/// Assess with these settings.
pub(super) fn assess_with(i: &RiskInput, s: &FraudSettings) -> Assessment {
    let domains = DisposableDomains::new(&s.extra_disposable_domains, &s.allowed_domains);
    assess(i, s, &RuleSet::default(), &domains)
}

/// The codes that fired.
pub(super) fn codes(a: &Assessment) -> Vec<&str> {
    a.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// The sentence of one code; panics (fails the test) when it did not fire.
pub(super) fn text(a: &Assessment, code: &str) -> String {
    match a.reasons.iter().find(|r| r.code == code) {
        Some(r) => r.text.clone(),
        None => panic!("{code} did not fire: {a:?}"),
    }
}

/// The points of one code, if it fired.
pub(super) fn points(a: &Assessment, code: &str) -> Option<i32> {
    a.reasons.iter().find(|r| r.code == code).map(|r| r.points)
}
