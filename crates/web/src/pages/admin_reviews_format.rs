//! Words and rows for the review pages: the time left on an authorization, the phone number
//! as a `tel:` link, billing and shipping side by side with the differing parts marked, the
//! card checks, and where screening and the review stand.

use storefort_core::checkout::normalize_phone;
use storefort_core::customer::{Address, OrderRecord};
use storefort_core::fraud::{address_differences, same_name, CheckResult, Decision, PaymentChecks};
use storefort_store::reviews::OrderRisk;

use super::render::utc;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// How long a card authorization has left, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeLeft {
    /// "2 days 4 hours left", "runs out in 5 hours", "ran out".
    pub text: String,
    /// Less than a day left (or none): shown as a warning.
    pub soon: bool,
    /// Already ran out.
    pub gone: bool,
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// The time from `now` until `at` (UTC ms) as staff read it.
pub fn time_left(now: i64, at: i64) -> TimeLeft {
    let ms = at - now;
    if ms <= 0 {
        return TimeLeft {
            text: "ran out".into(),
            soon: true,
            gone: true,
        };
    }
    if ms < DAY_MS {
        let text = if ms >= HOUR_MS {
            format!("runs out in {}", plural(ms / HOUR_MS, "hour"))
        } else {
            // Round minutes up: "in 0 minutes" would read as already gone.
            format!("runs out in {}", plural((ms + 59_999) / 60_000, "minute"))
        };
        return TimeLeft {
            text,
            soon: true,
            gone: false,
        };
    }
    let (days, hours) = (ms / DAY_MS, (ms % DAY_MS) / HOUR_MS);
    let text = if hours == 0 {
        format!("{} left", plural(days, "day"))
    } else {
        format!("{} {} left", plural(days, "day"), plural(hours, "hour"))
    };
    TimeLeft {
        text,
        soon: false,
        gone: false,
    }
}

/// One part of the two addresses, side by side.
pub struct AddressRow {
    /// The part ("Postcode").
    pub field: &'static str,
    /// Billing's.
    pub billing: String,
    /// Shipping's.
    pub shipping: String,
    /// The two differ (marked on the page).
    pub differs: bool,
}

/// One of the gateway's card checks.
pub struct CheckRow {
    /// The check.
    pub name: &'static str,
    /// "pass", "fail", "not checked", ...
    pub result: &'static str,
    /// Failed (shown as a warning).
    pub failed: bool,
}

/// What screening decided, in words.
pub fn decision_text(d: Option<Decision>) -> &'static str {
    match d {
        Some(Decision::Pass) => "Passed screening (below the review threshold)",
        Some(Decision::Review) => "Held for a phone check",
        Some(Decision::Block) => "Blocked: the card authorization was voided",
        None => "Not screened yet",
    }
}

/// Where the review stands, with who decided and when.
pub fn state_text(r: &OrderRisk) -> Option<String> {
    let what = match r.review.as_deref()? {
        "open" => return Some("Waiting for a phone check".into()),
        "approved" => "Approved",
        "cancelled" => "Cancelled",
        "pay_again" => "Customer asked to pay again",
        other => return Some(other.replace('_', " ")),
    };
    let by = r.decided_by.as_deref().unwrap_or("someone");
    Some(match r.decided_at {
        Some(at) => format!("{what} by {by} on {} UTC", utc(at)),
        None => format!("{what} by {by}"),
    })
}

/// The card checks as rows.
pub fn check_rows(c: &PaymentChecks) -> Vec<CheckRow> {
    let word = |r: CheckResult| match r {
        CheckResult::Pass => "pass",
        CheckResult::Fail => "fail",
        CheckResult::Unavailable => "not available from the card's bank",
        CheckResult::NotChecked => "not checked",
    };
    [
        ("Security code (CVC)", c.cvc),
        ("Billing postcode", c.postcode),
        ("3-D Secure", c.three_d_secure),
    ]
    .into_iter()
    .map(|(name, r)| CheckRow {
        name,
        result: word(r),
        failed: r == CheckResult::Fail,
    })
    .collect()
}

/// The number as E.164 for a `tel:` link (read in the billing country when typed without a
/// country code); `None` when it is not a number that can be dialled.
pub fn tel_of(phone: &str, billing_country: &str) -> Option<String> {
    if phone.trim().is_empty() {
        return None;
    }
    normalize_phone(phone, billing_country).ok()
}

fn street(a: &Address) -> String {
    [a.line1.trim(), a.line2.trim()]
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Billing and shipping field by field, the parts that differ marked (parts empty in both
/// left out).
pub fn address_rows(billing: &Address, shipping: &Address) -> Vec<AddressRow> {
    let diff = address_differences(billing, shipping);
    let row = |field, b: String, s: String, differs: bool| AddressRow {
        field,
        billing: b,
        shipping: s,
        differs,
    };
    let rows = vec![
        row(
            "Name",
            billing.name.clone(),
            shipping.name.clone(),
            !same_name(&billing.name, &shipping.name),
        ),
        row(
            "Street",
            street(billing),
            street(shipping),
            diff.contains(&"street"),
        ),
        row(
            "Town or city",
            billing.city.clone(),
            shipping.city.clone(),
            diff.contains(&"city"),
        ),
        row(
            "County, state or region",
            billing.region.clone(),
            shipping.region.clone(),
            false,
        ),
        row(
            "Postcode",
            billing.postcode.clone(),
            shipping.postcode.clone(),
            diff.contains(&"postcode"),
        ),
        row(
            "Country",
            billing.country.clone(),
            shipping.country.clone(),
            diff.contains(&"country"),
        ),
    ];
    rows.into_iter()
        .filter(|r| r.differs || !(r.billing.trim().is_empty() && r.shipping.trim().is_empty()))
        .collect()
}

/// The billing and shipping rows, and whether the order is collected (nothing to compare).
pub fn addresses(r: &OrderRecord) -> (Vec<AddressRow>, bool) {
    match (&r.billing, &r.shipping) {
        (Some(b), Some(s)) => (address_rows(b, s), false),
        // Collection: only the billing address, nothing to compare.
        (Some(b), None) => (address_rows(b, b), true),
        _ => (Vec::new(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_in_words() {
        let now = 1_000_000_000;
        let t = |ms: i64| time_left(now, now + ms);
        assert_eq!(
            t(2 * DAY_MS + 4 * HOUR_MS + 59_000).text,
            "2 days 4 hours left"
        );
        assert_eq!(t(DAY_MS).text, "1 day left");
        assert_eq!(t(7 * DAY_MS).text, "7 days left");
        assert_eq!(t(DAY_MS + HOUR_MS).text, "1 day 1 hour left");
        assert!(!t(DAY_MS).soon);
        let five = t(5 * HOUR_MS + 10);
        assert_eq!(
            (five.text.as_str(), five.soon, five.gone),
            ("runs out in 5 hours", true, false)
        );
        assert_eq!(t(HOUR_MS).text, "runs out in 1 hour");
        assert_eq!(t(59 * 60_000).text, "runs out in 59 minutes");
        assert_eq!(t(1).text, "runs out in 1 minute");
        let gone = t(0);
        assert_eq!(
            (gone.text.as_str(), gone.soon, gone.gone),
            ("ran out", true, true)
        );
        assert!(t(-DAY_MS).gone);
    }

    fn addr(name: &str, line1: &str, city: &str, postcode: &str, country: &str) -> Address {
        Address {
            name: name.into(),
            line1: line1.into(),
            city: city.into(),
            postcode: postcode.into(),
            country: country.into(),
            ..Default::default()
        }
    }

    #[test]
    fn differing_parts_are_marked() {
        let b = addr("Ann Example", "12 Quay Street", "Bristol", "BS1 4DJ", "GB");
        let s = addr("ann example", "3 Rue de Rivoli", "Paris", "75001", "FR");
        let rows = address_rows(&b, &s);
        assert!(
            rows.iter().all(|r| r.field != "County, state or region"),
            "empty in both"
        );
        let marked: Vec<_> = rows.iter().filter(|r| r.differs).map(|r| r.field).collect();
        assert_eq!(marked, ["Street", "Town or city", "Postcode", "Country"]);
        let same = address_rows(
            &b,
            &addr("Mr Ann Example", "12 quay st.", "Bristol", "bs14dj", "gb"),
        );
        assert!(same.iter().all(|r| !r.differs));
    }

    #[test]
    fn phones_become_tel_links_only_when_dialable() {
        assert_eq!(
            tel_of("+44 20 7946 0958", "GB").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            tel_of("020 7946 0958", "GB").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(tel_of("12", "GB"), None);
        assert_eq!(tel_of("", "GB"), None);
        assert_eq!(tel_of("javascript:alert(1)", "GB"), None);
    }
}
