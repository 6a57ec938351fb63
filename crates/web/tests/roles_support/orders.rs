//! Checkout fixtures for the role walk. Shared: a shipping method, a discount code, the
//! default tax class and an approved payment-page script. Per caller (the walk changes them,
//! so each caller gets its own, found through its number `n`): a paid order with a captured
//! manual payment (`{order}`: fulfil, refund, notes), an order on hold with a pending manual
//! payment (`{held_order}`: mark paid) and an order awaiting payment (`{open_order}`:
//! cancel). Orders go through the store's real checkout: cart -> `place_order` ->
//! `record_payment` / `transition`. Fraud screening (issue 6): a rule that holds every web
//! card order, two rules for the walk to change and remove (`{rule}`, `{victim_rule}`), and per
//! caller three card orders paid in the sandbox and held for a phone check (`{review}`:
//! calls, approve; `{review_cancel}`: cancel; `{review_pay}`: ask to pay again).

use storefort_core::access::Permission;
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::fraud::Rule;
use storefort_core::ids::OrderId;
use storefort_core::order_state::{OrderEvent, OrderStatus};
use storefort_core::pricing::{DiscountCode, DiscountKind, ShippingKind, ShippingMethod};
use storefort_store::checkout::{PlaceOrder, Placed};
use storefort_store::payment_records::PaymentUpdate;
use storefort_store::payment_scripts::NewScript;
use storefort_store::sandbox::SandboxOutcome;
use storefort_web::{payment_flow, AppState, WebConfig};

use super::World;
use crate::common::{TestApp, OWNER_EMAIL};

/// The placeholders every caller shares: `(name, ID)`.
pub async fn shared(t: &TestApp) -> Vec<(&'static str, String)> {
    let shipping =
        t.db.create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Royal Mail".into(),
            kind: ShippingKind::Flat,
            amount_minor: 350,
            threshold_minor: None,
            enabled: true,
        })
        .await
        .unwrap();
    let discount =
        t.db.create_discount_code(&DiscountCode {
            id: String::new(),
            code: "WALKCODE".into(),
            kind: DiscountKind::Percent,
            value: 1000,
            min_spend_minor: 0,
            expires_at: None,
            usage_limit: None,
            used_count: 0,
            enabled: true,
        })
        .await
        .unwrap();
    let tax_class = t.db.default_tax_class().await.unwrap();
    let script =
        t.db.approve_script(
            &NewScript {
                url: "http://127.0.0.1:9/walk.js".into(),
                sha384: "sha384-OLBgp1GsljhM2TJ+sbHjaiH9txEUvgdDTAzHv2P24donTt6/529l+9Ua0vFImLlb"
                    .into(),
                reason: "Role walk fixture".into(),
                gateway: "stripe".into(),
            },
            OWNER_EMAIL,
        )
        .await
        .unwrap();
    let mut settings = t.db.fraud_settings().await.unwrap();
    // Held, never blocked, whatever else fires (the orders share the sandbox's one card).
    settings.block_threshold = 100;
    t.db.save_fraud_settings(&settings).await.unwrap();
    let rule = |name: &str, expression: &str, points| Rule {
        name: name.into(),
        expression: expression.into(),
        points,
        reason: format!("Role walk fixture {name}"),
    };
    t.db.add_fraud_rule(&rule("walk_hold", "order.channel == \"web\"", 60))
        .await
        .unwrap();
    let edited =
        t.db.add_fraud_rule(&rule("walk_rule", "order.units > 500", 1))
            .await;
    let victim =
        t.db.add_fraud_rule(&rule("walk_victim", "order.units > 600", 1))
            .await;
    vec![
        ("shipping", shipping.id),
        ("discount", discount.id),
        ("tax_class", tax_class.id.as_str().to_string()),
        ("script", script.id),
        ("rule", edited.unwrap().id),
        ("victim_rule", victim.unwrap().id),
    ]
}

/// One shirt bought by `buyer{n}@example.com` through the real checkout, to be paid with
/// `method` (`manual`: bank transfer; `sandbox`: card): awaiting payment.
async fn place(t: &TestApp, shipping: &str, n: usize, what: &str, method: &str) -> Placed {
    let variant = t.product.variants[0].id.as_str();
    let (_, cart) = t.db.create_cart(None).await.unwrap();
    t.db.cart_add(&cart.id, variant, 1).await.unwrap();
    let checkout = CheckoutInput {
        email: format!("buyer{n}@example.com"),
        phone: "020 7946 0958".into(),
        billing: Address {
            name: "Bea Buyer".into(),
            line1: "12 Quay Street".into(),
            city: "Bristol".into(),
            postcode: "BS1 4DJ".into(),
            country: "GB".into(),
            ..Default::default()
        },
        shipping_same_as_billing: true,
        shipping: None,
        shipping_method_id: shipping.into(),
        payment_method: method.into(),
    }
    .validate("GB", true)
    .unwrap();
    let placed =
        t.db.place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout,
            customer_id: None,
            idempotency_key: format!("walk-{what}-{n}"),
            channel: "web".into(),
        })
        .await
        .unwrap();
    let status = t.db.order_status(&placed.order_id).await.unwrap();
    assert_eq!(status, OrderStatus::PendingPayment, "{what} {n}");
    placed
}

/// Caller `n`'s three orders: `[(order, paid), (held_order, on hold), (open_order, awaiting
/// payment)]`.
async fn orders_of(t: &TestApp, shipping: &str, n: usize) -> [String; 3] {
    let paid = place(t, shipping, n, "paid", "manual").await;
    let captured = PaymentUpdate {
        status: "captured".into(),
        amount_minor: paid.total_minor,
        captured_minor: paid.total_minor,
        ..Default::default()
    };
    let id = &paid.order_id;
    let reference = format!("walk-paid-{n}");
    t.db.record_payment(id, "manual", &reference, &captured)
        .await
        .unwrap();
    let to = t.db.transition(id, OrderEvent::Capture, "test", "").await;
    assert_eq!(to.unwrap(), OrderStatus::Paid);

    let held = place(t, shipping, n, "held", "manual").await;
    let pending = PaymentUpdate {
        status: "pending".into(),
        amount_minor: held.total_minor,
        ..Default::default()
    };
    let id = &held.order_id;
    let reference = format!("walk-held-{n}");
    t.db.record_payment(id, "manual", &reference, &pending)
        .await
        .unwrap();
    let to = t.db.transition(id, OrderEvent::Hold, "test", "").await;
    assert_eq!(to.unwrap(), OrderStatus::OnHold);

    let open = place(t, shipping, n, "open", "manual").await;
    [paid.order_id.0, held.order_id.0, open.order_id.0]
}

/// A shirt paid by card in the sandbox, authorized and held for a phone check by the
/// `walk_hold` rule.
async fn held_for_review(t: &TestApp, shipping: &str, n: usize, what: &str) -> String {
    let placed = place(t, shipping, n, what, "sandbox").await;
    let st = AppState::new(t.db.clone(), WebConfig::default());
    let id = &placed.order_id;
    payment_flow::start(&st, id, "https://shop.example/checkout/return")
        .await
        .unwrap();
    let reference = t.db.order_detail(id).await.unwrap().payments[0]
        .reference
        .clone();
    t.db.sandbox_set_outcome(&reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let now = payment_flow::refresh(&st, id, &reference).await.unwrap();
    assert_eq!(now, OrderStatus::OnHold, "{what} {n}");
    id.0.clone()
}

/// The per-caller placeholders, one set per caller (`reviewers[n]`: caller `n` may work the
/// review queue): `(name, ID of caller n at [n])`. The held orders are the caller's own only
/// for reviewers; everybody else is refused, so they share one set (fewer card payments and
/// smaller snapshots keep the walk quick).
pub async fn per_caller(
    t: &TestApp,
    shipping: &str,
    reviewers: &[bool],
) -> Vec<(&'static str, Vec<String>)> {
    let mut out = vec![
        ("order", Vec::new()),
        ("held_order", Vec::new()),
        ("open_order", Vec::new()),
        ("review", Vec::new()),
        ("review_cancel", Vec::new()),
        ("review_pay", Vec::new()),
    ];
    let mut shared: Option<[String; 3]> = None;
    for (n, reviewer) in reviewers.iter().enumerate() {
        let [a, b, c] = orders_of(t, shipping, n).await;
        let held = match (&shared, reviewer) {
            (Some(s), false) => s.clone(),
            _ => {
                let h = [
                    held_for_review(t, shipping, n, "review").await,
                    held_for_review(t, shipping, n, "review_cancel").await,
                    held_for_review(t, shipping, n, "review_pay").await,
                ];
                if !reviewer {
                    shared = Some(h.clone());
                }
                h
            }
        };
        let [d, e, f] = held;
        for (slot, id) in out.iter_mut().zip([a, b, c, d, e, f]) {
            slot.1.push(id);
        }
    }
    out
}

impl World {
    /// After a walk: the orders of each caller allowed to manage and refund them are as
    /// `acted` says (`status refunded_minor tracking` of its paid, held and open order, `{n}`
    /// its number); everybody else's are as placed.
    pub async fn assert_orders(&self, acted: [&str; 3]) {
        let placed = ["paid 0 ", "on_hold 0 ", "pending_payment 0 "];
        for (n, who) in self.who.iter().enumerate() {
            let may = [Permission::OrdersManage, Permission::Refunds]
                .iter()
                .all(|p| who.allows(*p) == Some(true));
            let want = if may { acted } else { placed }.map(|s| s.replace("{n}", &n.to_string()));
            let mut got = Vec::new();
            for name in ["order", "held_order", "open_order"] {
                let id = OrderId(self.per_caller[name][n].clone());
                let d = self.t.db.order_detail(&id).await.unwrap();
                let s = &d.summary;
                got.push(format!("{} {} {}", s.status, s.refunded_minor, d.tracking));
            }
            assert_eq!(got, want, "{}'s orders after the walk", who.label);
        }
    }

    /// After a walk: the held orders of each caller allowed to work the queue were approved,
    /// cancelled and sent back to pay (`paid approved`, `cancelled cancelled`,
    /// `pending_payment pay_again`); everybody else's still wait (`on_hold open`).
    pub async fn assert_reviews(&self) {
        for (n, who) in self.who.iter().enumerate() {
            let may = who.allows(Permission::OrdersManage) == Some(true);
            let want = if may {
                [
                    "paid approved",
                    "cancelled cancelled",
                    "pending_payment pay_again",
                ]
            } else {
                ["on_hold open"; 3]
            };
            let mut got = Vec::new();
            for name in ["review", "review_cancel", "review_pay"] {
                let id = OrderId(self.per_caller[name][n].clone());
                let status = self.t.db.order_status(&id).await.unwrap();
                let risk = self.t.db.order_risk(&id).await.unwrap().unwrap();
                got.push(format!(
                    "{} {}",
                    status.as_str(),
                    risk.review.unwrap_or_default()
                ));
            }
            assert_eq!(got, want, "{}'s held orders after the walk", who.label);
        }
    }
}
