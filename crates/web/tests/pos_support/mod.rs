//! Shared by the till API tests: a paired till at the test location, a cashier and a manager
//! with PINs, and JSON calls carrying the till's cookie, the request header and the cashier's
//! token.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::common::{add_stock, TestApp};

pub const CASHIER_PIN: &str = "2580";
pub const MANAGER_PIN: &str = "97531";

/// A paired till with a cashier signed in.
pub struct Till {
    /// `__Host-sf_pos=...`
    pub cookie: String,
    /// The cashier's token (empty: nobody signed in).
    pub token: String,
    /// The offline grant from the last unlock.
    pub grant: String,
    pub device_id: String,
    pub cashier_id: String,
    pub manager_id: String,
}

/// A JSON answer.
#[derive(Debug)]
pub struct J {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl J {
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

pub async fn call(
    t: &TestApp,
    method: &str,
    path: &str,
    till: Option<&Till>,
    body: Option<Value>,
) -> J {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(path)
        .header("x-pos-request", "1");
    if let Some(till) = till {
        if !till.cookie.is_empty() {
            b = b.header(header::COOKIE, &till.cookie);
        }
        if !till.token.is_empty() {
            b = b.header("x-pos-cashier", &till.token);
        }
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let res = t.send(req).await;
    J {
        status: res.status,
        headers: res.headers,
        body: serde_json::from_str(&res.body).unwrap_or(Value::String(res.body)),
    }
}

/// Make a staff member with a PIN; returns their ID.
pub async fn staff(t: &TestApp, email: &str, name: &str, role: &str, pin: &str) -> String {
    let hash = storefort_crypto::password::hash("a long enough password 123").unwrap();
    let u = t.db.create_user(email, name, role, &hash, 4).await.unwrap();
    t.db.set_pin(&u.id.0, pin, "test").await.unwrap();
    u.id.0
}

/// Register and pair a till at the test location (with 100 units of each shirt size there).
pub async fn paired(t: &TestApp) -> Till {
    for v in &t.product.variants {
        add_stock(t, &v.id.0, 100).await;
    }
    let (device, code) =
        t.db.register_device("Front counter", t.location.id.as_str(), "test")
            .await
            .unwrap();
    let res = call(
        t,
        "POST",
        "/pos/api/pair",
        None,
        Some(json!({"code": code, "app_version": "1.0"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let set = res
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let cashier_id = staff(
        t,
        "casey@example.com",
        "Casey Cashier",
        "cashier",
        CASHIER_PIN,
    )
    .await;
    let manager_id = staff(
        t,
        "morgan@example.com",
        "Morgan Manager",
        "manager",
        MANAGER_PIN,
    )
    .await;
    Till {
        cookie: set.split(';').next().unwrap().to_string(),
        token: String::new(),
        grant: String::new(),
        device_id: device.id,
        cashier_id,
        manager_id,
    }
}

/// Sign `who` in with `pin`; keeps the token on success.
pub async fn unlock(t: &TestApp, till: &mut Till, who: &str, pin: &str) -> J {
    let res = call(
        t,
        "POST",
        "/pos/api/unlock",
        Some(till),
        Some(json!({"cashier_id": who, "pin": pin})),
    )
    .await;
    if res.status == StatusCode::OK {
        till.token = res.body["token"].as_str().unwrap().to_string();
        till.grant = res.body["offline_grant"].as_str().unwrap().to_string();
    }
    res
}

/// A paired till with the cashier signed in and a shift open with a £100 float.
pub async fn selling(t: &TestApp) -> Till {
    let mut till = paired(t).await;
    let cashier = till.cashier_id.clone();
    let res = unlock(t, &mut till, &cashier, CASHIER_PIN).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    let res = call(
        t,
        "POST",
        "/pos/api/shift/open",
        Some(&till),
        Some(json!({"float_minor": 10_000})),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
    till
}

/// The M shirt's variant ID (£45.00).
pub fn shirt_m(t: &TestApp) -> String {
    t.product.variants[0].id.0.clone()
}

/// A cash sale of `qty` M shirts with `tendered` handed over.
pub fn cash_sale(t: &TestApp, key: &str, qty: i64, tendered: i64) -> Value {
    let total = 4_500 * qty;
    json!({
        "key": key,
        "lines": [{"variant_id": shirt_m(t), "quantity": qty, "unit_price_minor": 4_500}],
        "payments": [{"method": "cash", "amount_minor": total, "tendered_minor": tendered}],
        "total_minor": total,
    })
}

/// Orders on the till channel.
pub async fn till_orders(t: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE channel = 'pos'")
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

/// Audit actions recorded so far.
pub async fn audit_actions(t: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
        .fetch_all(&t.db.pool)
        .await
        .unwrap()
}
