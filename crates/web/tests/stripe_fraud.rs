//! A Stripe payment held for a phone check, against localstripe: the PaymentIntent stays
//! `requires_capture` while the order is on hold, and approving captures it at Stripe.
//! Skipped with a note when `localstripe` is not installed, except under CI (`CI=true`).

mod common;
mod stripe_checkout_support;

use storefort_core::fraud::Rule;
use stripe_checkout_support::*;

#[tokio::test]
async fn a_held_stripe_order_is_captured_at_stripe_when_approved() {
    let Some(s) = Shop::start().await else { return };
    // Every order scores 60 here, so this one is held.
    s.t.db
        .add_fraud_rule(&Rule {
            name: "hold-all".into(),
            expression: "order.total > 0".into(),
            points: 60,
            reason: "Test rule: hold every order".into(),
        })
        .await
        .unwrap();
    let p = s.checkout(1, "held-1").await;
    let (secret, return_url) = s.card_page(&p).await;
    let pi = reference_of(&secret);
    assert_eq!(s.confirm(&pi, "pm_card_visa").await, 200);
    let back = s.come_back(&return_url, &secret, "succeeded").await;
    assert_eq!(back.status.as_u16(), 303, "{}", back.body);
    assert_eq!(s.detail(&p).await.summary.status, "on_hold");
    let intent = s.stripe_get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(
        intent["status"], "requires_capture",
        "not captured while held"
    );
    let page = s.get(&s.order_path(&p)).await;
    assert!(
        page.body.contains("we will confirm your order shortly"),
        "{}",
        page.body
    );

    storefort_web::fraud_review::approve(&s.state, &p.id, "owner@example.com")
        .await
        .unwrap();
    let intent = s.stripe_get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(intent["status"], "succeeded", "{intent}");
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "paid");
    let paid = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!(
        paid.captured_minor, d.summary.total_minor,
        "{:?}",
        d.payments
    );
}
