//! What a custom rule sees: the variables of [`VARIABLES`] built from one order, in a CEL
//! scope below a shared table of the interpreter's functions.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use cel_interpreter::objects::{Key, Map};
use cel_interpreter::{Context, Value};

use super::{CheckResult, RiskInput};
use crate::customer::Address;

/// Every variable a rule can use, with what it holds (for the admin page).
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "order.total",
        "Order total in minor units (pence, cents): 50000 is 500.00",
    ),
    ("order.currency", "ISO currency code, e.g. \"GBP\""),
    ("order.units", "Total number of units ordered"),
    (
        "order.lines",
        "The lines: a list of {sku, price (minor units), quantity}",
    ),
    (
        "order.channel",
        "\"web\" (storefront), \"api\" (headless checkout) or \"pos\"",
    ),
    ("billing.name", "Billing name"),
    ("billing.country", "Billing country code, e.g. \"GB\""),
    ("billing.postcode", "Billing postcode"),
    ("billing.city", "Billing town or city"),
    (
        "shipping.name",
        "Delivery name (the billing one when collecting)",
    ),
    (
        "shipping.country",
        "Delivery country code (the billing one when collecting)",
    ),
    (
        "shipping.postcode",
        "Delivery postcode (the billing one when collecting)",
    ),
    (
        "shipping.city",
        "Delivery town or city (the billing one when collecting)",
    ),
    (
        "email.domain",
        "The email's domain in lower case, e.g. \"example.com\"",
    ),
    (
        "phone.country",
        "The phone number's country code, \"\" if the number is not valid",
    ),
    (
        "ip.country",
        "Country of the shopper's internet address, \"\" if unknown",
    ),
    ("customer.orders", "The customer's earlier orders"),
    ("customer.paid_orders", "Of those, paid"),
    ("customer.new", "true for a first order"),
    (
        "payment.cvc",
        "Security code check: \"pass\", \"fail\", \"unavailable\" or \"not_checked\"",
    ),
    (
        "payment.postcode",
        "Billing postcode check: same four values",
    ),
    ("payment.three_d_secure", "3-D Secure: same four values"),
    (
        "velocity.orders",
        "Orders from this email, IP, card or device within the window",
    ),
    (
        "velocity.failed_payments",
        "Failed payments within the window",
    ),
    ("velocity.cards", "Different cards within the window"),
    (
        "velocity.addresses",
        "Different delivery addresses within the window",
    ),
    (
        "shop.typical_order",
        "The shop's typical (median) order total, minor units",
    ),
];

/// The interpreter's functions, registered once; each evaluation adds its variables in a child
/// scope, so nothing is rebuilt per order but the variables.
pub(super) static ROOT: LazyLock<Context<'static>> = LazyLock::new(Context::default);

/// The variables of [`VARIABLES`] for one order, in a scope below `root`.
pub(super) fn context<'a>(
    root: &'a Context<'a>,
    input: &RiskInput,
    phone_country: &str,
) -> Context<'a> {
    let mut ctx = root.new_inner_scope();
    let units: i64 = input.lines.iter().map(|l| l.quantity).sum();
    let lines: Vec<Value> = input
        .lines
        .iter()
        .map(|l| {
            map([
                ("sku", text(&l.sku)),
                ("price", Value::Int(l.unit_price_minor)),
                ("quantity", Value::Int(l.quantity)),
            ])
        })
        .collect();
    let domain = input
        .email
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let h = &input.history;
    let v = &input.velocity;
    let c = &input.checks;
    let billing = place(&input.billing);
    let shipping = input
        .shipping
        .as_ref()
        .map(place)
        .unwrap_or_else(|| billing.clone());
    let vars = [
        (
            "order",
            map([
                ("total", Value::Int(input.total_minor)),
                ("currency", text(&input.currency)),
                ("units", Value::Int(units)),
                ("lines", Value::List(Arc::new(lines))),
                ("channel", text(&input.channel)),
            ]),
        ),
        ("billing", billing),
        ("shipping", shipping),
        ("email", map([("domain", text(&domain))])),
        ("phone", map([("country", text(phone_country))])),
        (
            "ip",
            map([("country", text(input.ip_country.as_deref().unwrap_or("")))]),
        ),
        (
            "customer",
            map([
                ("orders", Value::Int(h.orders.into())),
                ("paid_orders", Value::Int(h.paid_orders.into())),
                ("new", Value::Bool(h.orders == 0)),
            ]),
        ),
        (
            "payment",
            map([
                ("cvc", text(check(c.cvc))),
                ("postcode", text(check(c.postcode))),
                ("three_d_secure", text(check(c.three_d_secure))),
            ]),
        ),
        (
            "velocity",
            map([
                ("orders", Value::Int(v.orders.into())),
                ("failed_payments", Value::Int(v.failed_payments.into())),
                ("cards", Value::Int(v.distinct_cards.into())),
                ("addresses", Value::Int(v.distinct_addresses.into())),
            ]),
        ),
        (
            "shop",
            map([("typical_order", Value::Int(input.shop.typical_order_minor))]),
        ),
    ];
    for (name, value) in vars {
        ctx.add_variable_from_value(name, value);
    }
    ctx
}

fn place(a: &Address) -> Value {
    map([
        ("name", text(&a.name)),
        ("country", text(a.country.trim())),
        ("postcode", text(a.postcode.trim())),
        ("city", text(a.city.trim())),
    ])
}

fn check(c: CheckResult) -> &'static str {
    match c {
        CheckResult::Pass => "pass",
        CheckResult::Fail => "fail",
        CheckResult::Unavailable => "unavailable",
        CheckResult::NotChecked => "not_checked",
    }
}

fn text(s: &str) -> Value {
    Value::String(Arc::new(s.to_string()))
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let m: HashMap<Key, Value> = entries
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k.to_string())), v))
        .collect();
    Value::Map(Map { map: Arc::new(m) })
}
