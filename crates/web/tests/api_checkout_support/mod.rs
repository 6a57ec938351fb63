//! Harness for the headless checkout tests: a fresh SQLite database on a clock the test moves,
//! a product with 10 units at the web warehouse, a flat-rate delivery option, staff sessions
//! (manager, cashier) and a write API key, and helpers for the public and staff calls.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use storefort_core::catalog::ProductInput;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_crypto::token;
use storefort_store::db::ConnectOptions;
use storefort_store::order_read::OrderFilter;
use storefort_store::{Db, ManualClock};
use storefort_web::{router, AppState, WebConfig};
use tower::ServiceExt;

pub const PUBLIC_URL: &str = "https://localhost:8443";
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// A staff member's session.
pub struct Staff {
    pub email: String,
    pub session: String,
    pub csrf: String,
}

pub struct T {
    pub app: axum::Router,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub variant: String,
    pub location: String,
    pub shipping: String,
    pub manager: Staff,
    pub cashier: Staff,
    pub write_key: String,
    _dir: tempfile::TempDir,
}

async fn staff(db: &Db, email: &str, role: &str) -> Staff {
    let u = db
        .create_user(email, role, role, "$argon2id$unused", 4)
        .await
        .unwrap();
    if role != "cashier" {
        db.begin_mfa_enrolment(u.id.as_str()).await.unwrap();
        db.confirm_mfa(u.id.as_str(), 0, &[]).await.unwrap();
    }
    let session = token::random_token();
    let csrf = token::random_token();
    db.create_session(
        u.id.as_str(),
        &token::hash_token(&session),
        &csrf,
        storefort_store::auth::Stage::Full,
        "127.0.0.1",
        "test",
    )
    .await
    .unwrap();
    Staff {
        email: email.into(),
        session,
        csrf,
    }
}

pub async fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Db::connect_with(&url, ConnectOptions::default(), clock.clone())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let db = db
        .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await
        .unwrap();
    let owner = staff(&db, "owner@example.com", "owner").await;
    let _ = owner;
    let manager = staff(&db, "manager@example.com", "manager").await;
    let cashier = staff(&db, "cashier@example.com", "cashier").await;
    let owner_id = db
        .user_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let write_key = format!("sf_{}", token::random_token());
    db.create_api_key(
        "integration",
        &write_key[..10],
        &token::hash_token(&write_key),
        "write",
        owner_id.as_str(),
    )
    .await
    .unwrap();
    let location = db
        .create_location(
            serde_json::from_value(json!({"name": "Web warehouse", "kind": "warehouse"})).unwrap(),
        )
        .await
        .unwrap();
    let input: ProductInput =
        serde_json::from_value(json!({"name": "Stoneware Mug", "status": "active",
        "variants": [{"sku": "MUG-1", "price_minor": 1100}]}))
        .unwrap();
    let product = db.create_product(input).await.unwrap();
    let variant = product.variants[0].id.as_str().to_string();
    let change = storefort_store::stock::Change {
        variant_id: &variant,
        location_id: location.id.as_str(),
        note: "",
        actor: "test",
    };
    db.adjust_stock(&change, 10, storefort_core::stock::Reason::Received)
        .await
        .unwrap();
    let shipping = db
        .create_shipping_method(&ShippingMethod {
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
    let cfg = WebConfig {
        public_url: PUBLIC_URL.into(),
        ..WebConfig::default()
    };
    let app = router(AppState::new(db.clone(), cfg));
    T {
        app,
        db,
        clock,
        variant,
        location: location.id.as_str().to_string(),
        shipping,
        manager,
        cashier,
        write_key,
        _dir: dir,
    }
}

pub struct Res {
    pub status: StatusCode,
    pub body: Value,
}

impl T {
    pub async fn send(&self, req: Request<Body>) -> Res {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Res {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A call with the given headers (no staff credentials).
    pub async fn public(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Res {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }

    /// A call as a signed-in staff member (session cookie + CSRF header).
    pub async fn staff(&self, who: &Staff, method: &str, path: &str, body: Option<Value>) -> Res {
        let cookie = format!("__Host-sf_session={}", who.session);
        self.public(
            method,
            path,
            &[("cookie", &cookie), ("x-csrf-token", &who.csrf)],
            body,
        )
        .await
    }

    /// A call with the write API key.
    pub async fn key(&self, method: &str, path: &str, body: Option<Value>) -> Res {
        let auth = format!("Bearer {}", self.write_key);
        self.public(method, path, &[("authorization", &auth)], body)
            .await
    }

    /// A cart call with its token.
    pub async fn cart(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Res {
        self.public(method, path, &[("x-cart-token", token)], body)
            .await
    }

    /// A new cart's token.
    pub async fn new_cart(&self) -> String {
        let r = self.public("POST", "/api/v1/carts", &[], None).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// A new cart holding `qty` mugs.
    pub async fn cart_with(&self, qty: i64) -> String {
        let token = self.new_cart().await;
        let r = self
            .cart(
                &token,
                "POST",
                "/api/v1/cart/lines",
                Some(json!({"variant_id": self.variant, "quantity": qty})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        token
    }

    /// What the shopper submits at checkout.
    pub fn details(&self, payment_method: &str) -> Value {
        json!({
            "email": "ann@example.com",
            "phone": "020 7946 0958",
            "billing": {"name": "Ann Smith", "line1": "1 High St", "city": "Leeds",
                "postcode": "LS1 1AA", "country": "GB"},
            "shipping_same_as_billing": true,
            "shipping_method_id": self.shipping,
            "payment_method": payment_method,
        })
    }

    pub async fn checkout(&self, cart: &str, key: Option<&str>, body: Value) -> Res {
        let mut h = vec![("x-cart-token", cart)];
        if let Some(k) = key {
            h.push(("idempotency-key", k));
        }
        self.public("POST", "/api/v1/checkout", &h, Some(body))
            .await
    }

    /// The shopper's view of an order.
    pub async fn order(&self, id: &str, token: &str) -> Res {
        self.public(
            "GET",
            &format!("/api/v1/orders/{id}"),
            &[("x-order-token", token)],
            None,
        )
        .await
    }

    /// Units of the mug at the web warehouse.
    pub async fn stock(&self) -> i64 {
        self.db
            .stock_levels(&self.variant)
            .await
            .unwrap()
            .iter()
            .map(|l| l.quantity)
            .sum()
    }

    /// How many orders exist.
    pub async fn orders(&self) -> usize {
        self.db
            .orders_page(&OrderFilter::default())
            .await
            .unwrap()
            .items
            .len()
    }

    /// Stock, order count, and every order's status and refunds: to prove a refusal changed
    /// nothing.
    pub async fn snapshot(&self) -> String {
        let mut out = format!(
            "stock {} orders {}",
            self.stock().await,
            self.orders().await
        );
        for o in self
            .db
            .orders_page(&OrderFilter::default())
            .await
            .unwrap()
            .items
        {
            out.push_str(&format!(" {}:{}:{}", o.id, o.status, o.refunded_minor));
            let d = self
                .db
                .order_detail(&storefort_core::ids::OrderId(o.id.clone()))
                .await
                .unwrap();
            for p in d.payments {
                out.push_str(&format!(
                    " {}:{}:{}",
                    p.status, p.captured_minor, p.refunded_minor
                ));
            }
            out.push_str(&format!(" events {}", d.events.len()));
        }
        out
    }

    /// Place an order for 2 mugs with the sandbox and pay it (status `paid`).
    /// Returns (order id, access token, sandbox reference).
    pub async fn paid_order(&self) -> (String, String, String) {
        let cart = self.cart_with(2).await;
        let r = self
            .checkout(&cart, Some("paid-order"), self.details("sandbox"))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["order_id"].as_str().unwrap().to_string();
        let token = r.body["access_token"].as_str().unwrap().to_string();
        let url = r.body["payment"]["url"].as_str().unwrap();
        let reference = url.rsplit('/').next().unwrap().to_string();
        self.db
            .sandbox_set_outcome(
                &reference,
                storefort_store::sandbox::SandboxOutcome::Success,
            )
            .await
            .unwrap();
        let o = self.order(&id, &token).await;
        assert_eq!(o.body["status"], "paid", "{}", o.body);
        (id, token, reference)
    }

    /// Audit entries with `action`, newest first.
    pub async fn audit(&self, action: &str) -> Vec<storefort_store::audit::AuditEntry> {
        let f = storefort_store::audit::AuditFilter {
            action: Some(action.into()),
            ..Default::default()
        };
        self.db.audit_entries(&f).await.unwrap()
    }
}
