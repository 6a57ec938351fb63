//! Bad input on every endpoint: the right 4xx, the field named, and nothing changed.

mod api_support;

use api_support::{seed, setup, UNKNOWN};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

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
