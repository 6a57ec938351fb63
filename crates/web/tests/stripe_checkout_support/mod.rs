//! Harness for the Stripe checkout test (`localstripe.rs`: the process and a webhook recorder;
//! `inspect.rs`: what the tests look at): localstripe (PyPI `localstripe` 1.15.10, a fake but
//! stateful Stripe) on a free loopback port, the test shop with the Stripe gateway pointed at
//! it and localstripe's fake Stripe.js approved for the payment page, storefort served on a
//! real loopback TCP listener (so localstripe can call `/webhooks/stripe`), a recorder that
//! keeps a copy of every webhook localstripe sends, and helpers for the shopper's steps.
//!
//! Without the `localstripe` executable the tests are skipped with a note, except under CI
//! (`CI=true`), where they fail.

#![allow(dead_code)]

mod inspect;
mod localstripe;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use storefort_core::ids::OrderId;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_payments::{Gateways, StripeConfig, StripeGateway};
use storefort_store::payment_scripts::NewScript;
use storefort_web::payment_page::sha384_sri;
use storefort_web::{router, AppState, WebConfig};

use crate::common::{self, add_stock, Res, TestApp, OWNER_EMAIL};
pub use localstripe::{localstripe, recorder, Delivery, Localstripe};

pub const SECRET_KEY: &str = "sk_test_storefort_e2e";
pub const PUBLISHABLE_KEY: &str = "pk_test_storefort_e2e";
pub const WEBHOOK_SECRET: &str = "whsec_test_storefort_e2e";
/// The events localstripe is asked to send (it sends nothing for refunds or cancels).
pub const EVENTS: [&str; 2] = ["payment_intent.succeeded", "payment_intent.payment_failed"];
/// Longest wait for a webhook (localstripe waits 1 s before sending).
pub const WEBHOOK_WAIT: Duration = Duration::from_secs(15);

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

    /// The card page of an order: `(client secret, return URL)` from its data attributes.
    pub async fn card_page(&self, p: &Placed) -> (String, String) {
        let page = self.get(&self.pay_path(p)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        (
            attr(&page.body, "data-client-secret"),
            attr(&page.body, "data-return-url"),
        )
    }

    /// An order for `qty` shirts paid with the test visa through the card page and the
    /// return. Returns the order, its PaymentIntent and that intent as localstripe showed it
    /// once authorized (before the capture).
    pub async fn paid_order(&self, qty: i64, key: &str) -> (Placed, String, Value) {
        let p = self.checkout(qty, key).await;
        let (secret, return_url) = self.card_page(&p).await;
        let pi = reference_of(&secret);
        assert_eq!(self.confirm(&pi, "pm_card_visa").await, 200);
        let authorized = self.stripe_get(&format!("/v1/payment_intents/{pi}")).await;
        assert_eq!(authorized["status"], "requires_capture");
        let back = self.come_back(&return_url, &secret, "succeeded").await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.body);
        assert_eq!(self.detail(&p).await.summary.status, "paid");
        (p, pi, authorized)
    }

    /// Deliver a Stripe event of our own making to `/webhooks/stripe`, signed now with the
    /// endpoint's secret (as Stripe would sign it).
    pub async fn send_event(&self, id: &str, kind: &str, object: Value) -> Res {
        let event = json!({"id": id, "object": "event", "type": kind, "created": now_secs(),
            "livemode": false, "data": {"object": object}});
        let body = serde_json::to_vec(&event).unwrap();
        let sig = storefort_payments::stripe_webhook::sign(WEBHOOK_SECRET, now_secs(), &body);
        let headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("stripe-signature", sig.as_str()),
        ];
        self.post_raw("/webhooks/stripe", &headers, body).await
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
