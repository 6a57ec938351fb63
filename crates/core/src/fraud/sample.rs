//! Sample orders: custom rules are evaluated on them when saved, and tests start from them.

use super::{
    CheckResult, CustomerHistory, PaymentChecks, RiskInput, RiskLine, ShopStats, Velocity,
};
use crate::customer::Address;

/// A plain order (a returning customer, one item, delivered to the billing address) and a
/// risky one (a new customer, many expensive units, shipped abroad, failed checks).
pub(super) fn plain_and_risky() -> [RiskInput; 2] {
    [plain(), risky()]
}

/// A returning UK customer buying one £25 item, delivered to the billing address.
pub(super) fn plain() -> RiskInput {
    let home = Address {
        name: "Jane Doe".into(),
        line1: "10 High Street".into(),
        line2: String::new(),
        city: "London".into(),
        region: String::new(),
        postcode: "SW1A 1AA".into(),
        country: "GB".into(),
    };
    RiskInput {
        total_minor: 2_500,
        currency: "GBP".into(),
        channel: "web".into(),
        lines: vec![RiskLine {
            sku: "MUG-1".into(),
            unit_price_minor: 2_500,
            quantity: 1,
        }],
        email: "jane@example.com".into(),
        phone: "+442079460958".into(),
        billing: home.clone(),
        shipping: Some(home),
        checks: PaymentChecks {
            cvc: CheckResult::Pass,
            postcode: CheckResult::Pass,
            three_d_secure: CheckResult::NotChecked,
        },
        ip_country: Some("GB".into()),
        history: CustomerHistory {
            orders: 1,
            paid_orders: 1,
            refunded_orders: 0,
        },
        velocity: Velocity {
            orders: 1,
            failed_payments: 0,
            distinct_cards: 1,
            distinct_addresses: 1,
        },
        shop: ShopStats {
            typical_order_minor: 4_000,
            expensive_price_minor: 45_000,
        },
    }
}

/// A new customer buying 12 of the shop's dearest item, shipped to France, checks failing.
pub(super) fn risky() -> RiskInput {
    let mut r = plain();
    r.lines = vec![RiskLine {
        sku: "POLISHER-XL".into(),
        unit_price_minor: 45_000,
        quantity: 12,
    }];
    r.total_minor = 540_000;
    r.shipping = Some(Address {
        name: "A Friend".into(),
        line1: "5 Rue de Rivoli".into(),
        line2: String::new(),
        city: "Paris".into(),
        region: String::new(),
        postcode: "75001".into(),
        country: "FR".into(),
    });
    r.phone = "+12025550143".into();
    r.email = "x@mailinator.com".into();
    r.checks = PaymentChecks {
        cvc: CheckResult::Fail,
        postcode: CheckResult::Unavailable,
        three_d_secure: CheckResult::Fail,
    };
    r.ip_country = None;
    r.history = CustomerHistory::default();
    r.velocity = Velocity {
        orders: 6,
        failed_payments: 4,
        distinct_cards: 3,
        distinct_addresses: 3,
    };
    r
}
