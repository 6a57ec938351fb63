//! The admin forms: products, variants, stock and API keys.

mod common;

use axum::http::{header, StatusCode};
use common::{app, OWNER_EMAIL};

#[tokio::test]
async fn create_product_through_the_form() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let new = t.get("/admin/products/new", Some(&cookie)).await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(new.body.contains("Shirts"), "category select");

    let form = |name: &'static str, sku: &'static str, price: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("description", "Warm.".to_string()),
            ("category_id", String::new()),
            ("status", "active".to_string()),
            ("allow_backorder", "on".to_string()),
            ("sku", sku.to_string()),
            ("barcode", String::new()),
            ("price", price.to_string()),
            ("size", "M".to_string()),
            ("colour", "Grey".to_string()),
        ]
    };
    async fn post(
        t: &common::TestApp,
        cookie: &str,
        f: Vec<(&'static str, String)>,
    ) -> common::Res {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        t.post("/admin/products/new", Some(cookie), &pairs).await
    }

    for bad in ["-3", "abc", "1.234"] {
        let r = post(&t, &cookie, form("Wool Jumper", "WJ-1", bad)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "price {bad}");
        assert!(r.body.contains("Price:"), "names the price field");
        assert!(
            r.body.contains("value=\"Wool Jumper\"")
                && r.body.contains(&format!("value=\"{bad}\"")),
            "keeps typed values"
        );
    }
    let dup = post(&t, &cookie, form("Wool Jumper", "LS-M", "30")).await;
    assert!(
        matches!(
            dup.status,
            StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
        ),
        "{}",
        dup.status
    );
    assert!(dup.body.contains("SKU"), "names the SKU");
    let blank = post(&t, &cookie, form("", "WJ-1", "30")).await;
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(blank.body.contains("Name:"));
    assert_eq!(
        t.product_count().await,
        1,
        "nothing created by failed posts"
    );

    let ok = post(&t, &cookie, form("Wool Jumper", "WJ-1", "12.50")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(ok.location().starts_with("/admin/products/"));
    let p = t.db.product_by_slug("wool-jumper").await.unwrap();
    assert_eq!(p.variants[0].price_minor, 1250);
    assert_eq!(p.variants[0].title(), "Grey / M");
    assert!(p.allow_backorder);
    let edit = t.get(ok.location(), Some(&cookie)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains("Product created.") && edit.body.contains("value=\"12.50\""));
    let shop = t.get("/p/wool-jumper", None).await;
    assert!(shop.body.contains("£12.50") && shop.body.contains("Available to order"));
}

#[tokio::test]
async fn edit_product_and_variants_through_forms() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let id = t.product.id.as_str();
    let r = t
        .post(
            &format!("/admin/products/{id}"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("name", "Linen Shirt"),
                ("description", "x"),
                ("status", "draft"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("/p/linen-shirt", None).await.status,
        StatusCode::NOT_FOUND
    );

    let v = t.product.variants[0].id.as_str();
    let bad = t
        .post(
            &format!("/admin/variants/{v}"),
            Some(&cookie),
            &[("csrf", &csrf), ("sku", "LS-L"), ("price", "45")],
        )
        .await;
    assert!(bad.status.is_client_error() && bad.body.contains("SKU"));
    let ok = t
        .post(
            &format!("/admin/variants/{v}"),
            Some(&cookie),
            &[("csrf", &csrf), ("sku", "LS-M2"), ("price", "40.00")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.variant(v).await.unwrap().price_minor, 4000);

    let add = t
        .post(
            &format!("/admin/products/{id}/variants"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("sku", "LS-XL"),
                ("price", "50"),
                ("size", "XL"),
            ],
        )
        .await;
    assert_eq!(add.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.product(id).await.unwrap().variants.len(), 3);
    let arch = t
        .post(
            &format!("/admin/variants/{v}/archive"),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(arch.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.product(id).await.unwrap().variants.len(), 2);
}

#[tokio::test]
async fn stock_forms_move_stock_and_fill_the_ledger() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let v = t.product.variants[0].id.as_str();
    let loc = t.location.id.as_str();
    let url = format!("/admin/variants/{v}/stock");
    let r = t
        .post(
            &format!("{url}/adjust"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("location_id", loc),
                ("delta", "7"),
                ("reason", "received"),
                ("note", "delivery #12"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(t.db.stock_levels(v).await.unwrap()[0].quantity, 7);
    let page = t.get(&url, Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "+7",
        "Received",
        OWNER_EMAIL,
        "delivery #12",
        "Main warehouse",
    ] {
        assert!(page.body.contains(needle), "ledger lacks {needle}");
    }

    let too_many = t
        .post(
            &format!("{url}/adjust"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("location_id", loc),
                ("delta", "-20"),
                ("reason", "damaged"),
            ],
        )
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_many.body.contains("only 7 in stock"), "explains why");
    assert!(
        too_many.body.contains("value=\"-20\""),
        "keeps the typed change"
    );
    assert_eq!(
        t.db.stock_levels(v).await.unwrap()[0].quantity,
        7,
        "nothing changed"
    );
    assert_eq!(t.db.movements(v, None, 10).await.unwrap().items.len(), 1);

    let garbage = t
        .post(
            &format!("{url}/adjust"),
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("location_id", loc),
                ("delta", "lots"),
                ("reason", "received"),
            ],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.body.contains("Change:"));

    let count = t
        .post(
            &format!("{url}/count"),
            Some(&cookie),
            &[("csrf", &csrf), ("location_id", loc), ("counted", "5")],
        )
        .await;
    assert_eq!(count.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.stock_levels(v).await.unwrap()[0].quantity, 5);
    let page = t.get(&url, Some(&cookie)).await;
    assert!(page.body.contains("Stock count") && page.body.contains("-2"));
    assert!(
        page.body.find("Stock count").unwrap() < page.body.find("delivery #12").unwrap(),
        "newest first"
    );
}

#[tokio::test]
async fn api_key_is_shown_once_and_works() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let bad = t
        .post(
            "/admin/api-keys",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Export"), ("scope", "admin")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Access:"));
    let r = t
        .post(
            "/admin/api-keys",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Export"), ("scope", "read")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let at = r.body.find("value=\"sf_").expect("key shown");
    let rest = &r.body[at + 7..];
    let key = rest[..rest.find('"').unwrap()].to_string();
    assert!(key.len() > 20);
    let list = t.get("/admin/api-keys", Some(&cookie)).await;
    assert!(
        list.body.contains("Export") && !list.body.contains(&key),
        "listed, never shown again"
    );

    let req = axum::http::Request::builder()
        .uri("/api/v1/products")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let api = t.send(req).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    assert!(api.body.contains("Linen Shirt"));

    let id = t.db.api_keys().await.unwrap()[0].id.0.clone();
    let rv = t
        .post(
            &format!("/admin/api-keys/{id}/revoke"),
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(rv.status, StatusCode::SEE_OTHER);
    let req = axum::http::Request::builder()
        .uri("/api/v1/products")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(t.send(req).await.status, StatusCode::UNAUTHORIZED);
}
