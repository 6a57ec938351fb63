//! The order list's filters: read from the query string, checked (a refused one names its
//! field), turned into the store's [`OrderFilter`], and written back into links and the audit
//! entry.

pub use super::render::day_start;
use std::collections::HashMap;

use storefort_core::ids::CustomerId;
use storefort_core::order_state::OrderStatus;
use storefort_store::order_read::OrderFilter;

use crate::AppState;

/// Channels an order can come from.
pub const CHANNELS: [(&str, &str); 3] =
    [("web", "Web shop"), ("api", "API"), ("pos", "Till (POS)")];
/// Payment methods an order may carry even when the gateway is not configured any more.
const KNOWN_METHODS: [&str; 4] = ["cash", "manual", "sandbox", "stripe"];

/// The filters as typed (kept in the form) and as the store takes them.
#[derive(Default)]
pub struct Filters {
    /// Status (stored name), as typed.
    pub status: String,
    /// From date, as typed.
    pub from: String,
    /// To date (inclusive), as typed.
    pub to: String,
    /// Channel, as typed.
    pub channel: String,
    /// Payment method (gateway ID), as typed.
    pub payment: String,
    /// Customer ID, as typed.
    pub customer: String,
    /// What the store is asked for.
    pub store: OrderFilter,
}

impl Filters {
    /// The query parameters that reproduce these filters (for the next-page link).
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        [
            ("status", self.status.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("channel", self.channel.as_str()),
            ("payment", self.payment.as_str()),
            ("customer", self.customer.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Which filters are set, for the audit entry (status, channel and method values are not
    /// personal; the customer is only named as a filter).
    pub fn described(&self) -> String {
        let mut out = Vec::new();
        for (name, v) in [
            ("status", &self.status),
            ("channel", &self.channel),
            ("payment", &self.payment),
        ] {
            if !v.is_empty() {
                out.push(format!("{name}={v}"));
            }
        }
        for (name, v) in [("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() {
                out.push(format!("{name}={v}"));
            }
        }
        if !self.customer.is_empty() {
            out.push("one customer".into());
        }
        if out.is_empty() {
            "no filters".into()
        } else {
            format!("filters: {}", out.join(", "))
        }
    }
}

/// A refused filter: the input's name and the sentence shown.
pub struct Refusal {
    /// The input's name.
    pub field: &'static str,
    /// The sentence shown.
    pub text: String,
}

/// A refusal of `field` (labelled `label`) saying `message`.
pub fn refuse(field: &'static str, label: &str, message: &str) -> Refusal {
    Refusal {
        field,
        text: format!("{label}: {message}"),
    }
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The payment methods to filter by: the configured gateways (with their labels), then the
/// other known ones.
pub fn known_methods(state: &AppState) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = state
        .gateways
        .all()
        .iter()
        .map(|g| (g.id().to_string(), g.label()))
        .collect();
    for id in KNOWN_METHODS {
        if !out.iter().any(|(i, _)| i == id) {
            out.push((id.to_string(), id.to_string()));
        }
    }
    out
}

/// Read and check the filters of the query string `q` (`per_page` orders a page).
pub fn read_filters(
    state: &AppState,
    q: &HashMap<String, String>,
    per_page: i64,
) -> (Filters, Option<Refusal>) {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut f = Filters {
        status: get("status"),
        from: get("from"),
        to: get("to"),
        channel: get("channel"),
        payment: get("payment"),
        customer: get("customer"),
        store: OrderFilter {
            limit: Some(per_page),
            ..Default::default()
        },
    };
    let mut refusal = None;
    if !f.status.is_empty() {
        match OrderStatus::parse(&f.status) {
            Some(s) => f.store.status = Some(s.as_str().into()),
            None => {
                refusal = Some(refuse(
                    "status",
                    "Status",
                    "choose one of the listed statuses",
                ))
            }
        }
    }
    if !f.channel.is_empty() {
        if CHANNELS.iter().any(|(c, _)| *c == f.channel) {
            f.store.channel = Some(f.channel.clone());
        } else {
            refusal = Some(refuse("channel", "Channel", "choose web shop, API or till"));
        }
    }
    if !f.payment.is_empty() {
        if known_methods(state).iter().any(|(id, _)| *id == f.payment) {
            f.store.payment_method = Some(f.payment.clone());
        } else {
            refusal = Some(refuse(
                "payment",
                "Payment method",
                "choose one of the listed methods",
            ));
        }
    }
    for (field, label) in [("from", "From date"), ("to", "To date")] {
        let text = if field == "from" { &f.from } else { &f.to };
        if text.is_empty() {
            continue;
        }
        match day_start(text) {
            // "To" includes the whole day.
            Some(ms) if field == "to" => f.store.to = Some(ms + DAY_MS),
            Some(ms) => f.store.from = Some(ms),
            None => {
                refusal = Some(refuse(
                    field,
                    label,
                    "enter a date like 2025-03-31 (YYYY-MM-DD)",
                ))
            }
        }
    }
    if let (Some(a), Some(b)) = (f.store.from, f.store.to) {
        if a >= b {
            refusal = Some(refuse("to", "To date", "must be on or after the from date"));
        }
    }
    if !f.customer.is_empty() {
        f.store.customer_id = Some(CustomerId(f.customer.clone()));
    }
    (f, refusal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_utc_days() {
        assert_eq!(day_start("1970-01-02"), Some(DAY_MS));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800_000));
        for bad in [
            "",
            "2024-2-29",
            "2023-02-29",
            "2024-13-01",
            "24-01-01",
            "2024-01-01-01",
            "x",
        ] {
            assert_eq!(day_start(bad), None, "{bad}");
        }
    }
}
