//! Shopper accounts on the storefront: registering (password rules, duplicates, a guest's
//! earlier record) and the separation from staff access.

mod common;
mod shopper_support;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::app;
use shopper_support::*;
use storefort_core::customer::NewCustomer;

#[tokio::test]
async fn register_signs_in_and_the_account_page_shows_the_shopper() {
    let t = app().await;
    let form = t.get("/account/register", None).await;
    assert_eq!(form.status, StatusCode::OK);
    for needed in [
        "name=\"name\"",
        "name=\"email\"",
        "autocomplete=\"new-password\"",
        "name=\"marketing\"",
    ] {
        assert!(form.body.contains(needed), "{needed}");
    }
    let res = t
        .post(
            "/account/register",
            None,
            &[
                ("name", "Ann Shopper"),
                ("email", "Ann@Example.com"),
                ("password", PW),
                ("marketing", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let cookie = shopper_cookie(&res);
    let page = t.get(res.location(), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Ann Shopper"));
    assert!(page.body.contains("Ann@Example.com"));
    assert!(page.body.contains("Welcome"));
    assert_eq!(
        page.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store",
        "personal pages are never cached"
    );
    let c =
        t.db.customer_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap();
    assert!(c.has_account && c.marketing_consent);
    // Only the token's hash is stored.
    let token = cookie.split_once('=').unwrap().1;
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM shopper_sessions")
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, [storefort_crypto::token::hash_token(token)]);
    // Signed in: the sign-in and register pages send you to your account.
    for path in ["/account/sign-in", "/account/register"] {
        let r = t.get(path, Some(&cookie)).await;
        assert_eq!(r.location(), "/account", "{path}");
    }
    // The shop's header links to the account.
    assert!(t.get("/", None).await.body.contains("href=\"/account\""));
}

#[tokio::test]
async fn bad_registrations_name_the_field_keep_the_input_and_store_nothing() {
    let t = app().await;
    let cases: [(&str, &str, &str, &str, &str); 8] = [
        (
            "Ann",
            "ann@example.com",
            "password",
            "password-error",
            "common",
        ),
        (
            "Ann",
            "ann@example.com",
            "Password1",
            "password-error",
            "common",
        ),
        (
            "Ann",
            "ann@example.com",
            "Zq9x!w7",
            "password-error",
            "at least 8",
        ),
        (
            "Ann",
            "ann@example.com",
            &"k".repeat(129),
            "password-error",
            "at most 128",
        ),
        (
            "Ann",
            "ann@example.com",
            "ann@example.com",
            "password-error",
            "not use your email",
        ),
        ("Ann", "ann@example.com", "", "password-error", "at least 8"),
        ("Ann", "not an email", PW, "email-error", "name@example.com"),
        (
            "  ",
            "ann@example.com",
            PW,
            "name-error",
            "Your name is required",
        ),
    ];
    for (name, email, pw, error_id, says) in cases {
        let res = register(&t, name, email, pw).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
        assert!(res.body.contains(&format!("id=\"{error_id}\"")), "{pw}");
        assert!(res.body.contains(says), "{pw}: {says}");
        assert!(res.body.contains("aria-invalid=\"true\""));
        assert!(res.headers.get(header::SET_COOKIE).is_none());
        if error_id == "password-error" {
            assert!(
                res.body.contains("Password: "),
                "the message names the field"
            );
            assert!(
                res.body.contains(&format!("value=\"{email}\"")),
                "email kept"
            );
        }
    }
    let res = register(&t, "Ann", "ann@example.com", "Zq9x!w7").await;
    assert!(
        !res.body.contains("Zq9x!w7"),
        "the password is never sent back"
    );
    assert!(res.body.contains("value=\"Ann\""), "name kept");
    assert_eq!(t.db.count_customers().await.unwrap(), 0);
    assert_eq!(sessions(&t).await, 0);
}

#[tokio::test]
async fn an_email_with_an_account_cannot_register_again() {
    let t = app().await;
    shopper(&t, "Ann", "ann@example.com").await;
    let res = register(
        &t,
        "Mallory",
        " ANN@example.com ",
        "another fine passphrase",
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res
        .body
        .contains("An account with this email address already exists"));
    assert!(res.body.contains("id=\"email-error\""));
    assert!(res.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(t.db.count_customers().await.unwrap(), 1);
    let c =
        t.db.customer_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(c.name, "Ann", "the account was not touched");
    let ok = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(
        ok.status,
        StatusCode::SEE_OTHER,
        "the old password still works"
    );
    let bad = sign_in(&t, None, "ann@example.com", "another fine passphrase").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_guest_who_registers_gets_the_account_on_the_same_customer() {
    let t = app().await;
    let guest =
        t.db.guest_customer(&NewCustomer {
            name: "Gus Guest".into(),
            email: "gus@example.com".into(),
            phone: "+44 20 7946 0958".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!guest.has_account);
    let old_address =
        t.db.add_address(&guest.id, "Old", &address("Gus Guest", "9 Earlier Road"))
            .await
            .unwrap();
    let old_order = t.db.create_order(&order(&guest.id, 1234)).await.unwrap();
    // A weak password changes nothing, even on the guest's record.
    let weak = register(&t, "Gus", "gus@example.com", "password1").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!t.db.customer(&guest.id).await.unwrap().has_account);
    assert_eq!(t.db.customer(&guest.id).await.unwrap().name, "Gus Guest");

    t.clock.advance(60_000);
    let cookie = shopper(&t, "Gus Registered", "GUS@example.com").await;
    assert_eq!(
        t.db.count_customers().await.unwrap(),
        1,
        "no second customer"
    );
    let c = t.db.customer(&guest.id).await.unwrap();
    assert!(c.has_account);
    assert_eq!(c.name, "Gus Registered");
    assert_eq!(
        c.phone, "",
        "the guest's phone is not handed to an unverified email"
    );
    let (id, _) =
        t.db.customer_login("gus@example.com")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(id, guest.id);
    // What the guest record held before the account was opened stays hidden.
    let page = t.get("/account", Some(&cookie)).await;
    assert!(page.body.contains("Gus Registered"));
    assert!(!page.body.contains("9 Earlier Road"));
    assert!(!page.body.contains("7946"));
    assert!(page.body.contains("from before you opened this account"));
    assert!(!page.body.contains(&format!("#{}", old_order.number)));
    assert!(!page.body.contains("£12.34"));
    let new_order = t.db.create_order(&order(&guest.id, 5678)).await.unwrap();
    let page = t.get("/account", Some(&cookie)).await;
    assert!(page.body.contains(&format!("#{}", new_order.number)));
    assert!(!page.body.contains(&format!("#{}", old_order.number)));
    let steal = t
        .post(
            &format!("/account/addresses/{}/remove", old_address.id),
            Some(&cookie),
            &[("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(steal.status, StatusCode::NOT_FOUND);
    assert_eq!(t.db.customer(&guest.id).await.unwrap().addresses.len(), 1);
}

#[tokio::test]
async fn a_shopper_cookie_opens_nothing_for_staff() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    let admin = t.get("/admin", Some(&cookie)).await;
    assert_eq!(admin.status, StatusCode::SEE_OTHER);
    assert!(admin.location().starts_with("/admin/login"));
    let api = t.get("/api/v1/products", Some(&cookie)).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    // ...and a staff session is not a shopper session.
    let (staff, _) = t.login().await;
    let r = t.get("/account", Some(&staff)).await;
    assert_eq!(r.location(), "/account/sign-in");
}

#[tokio::test]
async fn forms_posted_from_other_sites_are_refused() {
    let t = app().await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("name", "Ann"),
            ("email", "ann@example.com"),
            ("password", PW),
        ])
        .finish();
    for path in ["/account/register", "/account/sign-in"] {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "cross-site")
            .body(Body::from(body.clone()))
            .unwrap();
        let r = t.send(req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(t.db.count_customers().await.unwrap(), 0);
}
