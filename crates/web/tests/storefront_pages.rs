//! The storefront pages and what every page shares: rendering, 404s, pagination, escaping,
//! the CSP, static files.

mod common;

use axum::http::{header, StatusCode};
use common::{add_stock, app, simple_product};
use storefort_core::catalog::ProductStatus;

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
