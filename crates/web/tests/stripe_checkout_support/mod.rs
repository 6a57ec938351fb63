//! Harness for the Stripe checkout test: localstripe (PyPI `localstripe` 1.15.10, a fake but
//! stateful Stripe) on a free loopback port, the test shop with the Stripe gateway pointed at
//! it and localstripe's fake Stripe.js approved for the payment page, storefort served on a
//! real loopback TCP listener (so localstripe can call `/webhooks/stripe`), a recorder that
//! keeps a copy of every webhook localstripe sends, and helpers for the shopper's steps.
//!
//! Without the `localstripe` executable the tests are skipped with a note, except under CI
//! (`CI=true`), where they fail.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use storefort_core::ids::OrderId;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_payments::{Gateways, StripeConfig, StripeGateway};
use storefort_store::order_read::OrderDetail;
use storefort_store::payment_scripts::NewScript;
use storefort_web::payment_page::sha384_sri;
use storefort_web::{router, AppState, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{self, add_stock, Res, TestApp, OWNER_EMAIL};

pub const SECRET_KEY: &str = "sk_test_storefort_e2e";
pub const PUBLISHABLE_KEY: &str = "pk_test_storefort_e2e";
pub const WEBHOOK_SECRET: &str = "whsec_test_storefort_e2e";
/// The events localstripe is asked to send (it sends nothing for refunds or cancels).
pub const EVENTS: [&str; 2] = ["payment_intent.succeeded", "payment_intent.payment_failed"];
/// Longest wait for a webhook (localstripe waits 1 s before sending).
pub const WEBHOOK_WAIT: Duration = Duration::from_secs(15);

/// A running localstripe, killed when dropped.
pub struct Localstripe {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Localstripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start localstripe on a free port, or `None` (test skipped, reason printed) when it is not
/// installed and this is not CI.
pub fn localstripe() -> Option<Localstripe> {
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
        eprintln!(
            "SKIPPED: the `localstripe` executable is not on PATH \
             (pip install localstripe==1.15.10)"
        );
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

/// One webhook delivery as received: headers (names lower-case) and the exact body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Read one HTTP/1.1 request (Content-Length body) from `sock`; answer 200.
async fn read_one(mut sock: tokio::net::TcpStream) -> Option<Delivery> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_len, length) = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
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
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let _ = sock
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Delivery {
        headers,
        body: buf[head_len..head_len + length].to_vec(),
    })
}

/// A second webhook endpoint registered with the same secret: localstripe sends it the same
/// signed body it sends storefort, so the test can replay exactly what Stripe delivered.
pub async fn recorder() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                if let Some(d) = read_one(sock).await {
                    keep.lock().unwrap().push(d);
                }
            });
        }
    });
    (url, got)
}

/// The shop, localstripe, and what the shopper needs.
pub struct Shop {
    pub t: TestApp,
    pub state: AppState,
    /// storefort's own address, `http://127.0.0.1:PORT`.
    pub base: String,
    pub ls: Localstripe,
    /// localstripe's fake Stripe.js, approved for the payment page.
    pub js_url: String,
    /// Its SHA-384 (SRI form), as fetched from localstripe.
    pub js_sri: String,
    pub shipping: String,
    pub variant: String,
    /// Every webhook localstripe sent (copies).
    pub hooks: Arc<Mutex<Vec<Delivery>>>,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
}

/// An order placed through `POST /api/v1/checkout`.
pub struct Placed {
    pub id: OrderId,
    pub token: String,
    /// The checkout answer.
    pub body: Value,
}

impl Shop {
    /// Everything started, or `None` when localstripe is not installed (outside CI).
    pub async fn start() -> Option<Shop> {
        let ls = localstripe()?;
        let t = common::app().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let js_url = format!("{}/js.stripe.com/v3/", ls.base);
        let stripe = StripeGateway::new(StripeConfig {
            api_base: ls.base.clone(),
            secret_key: SECRET_KEY.into(),
            publishable_key: PUBLISHABLE_KEY.into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            js_url: js_url.clone(),
        })
        .unwrap();
        let cfg = WebConfig {
            shop_name: "Stripe Test Shop".into(),
            https: false,
            public_url: base.clone(),
            ..WebConfig::default()
        };
        let state =
            AppState::with_gateways(t.db.clone(), cfg, Gateways::new().with(Arc::new(stripe)));
        let app = router(state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();

        // The owner approves the script localstripe really serves.
        let js = http.get(&js_url).send().await.unwrap();
        assert_eq!(js.status(), StatusCode::OK, "localstripe serves Stripe.js");
        let js_sri = sha384_sri(&js.bytes().await.unwrap());
        t.db.approve_script(
            &NewScript {
                url: js_url.clone(),
                sha384: js_sri.clone(),
                reason: "Stripe.js (localstripe) renders the card fields in Stripe's frame".into(),
                gateway: "stripe".into(),
            },
            OWNER_EMAIL,
        )
        .await
        .unwrap();

        // Webhooks: storefort's endpoint, and the recorder with the same secret.
        let (record_url, hooks) = recorder().await;
        for (id, url) in [
            ("storefort", format!("{base}/webhooks/stripe")),
            ("recorder", record_url),
        ] {
            let r = http
                .post(format!("{}/_config/webhooks/{id}", ls.base))
                .json(&json!({"url": url, "secret": WEBHOOK_SECRET, "events": EVENTS}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "webhook config: {}", r.status());
        }

        let shipping =
            t.db.create_shipping_method(&ShippingMethod {
                id: String::new(),
                name: "Royal Mail".into(),
                kind: ShippingKind::Flat,
                amount_minor: 395,
                threshold_minor: None,
                enabled: true,
            })
            .await
            .unwrap()
            .id;
        let variant = t.product.variants[0].id.as_str().to_string();
        add_stock(&t, &variant, 10).await;
        Some(Shop {
            t,
            state,
            base,
            ls,
            js_url,
            js_sri,
            shipping,
            variant,
            hooks,
            http,
        })
    }

    async fn res(r: reqwest::Response) -> Res {
        let status = r.status();
        let headers: HeaderMap = r.headers().clone();
        let body = r.text().await.unwrap();
        Res {
            status,
            headers,
            body,
        }
    }

    /// `GET` a storefort path (or full URL on storefort).
    pub async fn get(&self, path: &str) -> Res {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        Self::res(self.http.get(url).send().await.unwrap()).await
    }

    /// `POST` raw bytes to a storefort path with the given headers.
    pub async fn post_raw(&self, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Res {
        let mut b = self.http.post(format!("{}{path}", self.base));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        Self::res(b.body(body).send().await.unwrap()).await
    }

    /// A JSON call to storefort's API.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut b = self.http.request(m, format!("{}{path}", self.base));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        if let Some(v) = body {
            b = b.json(&v);
        }
        let r = b.send().await.unwrap();
        let status = r.status();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Cart with `qty` shirts, then checkout paying by Stripe (`key` is the Idempotency-Key).
    pub async fn checkout(&self, qty: i64, key: &str) -> Placed {
        let (s, cart) = self.api("POST", "/api/v1/carts", &[], None).await;
        assert_eq!(s, StatusCode::CREATED, "{cart}");
        let token = cart["token"].as_str().unwrap().to_string();
        let (s, c) = self
            .api(
                "POST",
                "/api/v1/cart/lines",
                &[("x-cart-token", &token)],
                Some(json!({"variant_id": self.variant, "quantity": qty})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{c}");
        let details = json!({
            "email": "sam@example.com",
            "phone": "020 7946 0958",
            "billing": {"name": "Sam Shopper", "line1": "1 High Street", "city": "Bath",
                "postcode": "BA1 1AA", "country": "GB"},
            "shipping_same_as_billing": true,
            "shipping_method_id": self.shipping,
            "payment_method": "stripe",
        });
        let (s, body) = self
            .api(
                "POST",
                "/api/v1/checkout",
                &[("x-cart-token", &token), ("idempotency-key", key)],
                Some(details),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        Placed {
            id: OrderId(body["order_id"].as_str().unwrap().to_string()),
            token: body["access_token"].as_str().unwrap().to_string(),
            body,
        }
    }

    pub fn pay_path(&self, p: &Placed) -> String {
        format!("/checkout/pay/{}?t={}", p.id.0, p.token)
    }

    pub fn order_path(&self, p: &Placed) -> String {
        format!("/orders/{}?t={}", p.id.0, p.token)
    }

    /// What Stripe.js does in the browser, done server-side against localstripe: attach a
    /// test card to the intent and confirm it. Returns the confirm call's HTTP status.
    pub async fn confirm(&self, reference: &str, payment_method: &str) -> u16 {
        let url = format!("{}/v1/payment_intents/{reference}", self.ls.base);
        let r = self
            .http
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
        let r = self
            .http
            .post(format!("{url}/confirm"))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }

    /// Where Stripe.js sends the shopper after confirming: the page's return URL plus the
    /// parameters Stripe appends.
    pub async fn come_back(
        &self,
        return_url: &str,
        client_secret: &str,
        redirect_status: &str,
    ) -> Res {
        let reference = reference_of(client_secret);
        let url = format!(
            "{return_url}&payment_intent={reference}&payment_intent_client_secret={client_secret}&redirect_status={redirect_status}"
        );
        assert!(url.starts_with(&self.base), "{url}");
        self.get(&url).await
    }

    /// A localstripe API object.
    pub async fn stripe_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.ls.base))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// The `payment_intent.succeeded` events localstripe holds for `reference`.
    pub async fn succeeded_events(&self, reference: &str) -> usize {
        let v = self
            .stripe_get("/v1/events?type=payment_intent.succeeded&limit=100")
            .await;
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["object"]["id"] == reference)
            .count()
    }

    /// localstripe's refunds of `reference`.
    pub async fn stripe_refunds(&self, reference: &str) -> Vec<Value> {
        let v = self
            .stripe_get(&format!("/v1/refunds?payment_intent={reference}&limit=100"))
            .await;
        v["data"].as_array().unwrap().clone()
    }

    pub async fn detail(&self, p: &Placed) -> OrderDetail {
        self.t.db.order_detail(&p.id).await.unwrap()
    }

    /// Event IDs storefort has processed, per gateway.
    pub async fn processed_events(&self) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT event_id FROM webhook_events WHERE gateway = 'stripe' ORDER BY event_id",
        )
        .fetch_all(&self.t.db.pool)
        .await
        .unwrap()
    }

    /// Wait until localstripe has delivered a `kind` event about `reference` and storefort has
    /// recorded it as processed; returns the recorder's copy of the delivery.
    pub async fn webhook(&self, kind: &str, reference: &str) -> Delivery {
        let deadline = Instant::now() + WEBHOOK_WAIT;
        loop {
            let found = self
                .hooks
                .lock()
                .unwrap()
                .iter()
                .find(|d| {
                    let v = d.json();
                    v["type"] == kind && v["data"]["object"]["id"] == reference
                })
                .cloned();
            if let Some(d) = found {
                let id = d.json()["id"].as_str().unwrap().to_string();
                if self.processed_events().await.contains(&id) {
                    return d;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {kind} webhook for {reference} processed within {WEBHOOK_WAIT:?}; \
                 recorded: {:?}, processed: {:?}",
                self.hooks
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|d| d.json()["type"].clone())
                    .collect::<Vec<_>>(),
                self.processed_events().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Queued emails of `kind` to the shopper.
    pub async fn emails(&self, kind: &str) -> usize {
        self.t
            .db
            .due_emails(100)
            .await
            .unwrap()
            .iter()
            .filter(|e| e.kind == kind && e.to == "sam@example.com")
            .count()
    }

    /// Everything about an order that a refused or repeated request must not change.
    pub async fn snapshot(&self, p: &Placed) -> String {
        let d = self.detail(p).await;
        let mut out = format!(
            "status {} refunded {} events {} refunds {} ",
            d.summary.status,
            d.summary.refunded_minor,
            d.events.len(),
            d.refunds.len()
        );
        for pay in &d.payments {
            out.push_str(&format!(
                "[{} {} {} {} {} {:?} {:?} {} {:?}] ",
                pay.reference,
                pay.status,
                pay.amount_minor,
                pay.captured_minor,
                pay.refunded_minor,
                pay.card_brand,
                pay.card_last4,
                pay.checks,
                pay.message
            ));
        }
        let mails = self.t.db.due_emails(100).await.unwrap().len();
        out.push_str(&format!("emails {mails}"));
        out
    }
}

/// The PaymentIntent a client secret belongs to (`pi_X_secret_Y` -> `pi_X`), as Stripe.js
/// reads it.
pub fn reference_of(client_secret: &str) -> String {
    client_secret
        .split_once("_secret_")
        .map(|(pi, _)| pi.to_string())
        .unwrap_or_default()
}

/// The value of `name="..."` (an attribute) in `html`, unescaped.
pub fn attr(html: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    let at = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + key.len()..];
    let v = &rest[..rest.find('"').unwrap()];
    v.replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
        .replace("&amp;", "&")
}

/// Now, UTC seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
