//! The risk engine: every signal is checked, fired ones add their points and a sentence, custom
//! rules add theirs, and the clamped sum decides pass, review or block.
//!
//! Reason sentences carry countries, counts and amounts only: never the email address, phone
//! number, names or street, because reasons are stored unencrypted.

use super::address::{address_differences, same_address, same_name};
use super::{
    Assessment, CheckResult, Decision, DisposableDomains, FraudSettings, Reason, RiskInput,
    RuleSet, Signal,
};
use crate::money::Currency;

/// Score one order. Pure and quick (a few microseconds without custom rules; the phone number
/// parse is the largest part). With screening disabled the score is still worked out, but the
/// decision is always [`Decision::Pass`].
pub fn assess(
    input: &RiskInput,
    settings: &FraudSettings,
    rules: &RuleSet,
    domains: &DisposableDomains,
) -> Assessment {
    let mut out = Reasons {
        settings,
        list: Vec::new(),
    };
    let money = |minor: i64| money(&input.currency, minor);
    let billing = &input.billing;
    let billing_country = code(&billing.country);

    if let Some(ship) = &input.shipping {
        out.fire(Signal::AddressMismatch, || {
            if same_address(billing, ship) {
                return None;
            }
            let ship_country = code(&ship.country);
            if ship_country != billing_country {
                return Some(format!(
                    "Shipping to {ship_country}, billing in {billing_country}."
                ));
            }
            let mut parts: Vec<&str> = address_differences(billing, ship)
                .into_iter()
                .filter(|p| *p != "city")
                .collect();
            if parts.is_empty() {
                // Neither has a postcode: the town told them apart.
                parts.push("town");
            }
            Some(format!(
                "Shipping address differs from the billing address ({}), both in {billing_country}.",
                parts.join(", ")
            ))
        });
        out.fire(Signal::NameMismatch, || {
            (!same_name(&billing.name, &ship.name))
                .then(|| "Delivery name differs from the billing name.".to_string())
        });
    }

    let total = input.total_minor;
    out.fire(Signal::HighTotal, || {
        let typical = input.shop.typical_order_minor;
        let multiple = i64::from(settings.high_total_multiple);
        let above_typical = typical <= 0 || total > typical.saturating_mul(multiple);
        (total > settings.high_total_minor && above_typical).then(|| {
            let base = format!(
                "Order total {} is above {}",
                money(total),
                money(settings.high_total_minor)
            );
            if typical > 0 {
                format!(
                    "{base} and more than {multiple} times the typical order ({}).",
                    money(typical)
                )
            } else {
                format!("{base}.")
            }
        })
    });

    out.fire(Signal::ExpensiveQuantity, || {
        let floor = input.shop.expensive_price_minor;
        if floor <= 0 {
            return None;
        }
        let units: i64 = input
            .lines
            .iter()
            .filter(|l| l.unit_price_minor >= floor)
            .map(|l| l.quantity.max(0))
            .sum();
        (units > i64::from(settings.expensive_quantity)).then(|| {
            format!(
                "{units} units of items priced at {} or more (limit {}).",
                money(floor),
                settings.expensive_quantity
            )
        })
    });

    out.fire(Signal::NewCustomerLarge, || {
        (input.history.orders == 0 && total > settings.new_customer_minor).then(|| {
            format!(
                "First order from a new customer: {}, above {}.",
                money(total),
                money(settings.new_customer_minor)
            )
        })
    });

    // Parse the phone once (it is most of the engine's cost: 5-40 microseconds, +44 numbers
    // the dearest), and not at all when nothing would look at it; rules see the same answer.
    let phone = input.phone.trim();
    let needed = !rules.is_empty()
        || settings.points(Signal::PhoneInvalid) != 0
        || settings.points(Signal::PhoneCountry) != 0;
    let phone_country = if phone.is_empty() || !needed {
        None
    } else {
        crate::checkout::phone_country(phone)
    };
    out.fire(Signal::PhoneInvalid, || {
        if phone.is_empty() {
            // A till sale needs no phone; online checkout always asks for one.
            return (input.channel != "pos").then(|| "No phone number was given.".to_string());
        }
        phone_country
            .is_none()
            .then(|| "The phone number is not a valid number.".to_string())
    });
    out.fire(Signal::PhoneCountry, || {
        let pc = code(phone_country.as_deref()?);
        (billing_country != "?" && pc != billing_country)
            .then(|| format!("Phone number from {pc}, billing in {billing_country}."))
    });

    out.fire(Signal::DisposableEmail, || {
        domains
            .is_disposable(&input.email)
            .then(|| "The email address is at a throwaway (disposable) email provider.".to_string())
    });

    let v = &input.velocity;
    let window = window_text(settings.velocity_window_minutes);
    let velocity = [
        (
            Signal::VelocityOrders,
            v.orders,
            settings.velocity_orders,
            "orders from the same email, internet address, card or device",
        ),
        (
            Signal::VelocityFailedPayments,
            v.failed_payments,
            settings.velocity_failed_payments,
            "failed payments",
        ),
        (
            Signal::VelocityCards,
            v.distinct_cards,
            settings.velocity_cards,
            "different cards",
        ),
        (
            Signal::VelocityAddresses,
            v.distinct_addresses,
            settings.velocity_addresses,
            "different delivery addresses",
        ),
    ];
    for (signal, count, limit, what) in velocity {
        out.fire(signal, || {
            (count > limit).then(|| format!("{count} {what} within {window} (limit {limit})."))
        });
    }

    let checks = [
        (
            Signal::CvcFailed,
            input.checks.cvc,
            "The card's security code (CVC) did not match.",
        ),
        (
            Signal::PostcodeFailed,
            input.checks.postcode,
            "The billing postcode did not match the card's.",
        ),
        (
            Signal::ThreeDSecureFailed,
            input.checks.three_d_secure,
            "3-D Secure authentication failed.",
        ),
    ];
    for (signal, result, text) in checks {
        out.fire(signal, || {
            (result == CheckResult::Fail).then(|| text.to_string())
        });
    }

    out.fire(Signal::IpCountry, || {
        let ip = code(input.ip_country.as_deref()?);
        (ip != "?" && billing_country != "?" && ip != billing_country).then(|| {
            format!("Shopper's internet address is in {ip}, billing in {billing_country}.")
        })
    });

    out.fire(Signal::LoyalCustomer, || {
        let h = &input.history;
        (h.paid_orders >= settings.loyal_paid_orders && h.refunded_orders == 0).then(|| {
            format!(
                "Returning customer with {} paid orders and no refunds or disputes.",
                h.paid_orders
            )
        })
    });

    let mut reasons = out.list;
    for (rule, result) in rules.results(input, phone_country.as_deref().unwrap_or("")) {
        match result {
            Ok(true) if rule.points != 0 => reasons.push(Reason {
                code: format!("rule:{}", rule.name),
                points: rule.points,
                text: rule.reason.clone(),
            }),
            Ok(_) => {}
            // Skipped, never blocking the sale, but visible to staff (0 points).
            Err(()) => reasons.push(Reason {
                code: format!("rule_error:{}", rule.name),
                points: 0,
                text: format!(
                    "Custom rule \"{}\" could not be evaluated for this order and was skipped.",
                    rule.name
                ),
            }),
        }
    }
    // Stable: equal points keep the order signals are listed in.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.points));
    if !settings.enabled {
        // Scored for the record, not acted on: say so first, so no one reads "passed".
        reasons.insert(
            0,
            Reason {
                code: "screening_off".into(),
                points: 0,
                text: "Screening was off: the payment was taken without a check.".into(),
            },
        );
    }
    decide(reasons, settings)
}

/// Add reasons from outside the engine (plugins' signals) to an assessment: the score and the
/// decision are worked out again from all the reasons.
pub fn with_extra(a: Assessment, extra: Vec<Reason>, settings: &FraudSettings) -> Assessment {
    if extra.is_empty() {
        return a;
    }
    let mut reasons = a.reasons;
    reasons.extend(extra);
    // Keep "screening was off" first; the rest highest points first.
    let off = reasons.first().is_some_and(|r| r.code == "screening_off");
    let start = usize::from(off);
    reasons[start..].sort_by_key(|r| std::cmp::Reverse(r.points));
    decide(reasons, settings)
}

/// The clamped sum of the reasons' points, and what it decides.
fn decide(reasons: Vec<Reason>, settings: &FraudSettings) -> Assessment {
    let sum: i64 = reasons.iter().map(|r| i64::from(r.points)).sum();
    let score = u8::try_from(sum.clamp(0, 100)).unwrap_or(100);
    let decision = if !settings.enabled {
        Decision::Pass
    } else if score >= settings.block_threshold {
        Decision::Block
    } else if score >= settings.review_threshold {
        Decision::Review
    } else {
        Decision::Pass
    };
    Assessment {
        score,
        reasons,
        decision,
    }
}

/// Collects fired signals; a signal weighted 0 is not even checked.
struct Reasons<'a> {
    settings: &'a FraudSettings,
    list: Vec<Reason>,
}

impl Reasons<'_> {
    fn fire(&mut self, signal: Signal, check: impl FnOnce() -> Option<String>) {
        let points = self.settings.points(signal);
        if points == 0 {
            return;
        }
        if let Some(text) = check() {
            self.list.push(Reason {
                code: signal.as_str().to_string(),
                points,
                text,
            });
        }
    }
}

/// An ISO country code as given (`GB`), or `?` for anything else, so that a reason never
/// repeats free text typed into a country field.
fn code(country: &str) -> &str {
    let c = country.trim();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
        c
    } else {
        "?"
    }
}

/// `£450.00` for a known currency, else `450.00 XYZ`.
fn money(currency: &str, minor: i64) -> String {
    match Currency::from_code(currency) {
        Ok(c) => c.format(minor),
        Err(_) => {
            let sign = if minor < 0 { "-" } else { "" };
            let abs = minor.unsigned_abs();
            let code = currency.trim();
            let code = if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                code
            } else {
                "(unknown currency)"
            };
            format!("{sign}{}.{:02} {code}", abs / 100, abs % 100)
        }
    }
}

/// "24 hours", "30 minutes", "2 days".
fn window_text(minutes: u32) -> String {
    let plural = |n: u32, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if minutes.is_multiple_of(1440) && minutes > 1440 {
        plural(minutes / 1440, "day")
    } else if minutes.is_multiple_of(60) {
        plural(minutes / 60, "hour")
    } else {
        plural(minutes, "minute")
    }
}
