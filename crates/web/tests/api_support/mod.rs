//! Harness for the API tests: a fresh SQLite database with an owner, a write key, a read key and
//! a signed-in session, helpers to call the router, and a snapshot of everything the API can see
//! (to prove that a refused request changed nothing).

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use storefort_crypto::token;
use storefort_store::Db;
use storefort_web::{router, AppState, WebConfig};
use tower::ServiceExt;

pub struct T {
    pub app: axum::Router,
    pub db: Db,
    pub write_key: String,
    pub read_key: String,
    pub session: String,
    pub csrf: String,
    _dir: tempfile::TempDir,
}

pub async fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let db = db
        .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await
        .unwrap();
    let owner = db
        .create_user("owner@example.com", "Owner", "owner", "$argon2id$unused", 4)
        .await
        .unwrap();
    db.begin_mfa_enrolment(owner.id.as_str()).await.unwrap();
    db.confirm_mfa(owner.id.as_str(), 0, &[]).await.unwrap();
    let mut keys = Vec::new();
    for scope in ["write", "read"] {
        let k = format!("sf_{}", token::random_token());
        db.create_api_key(
            scope,
            &k[..10],
            &token::hash_token(&k),
            scope,
            owner.id.as_str(),
        )
        .await
        .unwrap();
        keys.push(k);
    }
    let session = token::random_token();
    let csrf = token::random_token();
    db.create_session(
        owner.id.as_str(),
        &token::hash_token(&session),
        &csrf,
        storefort_store::auth::Stage::Full,
        "127.0.0.1",
        "test",
    )
    .await
    .unwrap();
    let app = router(AppState::new(db.clone(), WebConfig::default()));
    T {
        app,
        db,
        read_key: keys.pop().unwrap(),
        write_key: keys.pop().unwrap(),
        session,
        csrf,
        _dir: dir,
    }
}

impl T {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(k) = auth {
            b = b.header("authorization", format!("Bearer {k}"));
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

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        )
    }

    pub async fn w(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .call(method, path, Some(&self.write_key), Some(body))
            .await;
        (s, v)
    }

    pub async fn get(&self, path: &str) -> Value {
        let (s, v, _) = self.call("GET", path, Some(&self.read_key), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// Everything the API can see, to prove a bad request changed nothing.
    pub async fn snapshot(&self) -> String {
        let mut out = String::new();
        for p in [
            "/api/v1/products?limit=100&status=active",
            "/api/v1/categories",
            "/api/v1/locations",
            "/api/v1/tax-classes",
        ] {
            out.push_str(&self.get(p).await.to_string());
        }
        let products = self.get("/api/v1/products?limit=100").await;
        for p in products["items"].as_array().unwrap() {
            for v in p["variants"].as_array().unwrap() {
                let id = v["id"].as_str().unwrap();
                out.push_str(
                    &self
                        .get(&format!("/api/v1/variants/{id}/stock"))
                        .await
                        .to_string(),
                );
                out.push_str(
                    &self
                        .get(&format!("/api/v1/variants/{id}/movements"))
                        .await
                        .to_string(),
                );
            }
        }
        out
    }
}

pub struct Seeded {
    pub product: String,
    pub variant: String,
    pub web: String,
    pub shop: String,
}

pub async fn seed(t: &T) -> Seeded {
    let (s, cat) = t
        .w("POST", "/api/v1/categories", json!({"name": "Mugs"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{cat}");
    let (s, p) = t
        .w("POST", "/api/v1/products", json!({"name": "Stoneware Mug", "category_id": cat["id"],
            "variants": [{"sku": "MUG-1", "barcode": "4006381333931", "price_minor": 1100, "options": {"Colour": "Navy"}}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (_, web) = t
        .w(
            "POST",
            "/api/v1/locations",
            json!({"name": "Web warehouse", "kind": "warehouse"}),
        )
        .await;
    let (_, shop) = t
        .w(
            "POST",
            "/api/v1/locations",
            json!({"name": "High Street shop", "kind": "shop"}),
        )
        .await;
    let variant = p["variants"][0]["id"].as_str().unwrap().to_string();
    let (s, m) = t
        .w("POST", "/api/v1/stock/adjust", json!({"variant_id": variant, "location_id": web["id"], "delta": 10, "reason": "received"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    Seeded {
        product: p["id"].as_str().unwrap().into(),
        variant,
        web: web["id"].as_str().unwrap().into(),
        shop: shop["id"].as_str().unwrap().into(),
    }
}

pub const UNKNOWN: &str = "0190f0a0-0000-7000-8000-000000000000";
