//! Signing in and out of the admin, and CSRF on its forms.

mod common;

use axum::http::{header, StatusCode};
use common::{app, OWNER_EMAIL};
use storefort_core::catalog::ProductStatus;

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
    assert!(r.body.contains("Email or password is wrong"));
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
    // The owner has MFA, so the code page comes first and carries `next` on.
    assert_eq!(r.location(), "/admin/mfa?next=%2Fadmin%2Fproducts%3Fq%3Dx");
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
        assert_eq!(
            r.location(),
            "/admin/mfa?next=%2Fadmin",
            "next={evil} ignored"
        );
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
