//! The Stripe gateway without Stripe: real-Stripe-shaped PaymentIntents mapped to states, the
//! requests it sends (form fields, headers), and Stripe's error answers mapped to
//! [`GatewayError`]s, against a scripted local HTTP server.

use serde_json::json;
use storefort_payments::stripe::pi_state;
use storefort_payments::{
    AuthorizeRequest, Card, Check, Gateway, GatewayError, PaymentStatus, StripeConfig,
    StripeGateway,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[test]
fn an_authorized_intent_carries_card_and_checks() {
    let pi = json!({
        "id": "pi_1", "object": "payment_intent", "amount": 5000, "amount_received": 0,
        "status": "requires_capture", "payment_method": "pm_1",
        "latest_charge": {
            "id": "ch_1", "object": "charge", "amount": 5000, "amount_captured": 0,
            "amount_refunded": 0,
            "payment_method_details": { "type": "card", "card": {
                "brand": "mastercard", "last4": "4444",
                "checks": { "cvc_check": "pass", "address_postal_code_check": "fail",
                            "address_line1_check": null },
                "three_d_secure": { "result": "authenticated", "version": "2.2.0" }
            }}
        }
    });
    let s = pi_state(&pi);
    assert_eq!(
        (s.status, s.amount_minor, s.captured_minor),
        (PaymentStatus::Authorized, 5000, 0)
    );
    assert_eq!(s.card, Card::new("mastercard", "4444"));
    assert_eq!(
        (s.checks.cvc, s.checks.postcode, s.checks.three_d_secure),
        (Check::Pass, Check::Fail, Check::Pass)
    );
    assert_eq!(s.decline, None);
}

#[test]
fn captured_refunded_and_other_statuses() {
    // Partial capture of 30.00 out of 50.00, then 5.00 refunded: Stripe shows the released
    // 20.00 as refunded on the charge too.
    let pi = json!({
        "amount": 5000, "amount_received": 3000, "status": "succeeded",
        "latest_charge": { "amount": 5000, "amount_captured": 3000, "amount_refunded": 2500,
            "payment_method_details": { "card": { "brand": "visa", "last4": "0005",
                "checks": { "cvc_check": "unavailable", "address_postal_code_check": null },
                "three_d_secure": { "result": "not_supported" } } } }
    });
    let s = pi_state(&pi);
    assert_eq!(
        (s.status, s.captured_minor, s.refunded_minor),
        (PaymentStatus::Captured, 3000, 500)
    );
    assert_eq!(
        (s.checks.cvc, s.checks.postcode, s.checks.three_d_secure),
        (Check::Unavailable, Check::NotChecked, Check::Unavailable)
    );

    // As a webhook carries it: latest_charge is only an ID, so no card.
    let s =
        pi_state(&json!({"amount": 100, "status": "requires_capture", "latest_charge": "ch_9"}));
    assert_eq!((s.status, s.card), (PaymentStatus::Authorized, None));

    // The card from the expanded payment method when the charge has no details.
    let s = pi_state(&json!({"amount": 100, "status": "requires_capture",
        "payment_method": {"card": {"brand": "amex", "last4": "0005",
            "checks": {"cvc_check": "fail"}}}}));
    assert_eq!(s.card, Card::new("amex", "0005"));
    assert_eq!(s.checks.cvc, Check::Fail);

    let declined = json!({"amount": 100, "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card has insufficient funds."}});
    let s = pi_state(&declined);
    assert_eq!(s.status, PaymentStatus::Failed);
    assert_eq!(
        s.decline.as_deref(),
        Some("Your card has insufficient funds.")
    );
    let failed_3ds = json!({"amount": 100, "status": "requires_payment_method",
        "last_payment_error": {"code": "payment_intent_authentication_failure", "message": "x"}});
    assert_eq!(pi_state(&failed_3ds).checks.three_d_secure, Check::Fail);

    for (status, want) in [
        ("requires_payment_method", PaymentStatus::RequiresAction),
        ("requires_confirmation", PaymentStatus::RequiresAction),
        ("requires_action", PaymentStatus::RequiresAction),
        ("processing", PaymentStatus::Pending),
        ("canceled", PaymentStatus::Voided),
    ] {
        assert_eq!(
            pi_state(&json!({"amount": 1, "status": status})).status,
            want,
            "{status}"
        );
    }
    // A full card number in a reply is never kept.
    let s = pi_state(&json!({"amount": 1, "status": "requires_capture",
        "payment_method": {"card": {"brand": "visa", "last4": "4242424242424242"}}}));
    assert_eq!(s.card, None);
}

/// A local server that answers each request with the next scripted `(status, body)` and
/// hands back the raw requests it saw.
async fn scripted(replies: Vec<(u16, String)>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        for (status, body) in replies {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(at) = text.find("\r\n\r\n") {
                    let len = text[..at]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= at + 4 + len || n == 0 {
                        seen.push(text);
                        break;
                    }
                }
                assert!(n > 0, "client hung up");
            }
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
        seen
    });
    (base, task)
}

fn gateway(base: &str) -> StripeGateway {
    StripeGateway::new(StripeConfig {
        api_base: base.into(),
        secret_key: "sk_test_abc".into(),
        publishable_key: "pk_test_abc".into(),
        webhook_secret: "whsec_x".into(),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn authorize_sends_a_manual_capture_intent_with_idempotency() {
    let pi = json!({"id": "pi_9", "client_secret": "pi_9_secret_z", "amount": 2500,
                    "status": "requires_payment_method"});
    let (base, seen) = scripted(vec![(200, pi.to_string())]).await;
    let req = AuthorizeRequest {
        order_id: "order-1".into(),
        order_number: 1042,
        amount_minor: 2500,
        currency: "GBP".into(),
        return_url: "https://shop.example/r".into(),
        idempotency_key: "checkout-1".into(),
        description: "Order #1042".into(),
    };
    let a = gateway(&base).authorize(&req).await.unwrap();
    assert_eq!(
        (a.reference.as_str(), a.state.status),
        ("pi_9", PaymentStatus::RequiresAction)
    );
    let raw = seen.await.unwrap().remove(0);
    let lower = raw.to_ascii_lowercase();
    assert!(raw.starts_with("POST /v1/payment_intents "), "{raw}");
    for needle in [
        "idempotency-key: checkout-1",
        "authorization: bearer sk_test_abc",
        "stripe-version: 2024-06-20",
        "content-type: application/x-www-form-urlencoded",
    ] {
        assert!(lower.contains(needle), "missing {needle}: {raw}");
    }
    for field in [
        "amount=2500",
        "currency=gbp",
        "capture_method=manual",
        "metadata%5Border_id%5D=order-1",
        "metadata%5Border_number%5D=1042",
    ] {
        assert!(raw.contains(field), "missing {field}: {raw}");
    }
    // The client secret is kept out of Debug output.
    assert!(!format!("{a:?}").contains("pi_9_secret_z"));
    assert!(!format!(
        "{:?}",
        StripeConfig {
            secret_key: "sk_live_x".into(),
            ..Default::default()
        }
    )
    .contains("sk_live_x"));
}

#[tokio::test]
async fn stripe_errors_map_to_gateway_errors() {
    let err = |status: u16, e: serde_json::Value| (status, json!({ "error": e }).to_string());
    let (base, _seen) = scripted(vec![
        err(402, json!({"type": "card_error", "code": "card_declined", "message": "Your card was declined."})),
        err(400, json!({"type": "invalid_request_error", "code": "payment_intent_unexpected_state", "message": "This PaymentIntent could not be captured because it has a status of canceled."})),
        err(400, json!({"type": "invalid_request_error", "param": "amount", "message": "Amount must be at least 30 pence."})),
        err(401, json!({"type": "invalid_request_error", "message": "Invalid API Key provided"})),
        err(404, json!({"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent"})),
        err(500, json!({"type": "api_error", "message": "Something went wrong"})),
        (200, "not json".to_string()),
    ])
    .await;
    let g = gateway(&base);
    let e = g.status("pi_1").await.unwrap_err();
    assert_eq!(e, GatewayError::Declined("Your card was declined.".into()));
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("status of canceled")),
        "{e}"
    );
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Invalid { field, .. } if field == "amount"),
        "{e}"
    );
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Unavailable(m) if m.contains("secret key")),
        "{e}"
    );
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Invalid { field, .. } if field == "reference"),
        "{e}"
    );
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Unavailable(m) if m.contains("500")),
        "{e}"
    );
    let e = g.status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Unavailable(m) if m.contains("not JSON")),
        "{e}"
    );

    // Nobody listening: unavailable, not a panic.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = gateway(&dead).status("pi_1").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Unavailable(m) if m.contains("could not reach Stripe")),
        "{e}"
    );
}
