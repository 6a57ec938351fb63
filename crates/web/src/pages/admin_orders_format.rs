//! Words and numbers for the order pages: amounts in the order's currency, tax rates as
//! percentages, addresses as lines, timeline entry names and the gateway's checks.

use storefort_core::customer::Address;
use storefort_core::money::Currency;

use crate::AppState;

/// An amount in the order's currency (the shop's when the code is unknown).
pub fn money(state: &AppState, currency: &str, minor: i64) -> String {
    Currency::from_code(currency)
        .unwrap_or(state.cfg.currency)
        .format(minor)
}

/// Basis points as a percentage: 2000 -> `20%`, 1250 -> `12.5%`.
pub fn percent(bp: i64) -> String {
    let whole = bp / 100;
    let frac = (bp % 100).abs();
    match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

/// An address as its non-empty lines; `none` when there is no address.
pub fn address_lines(a: Option<&Address>, none: &str) -> Vec<String> {
    match a {
        Some(a) => [
            &a.name,
            &a.line1,
            &a.line2,
            &a.city,
            &a.region,
            &a.postcode,
            &a.country,
        ]
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect(),
        None => vec![none.to_string()],
    }
}

/// The timeline's name for an event kind (`capture` -> `Payment taken`).
pub fn event_label(kind: &str) -> String {
    match kind {
        "created" => "Order placed".into(),
        "authorize" => "Payment authorised".into(),
        "hold" => "Put on hold".into(),
        "release" => "Released from hold".into(),
        "capture" => "Payment taken".into(),
        "mark_paid" => "Marked as paid".into(),
        "fulfil" => "Fulfilled".into(),
        "cancel" => "Cancelled".into(),
        "expire" => "Expired unpaid".into(),
        "refund" => "Refund".into(),
        "note" => "Note".into(),
        "email" => "Email".into(),
        other => other.replace('_', " "),
    }
}

/// The gateway's checks as words: `CVC pass, postcode fail, 3-D Secure not checked`.
pub fn checks_text(v: &serde_json::Value) -> String {
    let Some(map) = v.as_object() else {
        return "-".into();
    };
    let name = |k: &str| match k {
        "cvc" => "CVC".to_string(),
        "postcode" => "postcode".to_string(),
        "three_d_secure" => "3-D Secure".to_string(),
        other => other.replace('_', " "),
    };
    let parts: Vec<String> = map
        .iter()
        .filter_map(|(k, v)| {
            v.as_str()
                .map(|s| format!("{} {}", name(k), s.replace('_', " ")))
        })
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_checks() {
        assert_eq!(percent(2000), "20%");
        assert_eq!(percent(1250), "12.5%");
        assert_eq!(percent(725), "7.25%");
        assert_eq!(percent(5), "0.05%");
        assert_eq!(percent(0), "0%");
        let v =
            serde_json::json!({"cvc": "pass", "postcode": "fail", "three_d_secure": "not_checked"});
        assert_eq!(
            checks_text(&v),
            "CVC pass, postcode fail, 3-D Secure not checked"
        );
        assert_eq!(checks_text(&serde_json::Value::Null), "-");
        assert_eq!(event_label("capture"), "Payment taken");
        assert_eq!(event_label("new_thing"), "new thing");
    }

    #[test]
    fn addresses_as_lines() {
        let a = Address {
            name: "Ann".into(),
            line1: "1 Road".into(),
            city: "Bath".into(),
            country: "GB".into(),
            ..Default::default()
        };
        assert_eq!(
            address_lines(Some(&a), "-"),
            ["Ann", "1 Road", "Bath", "GB"]
        );
        assert_eq!(address_lines(None, "erased"), ["erased"]);
    }
}
