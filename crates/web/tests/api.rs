//! The JSON API driven in-process through the real router: authentication, CSRF, scopes, bad
//! input on every endpoint (right status, the field named, nothing changed), OpenAPI, headers.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use storefort_crypto::token;
use storefort_store::Db;
use storefort_web::{router, AppState, WebConfig};
use tower::ServiceExt;

struct T {
    app: axum::Router,
    db: Db,
    write_key: String,
    read_key: String,
    session: String,
    csrf: String,
    _dir: tempfile::TempDir,
}

async fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let owner = db
        .create_user("owner@example.com", "Owner", "owner", "$argon2id$unused", 4)
        .await
        .unwrap();
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
    async fn call(
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

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
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

    async fn w(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, v, _) = self
            .call(method, path, Some(&self.write_key), Some(body))
            .await;
        (s, v)
    }

    async fn get(&self, path: &str) -> Value {
        let (s, v, _) = self.call("GET", path, Some(&self.read_key), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// Everything the API can see, to prove a bad request changed nothing.
    async fn snapshot(&self) -> String {
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

struct Seeded {
    product: String,
    variant: String,
    web: String,
    shop: String,
}

async fn seed(t: &T) -> Seeded {
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

const UNKNOWN: &str = "0190f0a0-0000-7000-8000-000000000000";

#[tokio::test]
async fn every_route_needs_credentials() {
    let t = setup().await;
    let s = seed(&t).await;
    let routes = [
        ("GET", "/api/v1/products".to_string()),
        ("POST", "/api/v1/products".to_string()),
        ("GET", format!("/api/v1/products/{}", s.product)),
        ("PATCH", format!("/api/v1/products/{}", s.product)),
        ("POST", format!("/api/v1/products/{}/archive", s.product)),
        ("POST", format!("/api/v1/products/{}/variants", s.product)),
        ("GET", format!("/api/v1/variants/{}", s.variant)),
        ("GET", "/api/v1/variants/by-code/MUG-1".to_string()),
        ("PATCH", format!("/api/v1/variants/{}", s.variant)),
        ("POST", format!("/api/v1/variants/{}/archive", s.variant)),
        ("GET", format!("/api/v1/variants/{}/stock", s.variant)),
        ("GET", format!("/api/v1/variants/{}/movements", s.variant)),
        ("POST", "/api/v1/stock/adjust".to_string()),
        ("POST", "/api/v1/stock/transfer".to_string()),
        ("POST", "/api/v1/stock/count".to_string()),
        ("GET", "/api/v1/categories".to_string()),
        ("POST", "/api/v1/categories".to_string()),
        ("GET", "/api/v1/locations".to_string()),
        ("POST", "/api/v1/locations".to_string()),
        ("GET", format!("/api/v1/locations/{}", s.web)),
        ("GET", "/api/v1/tax-classes".to_string()),
        ("POST", "/api/v1/tax-classes".to_string()),
        ("GET", "/api/v1/api-keys".to_string()),
        ("POST", "/api/v1/api-keys".to_string()),
    ];
    let before = t.snapshot().await;
    for (m, p) in &routes {
        let (st, body, _) = t.call(m, p, None, Some(json!({}))).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p} without credentials");
        assert_eq!(body["error"]["code"], "unauthorized");
        let (st, _, _) = t
            .call(m, p, Some("sf_not-a-real-key"), Some(json!({})))
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p} with a made-up key");
        if *m != "GET" {
            let (st, _, _) = t.call(m, p, Some(&t.read_key), Some(json!({}))).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{m} {p} with a read-only key");
        }
    }
    assert_eq!(
        before,
        t.snapshot().await,
        "refused requests changed nothing"
    );
    let (st, doc, _) = t.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK, "the OpenAPI document is public");
    for (_, p) in &routes {
        let templ = p
            .replace(&s.product, "{id}")
            .replace(&s.variant, "{id}")
            .replace(&s.web, "{id}")
            .replace("MUG-1", "{code}");
        assert!(doc["paths"].get(&templ).is_some(), "{templ} is documented");
    }
}

#[tokio::test]
async fn session_changes_need_the_csrf_header() {
    let t = setup().await;
    let cookie = format!("__Host-sf_session={}", t.session);
    let post = |csrf: Option<&str>| {
        let mut b = Request::builder()
            .method("POST")
            .uri("/api/v1/categories")
            .header("cookie", &cookie)
            .header("content-type", "application/json");
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        b.body(Body::from(json!({"name": "Hats"}).to_string()))
            .unwrap()
    };
    let (st, body, _) = t.send(post(None)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let (st, _, _) = t.send(post(Some("wrong"))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(t.db.categories().await.unwrap().len(), 0);
    let (st, _, headers) = t.send(post(Some(&t.csrf))).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(headers["cache-control"], "no-store");
    let get = Request::builder()
        .uri("/api/v1/categories")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (st, body, _) = t.send(get).await;
    assert_eq!(
        (st, body[0]["name"].as_str()),
        (StatusCode::OK, Some("Hats")),
        "GET needs no CSRF token"
    );
}

#[tokio::test]
async fn api_keys_are_owner_only_shown_once_and_revocable() {
    let t = setup().await;
    let cookie = format!("__Host-sf_session={}", t.session);
    let (st, _) = t
        .w(
            "POST",
            "/api/v1/api-keys",
            json!({"name": "x", "scope": "write"}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an API key cannot mint API keys");
    let req = |body: Value| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/api-keys")
            .header("cookie", &cookie)
            .header("x-csrf-token", &t.csrf)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (st, body, _) = t.send(req(json!({"name": "ERP", "scope": "admin"}))).await;
    assert_eq!(
        (st, body["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("scope"))
    );
    let (st, created, _) = t.send(req(json!({"name": "ERP", "scope": "read"}))).await;
    assert_eq!(st, StatusCode::CREATED);
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sf_"));
    let (st, _, _) = t.call("GET", "/api/v1/products", Some(&key), None).await;
    assert_eq!(st, StatusCode::OK);
    let list = Request::builder()
        .uri("/api/v1/api-keys")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (_, keys, _) = t.send(list).await;
    assert!(
        !keys.to_string().contains(&key),
        "the key itself is never listed"
    );
    let id = created["record"]["id"].as_str().unwrap();
    let del = Request::builder()
        .method("DELETE")
        .uri(format!("/api/v1/api-keys/{id}"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &t.csrf)
        .body(Body::empty())
        .unwrap();
    assert_eq!(t.send(del).await.0, StatusCode::NO_CONTENT);
    let (st, _, _) = t.call("GET", "/api/v1/products", Some(&key), None).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a revoked key's next request is refused"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_named_and_changes_nothing() {
    let t = setup().await;
    let s = seed(&t).await;
    let p = format!("/api/v1/products/{}", s.product);
    let v = format!("/api/v1/variants/{}", s.variant);
    let variant = |sku: &str, price: Value| json!({"name": "X", "variants": [{"sku": sku, "price_minor": price}]});
    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": 5, "variants": []}),
            422,
            "name",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": "X", "colour": "red", "variants": []}),
            422,
            "colour",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"variants": []}),
            422,
            "name",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": "X", "variants": []}),
            422,
            "variants",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("NEW-1", json!(-1)),
            422,
            "variants[0].price_minor",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("NEW-1", json!(1e30)),
            422,
            "variants[0].price_minor",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("NEW-1", json!(10_000_000_001i64)),
            422,
            "variants[0].price_minor",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("NEW-1", json!("12.50")),
            422,
            "variants[0].price_minor",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("MUG-1", json!(100)),
            409,
            "sku",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            variant("has space", json!(100)),
            422,
            "variants[0].sku",
        ),
        (
            "POST",
            "/api/v1/products".into(),
            json!({"name": "X", "category_id": UNKNOWN, "variants": [{"sku": "N", "price_minor": 1}]}),
            422,
            "category_id",
        ),
        (
            "PATCH",
            p.clone(),
            json!({"status": "deleted"}),
            422,
            "status",
        ),
        ("PATCH", p.clone(), json!({"name": ""}), 422, "name"),
        (
            "PATCH",
            p.clone(),
            json!({"slug": "Not A Slug"}),
            422,
            "slug",
        ),
        (
            "PATCH",
            format!("/api/v1/products/{UNKNOWN}"),
            json!({"name": "Y"}),
            404,
            "",
        ),
        (
            "POST",
            format!("{p}/variants"),
            json!({"sku": "MUG-1", "price_minor": 5}),
            409,
            "sku",
        ),
        (
            "POST",
            format!("{p}/variants"),
            json!({"sku": "MUG-2", "barcode": "4006381333931", "price_minor": 5}),
            409,
            "barcode",
        ),
        (
            "POST",
            format!("{p}/variants"),
            json!({"sku": "MUG-2", "barcode": "4006381333932", "price_minor": 5}),
            422,
            "barcode",
        ),
        (
            "POST",
            format!("/api/v1/products/{UNKNOWN}/variants"),
            json!({"sku": "MUG-3", "price_minor": 5}),
            404,
            "",
        ),
        (
            "PATCH",
            v.clone(),
            json!({"price_minor": -5}),
            422,
            "price_minor",
        ),
        (
            "PATCH",
            v.clone(),
            json!({"price_minor": 9223372036854775808u64}),
            422,
            "price_minor",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "delta": 0, "reason": "received"}),
            422,
            "delta",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "delta": -11, "reason": "damaged"}),
            422,
            "quantity",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "delta": 1, "reason": "transfer_in"}),
            422,
            "reason",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "delta": 1, "reason": "gift"}),
            422,
            "reason",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": UNKNOWN, "location_id": s.web, "delta": 1, "reason": "received"}),
            404,
            "",
        ),
        (
            "POST",
            "/api/v1/stock/adjust".into(),
            json!({"variant_id": s.variant, "location_id": UNKNOWN, "delta": 1, "reason": "received"}),
            404,
            "",
        ),
        (
            "POST",
            "/api/v1/stock/transfer".into(),
            json!({"variant_id": s.variant, "from_location_id": s.web, "to_location_id": s.web, "quantity": 1}),
            422,
            "to_location_id",
        ),
        (
            "POST",
            "/api/v1/stock/transfer".into(),
            json!({"variant_id": s.variant, "from_location_id": s.web, "to_location_id": s.shop, "quantity": 11}),
            422,
            "quantity",
        ),
        (
            "POST",
            "/api/v1/stock/transfer".into(),
            json!({"variant_id": s.variant, "from_location_id": s.web, "to_location_id": s.shop, "quantity": 0}),
            422,
            "quantity",
        ),
        (
            "POST",
            "/api/v1/stock/count".into(),
            json!({"variant_id": s.variant, "location_id": s.web, "counted": -1}),
            422,
            "counted",
        ),
        (
            "POST",
            "/api/v1/stock/count".into(),
            json!({"variant_id": s.variant, "location_id": s.web}),
            422,
            "counted",
        ),
        (
            "POST",
            "/api/v1/categories".into(),
            json!({"name": "  "}),
            422,
            "name",
        ),
        (
            "POST",
            "/api/v1/categories".into(),
            json!({"name": "Mugs"}),
            409,
            "slug",
        ),
        (
            "POST",
            "/api/v1/locations".into(),
            json!({"name": "Van", "kind": "truck"}),
            422,
            "kind",
        ),
        (
            "POST",
            "/api/v1/locations".into(),
            json!({"name": "Web warehouse", "kind": "shop"}),
            409,
            "name",
        ),
        (
            "POST",
            "/api/v1/tax-classes".into(),
            json!({"name": "Silly", "rate_bp": 10001}),
            422,
            "rate_bp",
        ),
    ];
    let before = t.snapshot().await;
    for (m, path, body, status, field) in &cases {
        let (st, err) = t.w(m, path, body.clone()).await;
        assert_eq!(st.as_u16(), *status, "{m} {path} {body}: {err}");
        if !field.is_empty() {
            assert_eq!(err["error"]["field"], *field, "{m} {path} {body}: {err}");
        }
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{err}"
        );
    }
    assert_eq!(
        before,
        t.snapshot().await,
        "no bad request changed anything"
    );
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_bodies() {
    let t = setup().await;
    seed(&t).await;
    let before = t.snapshot().await;
    let raw = |body: Body, ctype: &str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/products")
            .header("authorization", format!("Bearer {}", t.write_key))
            .header("content-type", ctype)
            .body(body)
            .unwrap()
    };
    let (st, e, _) = t
        .send(raw(Body::from("{\"name\": "), "application/json"))
        .await;
    assert_eq!(
        (st, e["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("body"))
    );
    let (st, _, _) = t
        .send(raw(
            Body::from("name=x"),
            "application/x-www-form-urlencoded",
        ))
        .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let big = format!(
        "{{\"name\": \"{}\", \"variants\": []}}",
        "x".repeat(400 * 1024)
    );
    let (st, e, _) = t.send(raw(Body::from(big), "application/json")).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{e}");
    assert_eq!(e["error"]["code"], "body_too_large");
    assert_eq!(before, t.snapshot().await);
}

#[tokio::test]
async fn listing_filters_pagination_and_bad_parameters() {
    let t = setup().await;
    let s = seed(&t).await;
    for i in 0..4 {
        let (st, _) = t.w("POST", "/api/v1/products", json!({"name": format!("Tea Towel {i}"), "variants": [{"sku": format!("TT-{i}"), "price_minor": 700}]})).await;
        assert_eq!(st, StatusCode::CREATED);
    }
    let page1 = t.get("/api/v1/products?limit=2").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = t
        .get(&format!("/api/v1/products?limit=2&cursor={cursor}"))
        .await;
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
    assert_eq!(
        t.get("/api/v1/products?q=towel").await["items"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        t.get("/api/v1/products?q=4006381333931").await["items"][0]["id"],
        s.product.as_str(),
        "search by barcode"
    );
    assert_eq!(
        t.get("/api/v1/products?q=TT-2").await["items"][0]["name"],
        "Tea Towel 2",
        "search by SKU"
    );
    assert_eq!(
        t.get("/api/v1/variants/by-code/MUG-1").await["id"],
        s.variant.as_str()
    );
    let cat = t.get("/api/v1/categories").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.get(&format!("/api/v1/products?category_id={cat}")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    for (q, field, status) in [
        ("cursor=bm90LWEtY3Vyc29y", "cursor", 422),
        ("limit=abc", "limit", 400),
        ("limit=0", "limit", 422),
        ("limit=101", "limit", 422),
        ("status=gone", "status", 400),
        ("sort=price", "sort", 400),
    ] {
        let (st, e, _) = t
            .call(
                "GET",
                &format!("/api/v1/products?{q}"),
                Some(&t.read_key),
                None,
            )
            .await;
        assert_eq!(
            (st.as_u16(), e["error"]["field"].as_str()),
            (status, Some(field)),
            "{q}: {e}"
        );
    }
    let (st, _, _) = t
        .call(
            "GET",
            &format!("/api/v1/products/{UNKNOWN}"),
            Some(&t.read_key),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = t
        .call(
            "GET",
            "/api/v1/products/../../etc/passwd",
            Some(&t.read_key),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, e, _) = t.call("GET", "/api/v1/nope", Some(&t.read_key), None).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn stock_flows_through_the_api_and_the_ledger() {
    let t = setup().await;
    let s = seed(&t).await;
    let (st, r) = t.w("POST", "/api/v1/stock/transfer", json!({"variant_id": s.variant, "from_location_id": s.web, "to_location_id": s.shop, "quantity": 4, "note": "for the window"})).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["out"]["quantity_after"].as_i64(),
            r["in"]["quantity_after"].as_i64()
        ),
        (Some(6), Some(4))
    );
    let (st, r) = t
        .w(
            "POST",
            "/api/v1/stock/count",
            json!({"variant_id": s.variant, "location_id": s.shop, "counted": 3}),
        )
        .await;
    assert_eq!((st, r["delta"].as_i64()), (StatusCode::OK, Some(-1)));
    let levels = t
        .get(&format!("/api/v1/variants/{}/stock", s.variant))
        .await;
    assert_eq!(
        levels
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity"].as_i64().unwrap())
            .sum::<i64>(),
        9
    );
    let ledger = t
        .get(&format!(
            "/api/v1/variants/{}/movements?limit=10",
            s.variant
        ))
        .await;
    let reasons: Vec<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["count", "transfer_in", "transfer_out", "received"]
    );
    assert!(ledger["items"][0]["actor"]
        .as_str()
        .unwrap()
        .starts_with("api-key:"));
    assert_eq!(
        t.get(&format!("/api/v1/variants/{}", s.variant)).await["available"],
        9
    );
}

#[tokio::test]
async fn openapi_and_security_headers() {
    let t = setup().await;
    let (st, doc, h) = t.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert!(doc["components"]["schemas"]["ProductInput"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    for (name, value) in [
        (
            "strict-transport-security",
            "max-age=63072000; includeSubDomains",
        ),
        ("x-content-type-options", "nosniff"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
    ] {
        assert_eq!(h[name], value, "{name}");
    }
    let csp = h["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "script-src 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!h.contains_key("server"));
    let (st, _, h) = t.call("GET", "/healthz", None, None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h.contains_key("strict-transport-security"));
    let (_, _, h) = t
        .call("GET", "/api/v1/products", Some(&t.read_key), None)
        .await;
    assert_eq!(
        h["cache-control"], "no-store",
        "authenticated responses are not cached"
    );
}
