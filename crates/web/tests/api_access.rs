//! Who may call the API: credentials on every route, CSRF for session changes, key scopes,
//! owner-only key management, revocation.

mod api_support;

use api_support::{seed, setup};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

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
