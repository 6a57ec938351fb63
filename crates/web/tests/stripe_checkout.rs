//! The Stripe path end to end through storefort's own routes, against localstripe (a fake
//! but stateful Stripe run by the test on a loopback port): headless checkout, the card page
//! with localstripe's Stripe.js approved, confirmation as Stripe.js would do it, the return
//! that captures, localstripe's signed webhooks arriving at `/webhooks/stripe`, a declined
//! card, and refunds. Skipped with a note when `localstripe` is not installed, except under CI.

mod common;
mod stripe_checkout_support;

use axum::http::{header, StatusCode};
use storefort_payments::stripe_webhook::sign;
use storefort_web::payment_flow;
use storefort_web::payment_page as pp;
use stripe_checkout_support::*;

/// Shirts at £45 with no tax configured, plus £3.95 delivery.
const ONE_SHIRT_TOTAL: i64 = 4500 + 395;

#[tokio::test]
async fn a_card_payment_is_authorized_captured_once_and_its_webhooks_are_verified() {
    let Some(s) = Shop::start().await else { return };

    // Checkout through the API: the order waits for a card payment with a PaymentIntent.
    let p = s.checkout(1, "stripe-journey-1").await;
    assert_eq!(
        (p.body["status"].as_str(), p.body["total_minor"].as_i64()),
        (Some("pending_payment"), Some(ONE_SHIRT_TOTAL))
    );
    let next = &p.body["payment"];
    assert_eq!(next["next"], "element", "{next}");
    assert_eq!(next["publishable_key"], PUBLISHABLE_KEY);
    assert_eq!(next["js_url"], s.js_url.as_str());
    let api_secret = next["client_secret"].as_str().unwrap();
    let api_pi = reference_of(api_secret);
    assert!(api_pi.starts_with("pi_"), "{api_secret}");
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "pending_payment");
    let first = d.payments.iter().find(|x| x.reference == api_pi).unwrap();
    assert_eq!(
        (
            first.gateway.as_str(),
            first.status.as_str(),
            first.amount_minor
        ),
        ("stripe", "requires_action", ONE_SHIRT_TOTAL)
    );
    let at_stripe = s.stripe_get(&format!("/v1/payment_intents/{api_pi}")).await;
    assert_eq!(
        (
            at_stripe["amount"].as_i64(),
            at_stripe["currency"].as_str(),
            at_stripe["capture_method"].as_str()
        ),
        (Some(ONE_SHIRT_TOTAL), Some("gbp"), Some("manual"))
    );

    // The card page: localstripe's Stripe.js with its integrity, our own script, the client
    // secret in data attributes, a CSP naming localstripe, and no card field of ours.
    let page = s.get(&s.pay_path(&p)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let tag = format!(
        "<script src=\"{}\" integrity=\"{}\" crossorigin=\"anonymous\"></script>",
        s.js_url, s.js_sri
    );
    assert!(page.body.contains(&tag), "{}", page.body);
    assert!(page
        .body
        .contains(&format!("integrity=\"{}\"", pp::payment_js_sri())));
    assert_eq!(page.body.matches("<script").count(), 2, "Stripe.js + ours");
    assert_eq!(attr(&page.body, "data-publishable-key"), PUBLISHABLE_KEY);
    let secret = attr(&page.body, "data-client-secret");
    let pi = reference_of(&secret);
    assert!(pi.starts_with("pi_"), "{secret}");
    let return_url = attr(&page.body, "data-return-url");
    assert_eq!(
        return_url,
        format!("{}/checkout/return/{}?t={}", s.base, p.id.0, p.token)
    );
    let lower = page.body.to_ascii_lowercase();
    for field in [
        "<input",
        "<select",
        "<textarea",
        "cardnumber",
        "card-number",
        "cvc",
        "exp-date",
    ] {
        assert!(!lower.contains(field), "{field} in our HTML: {}", page.body);
    }
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("script-src 'self' {};", s.ls.base)),
        "{csp}"
    );
    assert!(
        csp.contains("frame-src ") && csp.contains(&s.ls.base),
        "{csp}"
    );
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let d = s.detail(&p).await;
    let this = d
        .payments
        .iter()
        .find(|x| x.reference == pi)
        .expect("the page's intent is recorded");
    assert_eq!(
        (this.status.as_str(), this.amount_minor),
        ("requires_action", ONE_SHIRT_TOTAL)
    );
    assert_eq!(d.summary.status, "pending_payment");

    // The shopper pays in Stripe's frame (here: server-side with the test visa) and comes back.
    assert_eq!(s.confirm(&pi, "pm_card_visa").await, 200);
    let back = s.come_back(&return_url, &secret, "succeeded").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), s.order_path(&p));
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "paid");
    let paid = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!(
        (
            paid.status.as_str(),
            paid.captured_minor,
            paid.refunded_minor
        ),
        ("captured", ONE_SHIRT_TOTAL, 0)
    );
    assert_eq!(
        (paid.card_brand.as_deref(), paid.card_last4.as_deref()),
        (Some("visa"), Some("4242"))
    );
    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "authorize").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "capture").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        s.emails("order_confirmation").await,
        1,
        "the receipt is queued"
    );
    let at_stripe = s.stripe_get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(
        (
            at_stripe["status"].as_str(),
            at_stripe["amount_received"].as_i64()
        ),
        (Some("succeeded"), Some(ONE_SHIRT_TOTAL))
    );
    let order_page = s.get(&s.order_path(&p)).await;
    assert_eq!(order_page.status, StatusCode::OK);
    assert!(
        order_page.body.contains("Thank you for your order"),
        "{}",
        order_page.body
    );
    assert!(
        order_page.body.contains("Visa ending 4242"),
        "{}",
        order_page.body
    );

    // Coming back again (a reload) asks Stripe again and changes nothing.
    let before = s.snapshot(&p).await;
    let again = s.come_back(&return_url, &secret, "succeeded").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(s.snapshot(&p).await, before);

    // localstripe's payment_intent.succeeded (sent after the capture) arrives, is verified
    // and processed, and changes nothing: still paid, captured once.
    let hook = s.webhook("payment_intent.succeeded", &pi).await;
    let event_id = hook.json()["id"].as_str().unwrap().to_string();
    assert!(event_id.starts_with("evt_"), "{event_id}");
    assert!(s.processed_events().await.contains(&event_id));
    assert_eq!(
        s.snapshot(&p).await,
        before,
        "the webhook changed the order"
    );
    assert_eq!(s.succeeded_events(&pi).await, 1, "captured once at Stripe");

    // The same signed delivery again: 200 "already processed", nothing changed.
    let sig = hook.header("stripe-signature").to_string();
    let json_ct = ("content-type", "application/json; charset=utf-8");
    let r = s
        .post_raw(
            "/webhooks/stripe",
            &[json_ct, ("stripe-signature", &sig)],
            hook.body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["event"].as_str()),
        (Some("already processed"), Some(event_id.as_str()))
    );
    assert_eq!(s.snapshot(&p).await, before);

    // A bad signature: 400 naming the signature, nothing recorded or changed.
    let processed = s.processed_events().await;
    let forged = hook.body.iter().copied().chain(*b" ").collect::<Vec<u8>>();
    let r = s
        .post_raw(
            "/webhooks/stripe",
            &[json_ct, ("stripe-signature", &sig)],
            forged,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("signature"), "{}", r.body);
    let wrong = sign("whsec_not_ours", now_secs(), &hook.body);
    let r = s
        .post_raw(
            "/webhooks/stripe",
            &[json_ct, ("stripe-signature", &wrong)],
            hook.body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("signature"), "{}", r.body);
    let none = s
        .post_raw("/webhooks/stripe", &[json_ct], hook.body.clone())
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.body);
    assert!(none.body.contains("Stripe-Signature"), "{}", none.body);

    // Correctly signed but stale (6 minutes old), and a new event ID that would cancel the
    // payment: refused with 400, not processed.
    let mut stale = hook.json();
    stale["id"] = "evt_stale_storefort_test".into();
    stale["type"] = "payment_intent.canceled".into();
    stale["data"]["object"]["status"] = "canceled".into();
    let stale = serde_json::to_vec(&stale).unwrap();
    let old = sign(WEBHOOK_SECRET, now_secs() - 6 * 60, &stale);
    let r = s
        .post_raw(
            "/webhooks/stripe",
            &[json_ct, ("stripe-signature", &old)],
            stale.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("5 minutes"), "{}", r.body);
    assert_eq!(s.processed_events().await, processed, "nothing recorded");
    assert_eq!(s.snapshot(&p).await, before);
    let at_stripe = s.stripe_get(&format!("/v1/payment_intents/{pi}")).await;
    assert_eq!(at_stripe["status"], "succeeded");
    assert_eq!(s.succeeded_events(&pi).await, 1);
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_awaiting_payment_and_says_why() {
    let Some(s) = Shop::start().await else { return };
    let p = s.checkout(1, "stripe-decline-1").await;
    let page = s.get(&s.pay_path(&p)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = attr(&page.body, "data-client-secret");
    let return_url = attr(&page.body, "data-return-url");
    let pi = reference_of(&secret);

    // localstripe declines this test card when it is confirmed.
    assert_eq!(s.confirm(&pi, "pm_card_chargeCustomerFail").await, 402);
    let back = s.come_back(&return_url, &secret, "failed").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(back.location(), s.order_path(&p));
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "pending_payment");
    let failed = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!(
        (
            failed.status.as_str(),
            failed.captured_minor,
            failed.message.as_str()
        ),
        ("failed", 0, "Your card was declined.")
    );
    assert!(!d
        .events
        .iter()
        .any(|e| e.kind == "authorize" || e.kind == "capture"));
    assert_eq!(s.emails("order_confirmation").await, 0, "no receipt");

    // The order page says why and offers to try again.
    let shown = s.get(&s.order_path(&p)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        shown.body.contains("Your payment did not go through"),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains("Your card was declined."),
        "{}",
        shown.body
    );
    assert!(
        shown.body.contains(&format!("/checkout/pay/{}?t=", p.id.0)),
        "{}",
        shown.body
    );

    // localstripe's payment_intent.payment_failed arrives and changes nothing that matters.
    s.webhook("payment_intent.payment_failed", &pi).await;
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "pending_payment");
    let failed = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!(
        (failed.status.as_str(), failed.message.as_str()),
        ("failed", "Your card was declined.")
    );

    // Trying again with a good card pays the same order.
    let page = s.get(&s.pay_path(&p)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret2 = attr(&page.body, "data-client-secret");
    let pi2 = reference_of(&secret2);
    assert_ne!(pi2, pi, "a new attempt");
    assert_eq!(s.confirm(&pi2, "pm_card_visa").await, 200);
    let back = s.come_back(&return_url, &secret2, "succeeded").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    let d = s.detail(&p).await;
    assert_eq!(d.summary.status, "paid");
    assert_eq!(s.emails("order_confirmation").await, 1);
    let failed = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!(
        failed.status, "failed",
        "the declined attempt stays declined"
    );
}

#[tokio::test]
async fn refunds_go_through_localstripe_and_too_much_is_refused_with_nothing_changed() {
    let Some(s) = Shop::start().await else { return };
    let p = s.checkout(2, "stripe-refund-1").await;
    let total = 2 * 4500 + 395;
    let page = s.get(&s.pay_path(&p)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let secret = attr(&page.body, "data-client-secret");
    let pi = reference_of(&secret);
    assert_eq!(s.confirm(&pi, "pm_card_visa").await, 200);
    let back = s
        .come_back(&attr(&page.body, "data-return-url"), &secret, "succeeded")
        .await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
    assert_eq!(s.detail(&p).await.summary.status, "paid");
    // Let localstripe's capture webhook land first, so it cannot race the refund.
    s.webhook("payment_intent.succeeded", &pi).await;

    let to = payment_flow::refund(
        &s.state,
        &p.id,
        1000,
        vec![],
        "one shirt was damaged",
        "owner@example.com",
    )
    .await
    .unwrap();
    assert_eq!(to.as_str(), "partially_refunded");
    let refunds = s.stripe_refunds(&pi).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"].as_i64(), Some(1000));
    let d = s.detail(&p).await;
    assert_eq!(
        (d.summary.status.as_str(), d.summary.refunded_minor),
        ("partially_refunded", 1000)
    );
    let paid = d.payments.iter().find(|x| x.reference == pi).unwrap();
    assert_eq!((paid.captured_minor, paid.refunded_minor), (total, 1000));
    let re: String =
        sqlx::query_scalar("SELECT gateway_reference FROM refunds WHERE order_id = $1")
            .bind(p.id.0.as_str())
            .fetch_one(&s.t.db.pool)
            .await
            .unwrap();
    assert_eq!(Some(re.as_str()), refunds[0]["id"].as_str());
    assert_eq!(s.emails("refund").await, 1);

    // More than is left: 409 naming the amount; nothing at localstripe or in the order.
    let before = s.snapshot(&p).await;
    let left = total - 1000;
    let e = payment_flow::refund(
        &s.state,
        &p.id,
        left + 1,
        vec![],
        "too much",
        "owner@example.com",
    )
    .await
    .unwrap_err();
    assert_eq!(e.status, StatusCode::CONFLICT, "{}", e.message);
    assert_eq!(e.field.as_deref(), Some("amount"), "{}", e.message);
    assert_eq!(
        s.stripe_refunds(&pi).await.len(),
        1,
        "no refund at localstripe"
    );
    assert_eq!(s.snapshot(&p).await, before);

    // The rest is refundable: the order is refunded in full.
    let to = payment_flow::refund(&s.state, &p.id, left, vec![], "", "owner@example.com")
        .await
        .unwrap();
    assert_eq!(to.as_str(), "refunded");
    let refunds = s.stripe_refunds(&pi).await;
    let sum: i64 = refunds.iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    assert_eq!((refunds.len(), sum), (2, total));
    let e = payment_flow::refund(&s.state, &p.id, 1, vec![], "", "owner@example.com")
        .await
        .unwrap_err();
    assert_eq!(e.status, StatusCode::CONFLICT, "{}", e.message);
    assert_eq!(s.stripe_refunds(&pi).await.len(), 2);
}
