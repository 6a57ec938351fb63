//! Range checks for [`FraudSettings`], with messages a shop owner understands. Every error names
//! the field as the settings form and the API call it (`review_threshold`, `weights.cvc_failed`).

use super::domains::looks_like_domain;
use super::FraudSettings;
use crate::ValidationError;

/// Largest amount accepted for a money threshold: 10^12 minor units (ten billion pounds).
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;
/// Longest velocity window: 30 days in minutes.
const MAX_WINDOW_MINUTES: u32 = 43_200;
/// Most domains on either list.
const MAX_DOMAINS: usize = 1000;

/// Check every number is in range and every domain looks like one.
pub(super) fn validate(s: &FraudSettings) -> Result<(), ValidationError> {
    if !(1..=100).contains(&s.review_threshold) {
        return Err(ValidationError::new(
            "review_threshold",
            "must be a score from 1 to 100",
        ));
    }
    if s.block_threshold > 100 {
        return Err(ValidationError::new(
            "block_threshold",
            "must be a score up to 100",
        ));
    }
    if s.block_threshold < s.review_threshold {
        return Err(ValidationError::new(
            "block_threshold",
            format!(
                "must be at least the review threshold ({}): an order is held for review before it is blocked",
                s.review_threshold
            ),
        ));
    }
    for (signal, points) in &s.weights {
        if !(-100..=100).contains(points) {
            return Err(ValidationError::new(
                format!("weights.{}", signal.as_str()),
                format!(
                    "points for \"{}\" must be between -100 and 100",
                    signal.label()
                ),
            ));
        }
    }
    amount("high_total_minor", s.high_total_minor)?;
    amount("new_customer_minor", s.new_customer_minor)?;
    in_range(
        "high_total_multiple",
        s.high_total_multiple,
        1,
        100,
        "times the typical order",
    )?;
    in_range(
        "expensive_quantity",
        s.expensive_quantity,
        1,
        10_000,
        "units",
    )?;
    in_range(
        "velocity_window_minutes",
        s.velocity_window_minutes,
        1,
        MAX_WINDOW_MINUTES,
        "minutes (at most 30 days)",
    )?;
    for (field, v) in [
        ("velocity_orders", s.velocity_orders),
        ("velocity_failed_payments", s.velocity_failed_payments),
        ("velocity_cards", s.velocity_cards),
        ("velocity_addresses", s.velocity_addresses),
        ("loyal_paid_orders", s.loyal_paid_orders),
    ] {
        in_range(field, v, 1, 10_000, "")?;
    }
    in_range(
        "authorization_days",
        s.authorization_days,
        1,
        30,
        "days (card authorizations last at most 30 days)",
    )?;
    domain_list("extra_disposable_domains", &s.extra_disposable_domains)?;
    domain_list("allowed_domains", &s.allowed_domains)?;
    Ok(())
}

fn amount(field: &str, v: i64) -> Result<(), ValidationError> {
    if v < 0 {
        return Err(ValidationError::new(field, "must not be negative"));
    }
    if v > MAX_AMOUNT_MINOR {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_AMOUNT_MINOR} minor units"),
        ));
    }
    Ok(())
}

fn in_range(field: &str, v: u32, lo: u32, hi: u32, unit: &str) -> Result<(), ValidationError> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    Err(ValidationError::new(
        field,
        format!("must be from {lo} to {hi}{unit}"),
    ))
}

fn domain_list(field: &str, list: &[String]) -> Result<(), ValidationError> {
    if list.len() > MAX_DOMAINS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_DOMAINS} domains, please"),
        ));
    }
    for d in list {
        if !looks_like_domain(d.trim()) {
            // The value is a domain the owner typed, not personal data, so echoing it helps.
            let shown: String = d.chars().take(60).collect();
            return Err(ValidationError::new(
                field,
                format!("{shown:?} is not a domain; write it like example.com, without the @"),
            ));
        }
    }
    Ok(())
}

/// Every signal has a default weight in range (guards edits to `default_points`).
#[cfg(test)]
pub(super) fn defaults_in_range() -> bool {
    super::Signal::ALL
        .iter()
        .all(|s| (-100..=100).contains(&s.default_points()))
}
