//! Harness for the review queue tests: an order held for a phone check through the real
//! checkout and sandbox payment (the seed's example), the review page's URLs, staff signed in
//! again after the clock moved, and calling the JSON API with a staff session.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request};
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::order_state::OrderStatus;
use storefort_store::checkout::PlaceOrder;
use storefort_store::sandbox::SandboxOutcome;
use storefort_web::payment_flow;

use crate::admin_customers_support::Staff;
use crate::admin_orders_support::{delivery, state, Order};
use crate::common::{add_stock, Res, TestApp};

pub const DAY: i64 = 24 * 3_600_000;

fn address(name: &str, line1: &str, city: &str, postcode: &str, country: &str) -> Address {
    Address {
        name: name.into(),
        line1: line1.into(),
        city: city.into(),
        postcode: postcode.into(),
        country: country.into(),
        ..Default::default()
    }
}

/// The seed's example through the real checkout, with the default settings: 12 of the most
/// expensive shirt (LS-L, £48.00) billed in Bristol, shipped to Paris, paid by card in the
/// sandbox: held for a phone check.
pub async fn held(t: &TestApp, email: &str) -> Order {
    let ship = delivery(t).await;
    let variant = t.product.variants[1].id.0.clone();
    add_stock(t, &variant, 12).await;
    let (_, cart) = t.db.create_cart(None).await.unwrap();
    t.db.cart_add(&cart.id, &variant, 12).await.unwrap();
    let checkout = CheckoutInput {
        email: email.into(),
        phone: "020 7946 0958".into(),
        billing: address("Ann Example", "12 Quay Street", "Bristol", "BS1 4DJ", "GB"),
        shipping_same_as_billing: false,
        shipping: Some(address(
            "Ann Example",
            "3 Rue de Rivoli",
            "Paris",
            "75001",
            "FR",
        )),
        shipping_method_id: ship.id.clone(),
        payment_method: "sandbox".into(),
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
    let st = state(t);
    let id = placed.order_id.clone();
    payment_flow::start(&st, &id, "https://shop.example/checkout/return")
        .await
        .unwrap();
    let reference = t.db.order_detail(&id).await.unwrap().payments[0]
        .reference
        .clone();
    t.db.sandbox_set_outcome(&reference, SandboxOutcome::Success)
        .await
        .unwrap();
    let now = payment_flow::refresh(&st, &id, &reference).await.unwrap();
    assert_eq!(now, OrderStatus::OnHold, "held for a phone check");
    Order {
        id,
        number: placed.number,
        email: email.into(),
        customer: placed.customer_id,
        total: placed.total_minor,
    }
}

pub fn page_of(o: &Order) -> String {
    format!("/admin/reviews/{}", o.id.0)
}

pub fn action(o: &Order, what: &str) -> String {
    format!("/admin/reviews/{}/{what}", o.id.0)
}

/// The review as stored: `open`, `approved`, ...
pub async fn review(t: &TestApp, o: &Order) -> String {
    let r = t.db.order_risk(&o.id).await.unwrap().unwrap();
    r.review.unwrap_or_default()
}

/// Call the JSON API with a staff session (cookie and CSRF header).
pub async fn api(t: &TestApp, who: &Staff, method: Method, path: &str, body: Option<&str>) -> Res {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf);
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    let body = body.map_or_else(Body::empty, |j| Body::from(j.to_string()));
    t.send(b.body(body).unwrap()).await
}

/// Sign the member in again (after the clock moved past the idle limit).
pub async fn staff_again(t: &TestApp, role: &str) -> Staff {
    let (cookie, csrf) = t
        .login_as(
            &format!("{role}@example.com"),
            crate::staff_support::GOOD_PW,
        )
        .await;
    Staff { cookie, csrf }
}
