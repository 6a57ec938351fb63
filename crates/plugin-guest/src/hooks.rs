//! The four hooks' inputs and outputs (interface version 1, `docs/PLUGINS.md`).
//!
//! Inputs default every field that may be absent (`#[serde(default)]`) and ignore fields they
//! do not know, since a later version 1 release may add some. Money is an integer count of the
//! currency's minor unit.

use serde::{Deserialize, Serialize};

/// The shop's currency: `{"code": "GBP", "exponent": 2}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Currency {
    /// ISO 4217 code, e.g. `GBP`.
    pub code: String,
    /// Digits after the decimal point: 2 for pence and cents.
    pub exponent: u32,
}

/// One line of a cart or an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Line {
    /// The product's stock-keeping unit.
    pub sku: String,
    /// The product's name, as the shopper sees it.
    pub name: String,
    /// Price of one item, in minor units.
    pub unit_price_minor: i64,
    /// How many.
    pub quantity: i64,
}

/// A web cart being priced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cart {
    /// Its lines.
    pub lines: Vec<Line>,
    /// The goods' value before discounts, in minor units.
    pub goods_minor: i64,
}

/// The `cart_adjust` hook's input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CartAdjustInput {
    /// Interface version (1).
    pub version: u32,
    /// The hook's name, `cart_adjust`.
    pub hook: String,
    /// The shop's currency.
    pub currency: Currency,
    /// The cart.
    pub cart: Cart,
}

/// One discount line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// 1–80 characters, no control characters.
    pub label: String,
    /// From 1 to the cart's `goods_minor`.
    pub amount_minor: i64,
}

/// The `cart_adjust` hook's output: at most 5 discounts (none is fine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartAdjustOutput {
    /// The discounts to add.
    pub discounts: Vec<Discount>,
}

/// A postal address (only with `read_personal_data`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Who it is for.
    pub name: String,
    /// First line.
    pub line1: String,
    /// Second line (may be empty).
    pub line2: String,
    /// Town or city.
    pub city: String,
    /// County, state or region (may be empty).
    pub region: String,
    /// Postcode or ZIP.
    pub postcode: String,
    /// ISO 3166 two-letter code.
    pub country: String,
}

/// The customer (only with `read_personal_data`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// Email address.
    pub email: String,
    /// Phone number, when the shopper gave one.
    pub phone: Option<String>,
    /// Billing address.
    pub billing: Option<Address>,
    /// Shipping address; `None` when it is the billing address.
    pub shipping: Option<Address>,
}

/// An order's lines and totals (only with `read_orders`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    /// Its lines.
    pub lines: Vec<Line>,
    /// The goods' value before discounts.
    pub goods_minor: i64,
    /// All discounts together.
    pub discount_minor: i64,
    /// Goods after discounts, before delivery.
    pub total_minor: i64,
}

/// The input of `checkout_validate`, `fraud_signal` and `order_created` (the fields a hook
/// does not get stay at their defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrderInput {
    /// Interface version (1).
    pub version: u32,
    /// The hook's name.
    pub hook: String,
    /// The shop's currency.
    pub currency: Currency,
    /// The delivery method chosen, e.g. `standard`.
    pub shipping_method: String,
    /// ISO 3166 two-letter code.
    pub billing_country: String,
    /// The billing country when the order ships to the billing address.
    pub shipping_country: String,
    /// The order's number (`fraud_signal`, `order_created`).
    pub order_number: Option<i64>,
    /// Where the order came from, e.g. `web` (`fraud_signal`, `order_created`).
    pub channel: String,
    /// When it was placed, UTC milliseconds (`order_created`).
    pub created_at: Option<i64>,
    /// With `read_orders`.
    pub order: Option<Order>,
    /// With `read_personal_data`.
    pub customer: Option<Customer>,
}

/// The `checkout_validate` hook's output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateOutput {
    /// Whether the order may be placed.
    pub accept: bool,
    /// Shown to the shopper when refused: 1–200 characters, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One fraud signal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// From -50 to 50.
    pub points: i32,
    /// 1–200 characters, shown to staff and stored unencrypted: never personal data.
    pub reason: String,
}

/// The `fraud_signal` hook's output: at most 5 signals (none is fine).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudOutput {
    /// The signals to add.
    pub signals: Vec<Signal>,
}

/// The `order_created` hook's output: a JSON object for the shop to POST to the approved
/// `webhook_url`, or `None` (`{"notify": null}`) to send nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotifyOutput {
    /// What to send.
    pub notify: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_serialize_as_the_docs_show() {
        let v = serde_json::to_string(&ValidateOutput {
            accept: true,
            message: None,
        })
        .unwrap();
        assert_eq!(v, r#"{"accept":true}"#);
        let n = serde_json::to_string(&NotifyOutput::default()).unwrap();
        assert_eq!(n, r#"{"notify":null}"#);
    }

    #[test]
    fn the_docs_checkout_input_deserializes() {
        let input = r#"{"version":1,"hook":"checkout_validate","currency":{"code":"GBP","exponent":2},
          "shipping_method":"standard","billing_country":"GB","shipping_country":"FR",
          "order":{"lines":[{"sku":"MUG-1","name":"Mug","unit_price_minor":1200,"quantity":2}],
            "goods_minor":2400,"discount_minor":0,"total_minor":2400},
          "customer":{"email":"ada@example.com","phone":null,
            "billing":{"name":"Ada Lovelace","line1":"1 High St","line2":"","city":"London",
              "region":"","postcode":"N1 1AA","country":"GB"},"shipping":null}}"#;
        let i: OrderInput = serde_json::from_str(input).unwrap();
        assert_eq!(i.currency.exponent, 2);
        assert_eq!(i.order.as_ref().map(|o| o.lines[0].quantity), Some(2));
        let c = i.customer.unwrap();
        assert_eq!(c.billing.map(|a| a.postcode), Some("N1 1AA".to_string()));
        assert!(c.phone.is_none() && c.shipping.is_none());
    }
}
