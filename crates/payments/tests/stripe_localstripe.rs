//! The Stripe gateway against localstripe (PyPI `localstripe`, a fake but stateful Stripe), run
//! on a free local port by the test itself. Without the `localstripe` executable the tests are
//! skipped with a note, except under CI (`CI=true`), where they fail.
//!
//! localstripe has no Stripe.js confirmation with a payment method, so the test confirms as
//! the browser would, server-side: set `payment_method=pm_card_visa` on the intent, then
//! `POST /confirm`.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use storefort_payments::{
    AuthorizeRequest, Card, Gateway, GatewayError, NextStep, PaymentStatus, StripeConfig,
    StripeGateway,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET_KEY: &str = "sk_test_storefort";
const WEBHOOK_SECRET: &str = "whsec_storefort_local";

/// A running localstripe, killed when dropped.
struct Localstripe {
    child: Child,
    base: String,
}

impl Drop for Localstripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start localstripe on a free port, or `None` (test skipped) when it is not installed and
/// this is not CI.
fn localstripe() -> Option<Localstripe> {
    let installed = Command::new("localstripe")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !installed {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("localstripe is not installed (pip install localstripe==1.15.10); CI needs it");
        }
        eprintln!("SKIPPED: the `localstripe` executable is not on PATH (pip install localstripe)");
        return None;
    }
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("localstripe")
        .args(["--port", &port.to_string(), "--from-scratch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localstripe");
    let ls = Localstripe {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "localstripe did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(ls)
}

fn gateway(ls: &Localstripe) -> StripeGateway {
    StripeGateway::new(StripeConfig {
        api_base: ls.base.clone(),
        secret_key: SECRET_KEY.into(),
        publishable_key: "pk_test_storefort".into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        ..Default::default()
    })
    .unwrap()
}

fn request(order: i64, amount_minor: i64) -> AuthorizeRequest {
    AuthorizeRequest {
        order_id: format!("order-{order}"),
        order_number: order,
        amount_minor,
        currency: "GBP".into(),
        return_url: "https://shop.example/checkout/return".into(),
        idempotency_key: format!("checkout-{order}"),
        description: format!("Order #{order}"),
    }
}

/// What Stripe.js does in the browser, done server-side: attach a test card and confirm.
async fn confirm(ls: &Localstripe, reference: &str, payment_method: &str) -> u16 {
    let http = reqwest::Client::new();
    let url = format!("{}/v1/payment_intents/{reference}", ls.base);
    let r = http
        .post(&url)
        .bearer_auth(SECRET_KEY)
        .form(&[("payment_method", payment_method)])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "attach: {}",
        r.text().await.unwrap()
    );
    let r = http
        .post(format!("{url}/confirm"))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// An intent authorized with the test visa card.
async fn authorized(ls: &Localstripe, g: &StripeGateway, order: i64, amount: i64) -> String {
    let a = g.authorize(&request(order, amount)).await.unwrap();
    assert_eq!(confirm(ls, &a.reference, "pm_card_visa").await, 200);
    a.reference
}

#[tokio::test]
async fn authorize_confirm_capture_refund_and_void() {
    let Some(ls) = localstripe() else { return };
    let g = gateway(&ls);

    let a = g.authorize(&request(1, 2500)).await.unwrap();
    assert!(a.reference.starts_with("pi_"), "{}", a.reference);
    assert_eq!(
        (a.state.status, a.state.amount_minor),
        (PaymentStatus::RequiresAction, 2500)
    );
    match &a.next {
        NextStep::Element {
            publishable_key,
            client_secret,
            js_url,
        } => {
            assert_eq!(publishable_key, "pk_test_storefort");
            assert!(client_secret.starts_with(&format!("{}_secret_", a.reference)));
            assert_eq!(js_url, "https://js.stripe.com/v3/");
        }
        other => panic!("expected the Stripe element, got {other:?}"),
    }
    // Nothing to capture before the shopper confirms.
    let e = g.capture(&a.reference, 2500).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("waiting for the shopper")),
        "{e}"
    );

    assert_eq!(confirm(&ls, &a.reference, "pm_card_visa").await, 200);
    let s = g.status(&a.reference).await.unwrap();
    assert_eq!(
        (s.status, s.amount_minor, s.captured_minor),
        (PaymentStatus::Authorized, 2500, 0)
    );
    assert_eq!(s.card, Card::new("visa", "4242"));

    let e = g.capture(&a.reference, 2501).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Invalid { field, .. } if field == "amount"),
        "{e}"
    );
    let s = g.capture(&a.reference, 2500).await.unwrap();
    assert_eq!(
        (s.status, s.captured_minor, s.refunded_minor),
        (PaymentStatus::Captured, 2500, 0)
    );
    let e = g.capture(&a.reference, 2500).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("already captured")),
        "{e}"
    );
    let e = g.void(&a.reference).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("refund it instead")),
        "{e}"
    );

    let r = g.refund(&a.reference, 1000, "refund-1-a").await.unwrap();
    assert!(r.reference.starts_with("re_"), "{}", r.reference);
    assert_eq!(
        (
            r.state.status,
            r.state.refunded_minor,
            r.state.refundable_minor()
        ),
        (PaymentStatus::Captured, 1000, 1500)
    );

    // A voided intent cannot be captured (localstripe itself would allow it; the gateway checks).
    let v = authorized(&ls, &g, 2, 900).await;
    assert_eq!(g.void(&v).await.unwrap().status, PaymentStatus::Voided);
    assert_eq!(
        g.void(&v).await.unwrap().status,
        PaymentStatus::Voided,
        "idempotent"
    );
    let e = g.capture(&v, 900).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("voided")),
        "{e}"
    );
    let e = g.refund(&v, 100, "refund-2").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("only captured money")),
        "{e}"
    );
    assert_eq!(g.status(&v).await.unwrap().status, PaymentStatus::Voided);
}

#[tokio::test]
async fn declines_partial_captures_and_errors() {
    let Some(ls) = localstripe() else { return };
    let g = gateway(&ls);

    // A declined card: confirm answers 402 and the intent reads as Failed with Stripe's words.
    let d = g.authorize(&request(3, 700)).await.unwrap().reference;
    assert_eq!(confirm(&ls, &d, "pm_card_chargeCustomerFail").await, 402);
    let s = g.status(&d).await.unwrap();
    assert_eq!(s.status, PaymentStatus::Failed);
    assert_eq!(s.decline.as_deref(), Some("Your card was declined."));
    let e = g.capture(&d, 700).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Conflict(m) if m.contains("declined")),
        "{e}"
    );

    // A partial capture leaves only the captured part refundable.
    let p = authorized(&ls, &g, 4, 2500).await;
    let s = g.capture(&p, 2000).await.unwrap();
    assert_eq!(
        (s.status, s.refundable_minor()),
        (PaymentStatus::Captured, 2000)
    );

    let e = g.status("pi_doesnotexist").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Invalid { field, .. } if field == "reference"),
        "{e}"
    );
    let e = g.status("../v1/customers").await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Invalid { field, .. } if field == "reference"),
        "{e}"
    );
    let bad = StripeGateway::new(StripeConfig {
        api_base: ls.base.clone(),
        secret_key: "not-a-key".into(),
        ..Default::default()
    })
    .unwrap();
    let e = bad.status(&p).await.unwrap_err();
    assert!(
        matches!(&e, GatewayError::Unavailable(m) if m.contains("secret key")),
        "{e}"
    );
}

/// Accept one HTTP request on `listener`; answer 200; return its headers and body.
async fn receive_one(listener: tokio::net::TcpListener) -> (Vec<(String, String)>, Vec<u8>) {
    let (mut sock, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_len, length) = loop {
        let n = sock.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the headers ended");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0usize);
            break (at + 4, length);
        }
    };
    while buf.len() < head_len + length {
        let n = sock.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the body ended");
        buf.extend_from_slice(&chunk[..n]);
    }
    sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (headers, buf[head_len..head_len + length].to_vec())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn localstripe_webhooks_verify() {
    let Some(ls) = localstripe() else { return };
    let g = gateway(&ls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!(
        "http://127.0.0.1:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let r = reqwest::Client::new()
        .post(format!("{}/_config/webhooks/storefort", ls.base))
        .json(&serde_json::json!({
            "url": hook,
            "secret": WEBHOOK_SECRET,
            "events": ["payment_intent.succeeded"],
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "webhook config: {}", r.status());
    let received = tokio::spawn(receive_one(listener));

    let p = authorized(&ls, &g, 5, 1500).await;
    g.capture(&p, 1500).await.unwrap();
    let (headers, body) = tokio::time::timeout(Duration::from_secs(20), received)
        .await
        .expect("localstripe sent the webhook within 20 s")
        .unwrap();

    let e = g.webhook(&headers, &body, now_ms()).unwrap();
    assert!(e.id.starts_with("evt_"), "{}", e.id);
    assert_eq!(e.kind, "payment_intent.succeeded");
    assert_eq!(e.reference.as_deref(), Some(p.as_str()));
    let s = e.state.unwrap();
    assert_eq!((s.status, s.amount_minor), (PaymentStatus::Captured, 1500));

    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let e = g.webhook(&headers, &tampered, now_ms()).unwrap_err();
    assert!(matches!(e, GatewayError::BadSignature(_)), "{e}");
    let e = g
        .webhook(&headers, &body, now_ms() + 6 * 60 * 1000)
        .unwrap_err();
    assert!(matches!(e, GatewayError::BadSignature(m) if m.contains("5 minutes")));
}
