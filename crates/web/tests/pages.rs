//! The storefront and admin pages, driven in-process through the real router.

mod common;

use axum::http::{header, StatusCode};
use common::{app, OWNER_EMAIL};
use storefort_core::catalog::{ProductInput, ProductStatus, VariantInput};
use storefort_core::stock::Reason;
use storefort_store::stock::Change;

async fn add_stock(t: &common::TestApp, variant: &str, qty: i64) {
    let c = Change {
        variant_id: variant,
        location_id: t.location.id.as_str(),
        note: "",
        actor: "test",
    };
    t.db.adjust_stock(&c, qty, Reason::Received).await.unwrap();
}

fn simple_product(name: &str, sku: &str, status: ProductStatus) -> ProductInput {
    ProductInput {
        name: name.into(),
        status: Some(status),
        variants: vec![VariantInput {
            sku: sku.into(),
            price_minor: 1000,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn storefront_shows_active_products_with_price_and_availability() {
    let t = app().await;
    let home = t.get("/", None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Linen Shirt"));
    assert!(
        home.body.contains("from £45.00"),
        "price range shown as 'from'"
    );
    assert!(home.body.contains("Out of stock"));
    assert!(home.body.contains("href=\"/c/shirts\""), "category nav");

    add_stock(&t, t.product.variants[0].id.as_str(), 10).await;
    let cat = t.get("/c/shirts", None).await;
    assert_eq!(cat.status, StatusCode::OK);
    assert!(cat.body.contains("Linen Shirt") && cat.body.contains("In stock"));

    let p = t.get("/p/linen-shirt", None).await;
    assert_eq!(p.status, StatusCode::OK);
    for needle in [
        "Linen Shirt",
        "Cool in summer.",
        "LS-M",
        "LS-L",
        "£45.00",
        "£48.00",
        "In stock",
        "Out of stock",
    ] {
        assert!(p.body.contains(needle), "product page lacks {needle}");
    }

    for q in ["linen", "LS-L", "SHIRT"] {
        let s = t.get(&format!("/search?q={q}"), None).await;
        assert_eq!(s.status, StatusCode::OK);
        assert!(s.body.contains("href=\"/p/linen-shirt\""), "search {q}");
    }
    let none = t.get("/search?q=trousers", None).await;
    assert!(
        !none.body.contains("href=\"/p/linen-shirt\"") && none.body.contains("Nothing matched")
    );
    let prompt = t.get("/search", None).await;
    assert_eq!(prompt.status, StatusCode::OK);
    assert!(prompt.body.contains("Type part of a product name"));
    let long = t.get(&format!("/search?q={}", "a".repeat(201)), None).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn hidden_and_unknown_things_are_404_pages() {
    let t = app().await;
    let draft =
        t.db.create_product(simple_product("Secret Draft", "SD-1", ProductStatus::Draft))
            .await
            .unwrap();
    let r = t.get(&format!("/p/{}", draft.slug), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("Secret Draft"));
    assert!(!t.get("/", None).await.body.contains("Secret Draft"));
    assert!(!t
        .get("/search?q=secret", None)
        .await
        .body
        .contains("Secret Draft"));
    t.db.archive_product(t.product.id.as_str()).await.unwrap();
    assert_eq!(
        t.get("/p/linen-shirt", None).await.status,
        StatusCode::NOT_FOUND
    );
    for path in ["/p/no-such-thing", "/c/no-such-category", "/no/such/page"] {
        let r = t.get(path, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.body.contains("Page not found"),
            "{path} renders the HTML 404 page"
        );
        assert!(r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
}

#[tokio::test]
async fn category_pages_paginate_and_reject_bad_cursors() {
    let t = app().await;
    let cat = t.product.category_id.clone();
    for i in 0..24 {
        let mut p = simple_product(
            &format!("Tee {i:02}"),
            &format!("TEE-{i:02}"),
            ProductStatus::Active,
        );
        p.category_id = cat.clone();
        t.db.create_product(p).await.unwrap();
    }
    let first = t.get("/c/shirts", None).await;
    assert_eq!(first.status, StatusCode::OK);
    let at = first
        .body
        .find("/c/shirts?cursor=")
        .expect("a next page link");
    let rest = &first.body[at..];
    let next = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
    let second = t.get(&next, None).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.body.contains("Tee 23"), "25th product on page two");
    assert!(!second.body.contains("Next page"));

    let bad = t.get("/c/shirts?cursor=not-a-cursor!", None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("broken or out of date"));
    assert!(
        !bad.body.contains("cursor this server issued"),
        "no internal wording"
    );
    assert_eq!(
        t.get("/search?q=tee&cursor=bogus", None).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn admin_pages_need_a_session() {
    let t = app().await;
    for path in ["/admin", "/admin/products", "/admin/api-keys"] {
        let r = t.get(path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(
            r.location().starts_with("/admin/login?next="),
            "{path} -> {}",
            r.location()
        );
    }
    let r = t
        .post(
            "/admin/products/new",
            Some("__Host-sf_session=forged"),
            &[("name", "X")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(t.product_count().await, 1);
}

#[tokio::test]
async fn login_wrong_password_is_401_without_cookie() {
    let t = app().await;
    let r = t
        .post(
            "/admin/login",
            None,
            &[
                ("email", OWNER_EMAIL),
                ("password", "wrong password 123"),
                ("next", "/admin"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("email or password is wrong"));
    assert!(r.body.contains(OWNER_EMAIL), "typed email kept");
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let unknown = t
        .post(
            "/admin/login",
            None,
            &[("email", "nobody@example.com"), ("password", "x")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn login_sets_a_strict_host_cookie_and_honours_admin_next_only() {
    let t = app().await;
    let r = t
        .post(
            "/admin/login",
            None,
            &[
                ("email", OWNER_EMAIL),
                ("password", common::OWNER_PASSWORD),
                ("next", "/admin/products?q=x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/admin/products?q=x");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-sf_session="));
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }

    for evil in ["https://evil.example", "//evil.example/admin", "/shop"] {
        let r = t
            .post(
                "/admin/login",
                None,
                &[
                    ("email", OWNER_EMAIL),
                    ("password", common::OWNER_PASSWORD),
                    ("next", evil),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location(), "/admin", "next={evil} ignored");
    }
    let form = t
        .get("/admin/login?next=https%3A%2F%2Fevil.example", None)
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(!form.body.contains("evil.example"));
    assert!(form.body.contains("name=\"next\" value=\"/admin\""));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    assert_eq!(
        t.post("/admin/logout", Some(&cookie), &[("csrf", "nope")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = t
        .post("/admin/logout", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        t.get("/admin", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_change_nothing() {
    let t = app().await;
    let (cookie, csrf) = t.login().await;
    let fields = [
        ("name", "Sneaky"),
        ("status", "active"),
        ("sku", "SNK-1"),
        ("price", "5.00"),
    ];
    let missing = t.post("/admin/products/new", Some(&cookie), &fields).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "not-the-token"));
    assert_eq!(
        t.post("/admin/products/new", Some(&cookie), &wrong)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.product_count().await, 1);
    let v = t.product.variants[0].id.as_str();
    let adj = [
        ("location_id", t.location.id.as_str()),
        ("delta", "5"),
        ("reason", "received"),
        ("csrf", "x"),
    ];
    assert_eq!(
        t.post(
            &format!("/admin/variants/{v}/stock/adjust"),
            Some(&cookie),
            &adj
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(t.db.stock_levels(v).await.unwrap()[0].quantity, 0);
    let arch = t
        .post(
            &format!("/admin/products/{}/archive", t.product.id),
            Some(&cookie),
            &[],
        )
        .await;
    assert_eq!(arch.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.db.product(t.product.id.as_str()).await.unwrap().status,
        ProductStatus::Active
    );
    assert!(!csrf.is_empty());
}

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

#[tokio::test]
async fn product_names_are_html_escaped() {
    let t = app().await;
    let p =
        t.db.create_product(simple_product(
            "<script>alert(1)</script>",
            "XSS-1",
            ProductStatus::Active,
        ))
        .await
        .unwrap();
    let r = t.get(&format!("/p/{}", p.slug), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let escaped = |b: &str| {
        b.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || b.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
    };
    assert!(escaped(&r.body), "name shown, escaped");
    assert!(!r.body.contains("<script>alert(1)"));
    assert!(!t.get("/", None).await.body.contains("<script>alert(1)"));
    let (cookie, _) = t.login().await;
    let admin = t
        .get(&format!("/admin/products/{}", p.id), Some(&cookie))
        .await;
    assert!(!admin.body.contains("<script>alert(1)") && escaped(&admin.body));
}

#[tokio::test]
async fn every_page_has_the_csp_and_no_inline_code() {
    let t = app().await;
    let (cookie, _) = t.login().await;
    let v = t.product.variants[0].id.as_str();
    let pages = [
        ("/", false),
        ("/c/shirts", false),
        ("/p/linen-shirt", false),
        ("/search?q=linen", false),
        ("/search", false),
        ("/nope", false),
        ("/c/shirts?cursor=bad", false),
        ("/admin/login", false),
        ("/admin", true),
        ("/admin/products", true),
        ("/admin/products/new", true),
        (&format!("/admin/products/{}", t.product.id), true),
        (&format!("/admin/variants/{v}/stock"), true),
        ("/admin/api-keys", true),
    ];
    for (path, authed) in pages {
        let r = t.get(path, authed.then_some(cookie.as_str())).await;
        let csp = r
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "{path}: CSP {csp:?}"
        );
        assert!(
            r.body.contains("<main id=\"main\""),
            "{path} ({}) renders a page",
            r.status
        );
        for (i, _) in r.body.match_indices("<script") {
            let tag = &r.body[i..i + r.body[i..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{path}: inline script");
        }
        assert!(
            !r.body.contains(" style=") && !r.body.contains("<style"),
            "{path}: inline style"
        );
    }
}

#[tokio::test]
async fn static_files_are_embedded_and_cacheable() {
    let t = app().await;
    let css = t.get("/static/style.css", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(css.headers[header::CACHE_CONTROL], "public, max-age=3600");
    assert!(css.body.contains(":focus-visible"));
    assert_eq!(
        t.get("/static/../Cargo.toml", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/static/nope.js", None).await.status,
        StatusCode::NOT_FOUND
    );
}
