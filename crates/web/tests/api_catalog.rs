//! The catalog and stock through the API, the OpenAPI document and the security headers.

mod api_support;

use api_support::{seed, setup};
use axum::http::StatusCode;
use serde_json::json;

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
