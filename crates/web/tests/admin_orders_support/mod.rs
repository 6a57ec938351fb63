//! Harness for the admin order page tests: orders placed through the store's real checkout
//! (cart -> place_order) and paid through `payment_flow` with the sandbox gateway (the
//! shopper's choice recorded with `sandbox_set_outcome`) or the manual gateway (on hold until
//! marked paid), plus a fingerprint of an order to prove a refused action changed nothing.

#![allow(dead_code)]

use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::order_state::OrderStatus;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_store::checkout::PlaceOrder;
use storefort_store::order_read::OrderDetail;
use storefort_store::sandbox::SandboxOutcome;
use storefort_web::{payment_flow, AppState, WebConfig};

use crate::common::{add_stock, TestApp};

/// An order placed for the tests.
pub struct Order {
    pub id: OrderId,
    pub number: i64,
    pub email: String,
    pub customer: CustomerId,
    pub total: i64,
}

impl Order {
    /// Its admin page.
    pub fn page(&self) -> String {
        format!("/admin/orders/{}", self.id.0)
    }

    /// One of its action URLs (`fulfil`, `refund`, ...).
    pub fn action(&self, what: &str) -> String {
        format!("/admin/orders/{}/{what}", self.id.0)
    }
}

/// The services' state over the test's database (same gateways as the router's).
pub fn state(t: &TestApp) -> AppState {
    AppState::new(t.db.clone(), WebConfig::default())
}

fn address() -> Address {
    Address {
        name: "Ann Example".into(),
        line1: "12 Quay Street".into(),
        city: "Bristol".into(),
        postcode: "BS1 4DJ".into(),
        country: "GB".into(),
        ..Default::default()
    }
}

/// The variant the orders buy (Linen Shirt, size M, £45.00).
pub fn variant(t: &TestApp) -> String {
    t.product.variants[0].id.0.clone()
}

/// Units of the ordered variant on hand at the test location.
pub async fn on_hand(t: &TestApp) -> i64 {
    t.db.stock_levels(&variant(t))
        .await
        .unwrap()
        .iter()
        .find(|l| l.location_id == t.location.id)
        .map_or(0, |l| l.quantity)
}

/// A flat-rate delivery (made once per test world).
pub async fn delivery(t: &TestApp) -> ShippingMethod {
    if let Some(m) =
        t.db.shipping_methods(true)
            .await
            .unwrap()
            .into_iter()
            .next()
    {
        return m;
    }
    t.db.create_shipping_method(&ShippingMethod {
        id: String::new(),
        name: "Royal Mail".into(),
        kind: ShippingKind::Flat,
        amount_minor: 350,
        threshold_minor: None,
        enabled: true,
    })
    .await
    .unwrap()
}

/// Place an order for `qty` shirts paid with `method` (`sandbox` or `manual`), awaiting
/// payment. Stock is received first so the order can be placed.
pub async fn place(t: &TestApp, method: &str, email: &str, qty: i64) -> Order {
    let ship = delivery(t).await;
    add_stock(t, &variant(t), qty).await;
    let (_, cart) = t.db.create_cart(None).await.unwrap();
    t.db.cart_add(&cart.id, &variant(t), qty).await.unwrap();
    let checkout = CheckoutInput {
        email: email.into(),
        phone: "020 7946 0958".into(),
        billing: address(),
        shipping_same_as_billing: true,
        shipping: None,
        shipping_method_id: ship.id.clone(),
        payment_method: method.into(),
    }
    .validate("GB", true)
    .unwrap();
    let placed =
        t.db.place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout,
            customer_id: None,
            idempotency_key: format!("key-{}", cart.id),
            channel: "web".into(),
        })
        .await
        .unwrap();
    Order {
        id: placed.order_id,
        number: placed.number,
        email: email.into(),
        customer: placed.customer_id,
        total: placed.total_minor,
    }
}

/// An order paid by card in the sandbox (authorized, then captured): status paid.
pub async fn paid_order(t: &TestApp, email: &str, qty: i64) -> Order {
    let o = place(t, "sandbox", email, qty).await;
    let st = state(t);
    payment_flow::start(&st, &o.id, "https://shop.example/checkout/return")
        .await
        .unwrap();
    let reference = t.db.order_detail(&o.id).await.unwrap().payments[0]
        .reference
        .clone();
    t.db.sandbox_set_outcome(&reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let now = payment_flow::refresh(&st, &o.id, &reference).await.unwrap();
    assert_eq!(now, OrderStatus::Paid);
    o
}

/// An order to be paid by bank transfer: on hold until staff mark it paid.
pub async fn on_hold_order(t: &TestApp, email: &str) -> Order {
    let o = place(t, "manual", email, 1).await;
    payment_flow::start(&state(t), &o.id, "https://shop.example/checkout/return")
        .await
        .unwrap();
    assert_eq!(status(t, &o).await, OrderStatus::OnHold);
    o
}

/// The order as stored.
pub async fn detail(t: &TestApp, o: &Order) -> OrderDetail {
    t.db.order_detail(&o.id).await.unwrap()
}

/// The order's status.
pub async fn status(t: &TestApp, o: &Order) -> OrderStatus {
    t.db.order_status(&o.id).await.unwrap()
}

/// Everything about the order that an action could change, as text (status, amounts,
/// tracking, lines, payments, refunds, timeline), plus the stock on hand.
pub async fn fingerprint(t: &TestApp, o: &Order) -> String {
    let d = detail(t, o).await;
    format!(
        "{}|{}|{}|{}|{}|{}|{}|stock {}",
        d.summary.status,
        d.summary.refunded_minor,
        d.tracking,
        serde_json::to_string(&d.lines).unwrap(),
        serde_json::to_string(&d.payments).unwrap(),
        serde_json::to_string(&d.refunds).unwrap(),
        serde_json::to_string(&d.events).unwrap(),
        on_hand(t).await
    )
}
