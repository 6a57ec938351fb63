//! The four hooks (interface version 1, documented in `docs/PLUGINS.md`): their inputs, built
//! with only what the plugin's permissions allow, and their outputs, checked before the shop
//! uses them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use storefort_core::customer::Address;

use crate::{Permission, PluginError};

/// Where a plugin can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// Add discount lines to a web cart.
    CartAdjust,
    /// Accept or refuse a checkout before the order is placed.
    CheckoutValidate,
    /// Add points to fraud screening.
    FraudSignal,
    /// Build a notification the shop sends to the approved webhook address.
    OrderCreated,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Hook; 4] = [
        Hook::CartAdjust,
        Hook::CheckoutValidate,
        Hook::FraudSignal,
        Hook::OrderCreated,
    ];

    /// The name in manifests and inputs (`cart_adjust`).
    pub fn name(self) -> &'static str {
        match self {
            Hook::CartAdjust => "cart_adjust",
            Hook::CheckoutValidate => "checkout_validate",
            Hook::FraudSignal => "fraud_signal",
            Hook::OrderCreated => "order_created",
        }
    }

    /// Parse [`Hook::name`].
    pub fn parse(s: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == s)
    }

    /// The function the module exports for it.
    pub fn export(self) -> &'static str {
        match self {
            Hook::CartAdjust => "cart_adjust_v1",
            Hook::CheckoutValidate => "checkout_validate_v1",
            Hook::FraudSignal => "fraud_signal_v1",
            Hook::OrderCreated => "order_created_v1",
        }
    }

    /// The permission a plugin needs to implement it.
    pub fn permission(self) -> Permission {
        match self {
            Hook::CartAdjust => Permission::ChangeCartPrices,
            Hook::CheckoutValidate => Permission::ReadOrders,
            Hook::FraudSignal => Permission::AddFraudSignal,
            Hook::OrderCreated => Permission::Webhook,
        }
    }

    /// What the owner reads: "runs when a cart is priced".
    pub fn words(self) -> &'static str {
        match self {
            Hook::CartAdjust => "adds discounts when a cart is priced",
            Hook::CheckoutValidate => "may refuse an order at checkout, with a message",
            Hook::FraudSignal => "adds points to fraud screening",
            Hook::OrderCreated => "sends a notification when an order is placed",
        }
    }
}

/// A cart or order line as plugins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineFacts {
    /// SKU.
    pub sku: String,
    /// Product name.
    pub name: String,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
    /// How many.
    pub quantity: i64,
}

/// Everything a hook about an order could be given; [`OrderFacts::input`] keeps what the
/// plugin may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFacts {
    /// The order's number (none before it is placed).
    pub order_number: Option<i64>,
    /// `web` or `pos`.
    pub channel: String,
    /// When it was placed (UTC ms).
    pub created_at: Option<i64>,
    /// Delivery method ID.
    pub shipping_method: String,
    /// Lines.
    pub lines: Vec<LineFacts>,
    /// Goods before discount.
    pub goods_minor: i64,
    /// Discount on goods.
    pub discount_minor: i64,
    /// Goods after discount (validation), or what the shopper pays (later hooks).
    pub total_minor: i64,
    /// Personal data.
    pub email: String,
    /// Personal data.
    pub phone: String,
    /// Personal data.
    pub billing: Address,
    /// Personal data; `None` when shipping to the billing address (or not shipping).
    pub shipping: Option<Address>,
}

/// The header every input starts with.
fn header(hook: Hook, currency: &storefort_core::money::Currency) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("version".into(), json!(1));
    m.insert("hook".into(), json!(hook.name()));
    m.insert(
        "currency".into(),
        json!({"code": currency.code, "exponent": currency.exponent}),
    );
    m
}

/// The `cart_adjust` input.
pub fn cart_input(
    lines: &[LineFacts],
    goods_minor: i64,
    currency: &storefort_core::money::Currency,
) -> Value {
    let mut m = header(Hook::CartAdjust, currency);
    m.insert(
        "cart".into(),
        json!({"lines": lines, "goods_minor": goods_minor}),
    );
    Value::Object(m)
}

impl OrderFacts {
    /// The input for `hook`, holding only what `granted` allows: the order's lines and totals
    /// need `read_orders`; email, phone, names and addresses need `read_personal_data`.
    pub fn input(
        &self,
        hook: Hook,
        granted: &[Permission],
        currency: &storefort_core::money::Currency,
    ) -> Value {
        let mut m = header(hook, currency);
        let ship = self.shipping.as_ref().unwrap_or(&self.billing);
        m.insert("shipping_method".into(), json!(self.shipping_method));
        m.insert("billing_country".into(), json!(self.billing.country));
        m.insert("shipping_country".into(), json!(ship.country));
        if hook != Hook::CheckoutValidate {
            m.insert("order_number".into(), json!(self.order_number));
            m.insert("channel".into(), json!(self.channel));
            m.insert("created_at".into(), json!(self.created_at));
        }
        if granted.contains(&Permission::ReadOrders) {
            m.insert(
                "order".into(),
                json!({
                    "lines": self.lines,
                    "goods_minor": self.goods_minor,
                    "discount_minor": self.discount_minor,
                    "total_minor": self.total_minor,
                }),
            );
        }
        if granted.contains(&Permission::ReadPersonalData) {
            m.insert(
                "customer".into(),
                json!({
                    "email": self.email,
                    "phone": self.phone,
                    "billing": self.billing,
                    "shipping": self.shipping,
                }),
            );
        }
        Value::Object(m)
    }
}

/// A discount line from `cart_adjust`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discount {
    /// What the shopper reads.
    pub label: String,
    /// Money off, minor units.
    pub amount_minor: i64,
}

/// A fraud signal from `fraud_signal`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Signal {
    /// Points, -50 to 50.
    pub points: i32,
    /// A sentence for staff.
    pub reason: String,
}

fn bad(m: impl Into<String>) -> PluginError {
    PluginError::BadOutput(m.into())
}

fn text(what: &str, s: &str, max: usize) -> Result<(), PluginError> {
    let n = s.trim().chars().count();
    if n == 0 || n > max || s.chars().any(char::is_control) {
        return Err(bad(format!(
            "{what} must be 1 to {max} characters without control characters"
        )));
    }
    Ok(())
}

fn parse<T: for<'de> Deserialize<'de>>(v: Value) -> Result<T, PluginError> {
    serde_json::from_value(v).map_err(|e| bad(format!("not the hook's output shape: {e}")))
}

/// Check `cart_adjust`'s output against the cart's goods.
pub fn discounts(out: Value, goods_minor: i64) -> Result<Vec<Discount>, PluginError> {
    #[derive(Deserialize)]
    struct Out {
        discounts: Vec<Discount>,
    }
    let o: Out = parse(out)?;
    if o.discounts.len() > 5 {
        return Err(bad("at most 5 discounts"));
    }
    for d in &o.discounts {
        text("a discount label", &d.label, 80)?;
        if d.amount_minor < 1 || d.amount_minor > goods_minor {
            return Err(bad(format!(
                "a discount must be from 1 to the cart's goods ({goods_minor}); got {}",
                d.amount_minor
            )));
        }
    }
    Ok(o.discounts)
}

/// Check `checkout_validate`'s output: `None` to accept, or the refusal message.
pub fn verdict(out: Value) -> Result<Option<String>, PluginError> {
    #[derive(Deserialize)]
    struct Out {
        accept: bool,
        #[serde(default)]
        message: Option<String>,
    }
    let o: Out = parse(out)?;
    if o.accept {
        return Ok(None);
    }
    let m = o
        .message
        .ok_or_else(|| bad("a refusal needs a message for the shopper"))?;
    text("the message", &m, 200)?;
    Ok(Some(m.trim().to_string()))
}

/// Check `fraud_signal`'s output.
pub fn signals(out: Value) -> Result<Vec<Signal>, PluginError> {
    #[derive(Deserialize)]
    struct Out {
        signals: Vec<Signal>,
    }
    let o: Out = parse(out)?;
    if o.signals.len() > 5 {
        return Err(bad("at most 5 signals"));
    }
    for s in &o.signals {
        text("a signal's reason", &s.reason, 200)?;
        if !(-50..=50).contains(&s.points) {
            return Err(bad(format!(
                "a signal's points must be from -50 to 50; got {}",
                s.points
            )));
        }
    }
    Ok(o.signals)
}

/// Check `order_created`'s output: the JSON object to send, if any.
pub fn notification(out: Value) -> Result<Option<Map<String, Value>>, PluginError> {
    #[derive(Deserialize)]
    struct Out {
        notify: Option<Value>,
    }
    let o: Out = parse(out)?;
    match o.notify {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(bad("notify must be a JSON object or null")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GBP: storefort_core::money::Currency = storefort_core::money::Currency {
        code: "GBP",
        symbol: "£",
        exponent: 2,
    };

    fn facts() -> OrderFacts {
        OrderFacts {
            order_number: Some(1042),
            channel: "web".into(),
            lines: vec![LineFacts {
                sku: "MUG-1".into(),
                name: "Mug".into(),
                unit_price_minor: 1200,
                quantity: 2,
            }],
            goods_minor: 2400,
            total_minor: 2400,
            email: "ada@example.com".into(),
            phone: "+44 20 7946 0000".into(),
            billing: Address {
                name: "Ada Lovelace".into(),
                line1: "1 High St".into(),
                city: "London".into(),
                postcode: "N1 1AA".into(),
                country: "GB".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn without_the_personal_data_permission_no_personal_data_is_in_the_input() {
        let f = facts();
        let all = f
            .input(Hook::FraudSignal, &[Permission::AddFraudSignal], &GBP)
            .to_string();
        for secret in ["ada@example.com", "7946", "Lovelace", "High St", "N1 1AA"] {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
        assert!(!all.contains("\"order\""), "no order without read_orders");
        assert!(all.contains("\"billing_country\":\"GB\""));
        let with = f
            .input(
                Hook::FraudSignal,
                &[Permission::ReadOrders, Permission::ReadPersonalData],
                &GBP,
            )
            .to_string();
        assert!(with.contains("ada@example.com") && with.contains("\"total_minor\":2400"));
    }

    #[test]
    fn outputs_are_checked() {
        let ok = json!({"discounts": [{"label": "Bulk", "amount_minor": 100}]});
        assert_eq!(discounts(ok, 2400).unwrap().len(), 1);
        for bad_out in [
            json!({"discounts": [{"label": "Bulk", "amount_minor": 2401}]}),
            json!({"discounts": [{"label": "Bulk", "amount_minor": 0}]}),
            json!({"discounts": [{"label": "", "amount_minor": 1}]}),
            json!({"discounts": [{"label": "a\u{7}b", "amount_minor": 1}]}),
            json!({"discount": []}),
            json!("discounts"),
        ] {
            assert!(discounts(bad_out.clone(), 2400).is_err(), "{bad_out}");
        }
        assert_eq!(verdict(json!({"accept": true})).unwrap(), None);
        assert_eq!(
            verdict(json!({"accept": false, "message": " No PO boxes. "})).unwrap(),
            Some("No PO boxes.".into())
        );
        assert!(verdict(json!({"accept": false})).is_err());
        assert!(signals(json!({"signals": [{"points": 51, "reason": "x"}]})).is_err());
        assert_eq!(
            signals(json!({"signals": [{"points": -50, "reason": "x"}]})).unwrap()[0].points,
            -50
        );
        assert_eq!(notification(json!({"notify": null})).unwrap(), None);
        assert!(notification(json!({"notify": [1]})).is_err());
        assert!(notification(json!({"notify": {"a": 1}})).unwrap().is_some());
    }
}
