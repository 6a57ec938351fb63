//! Shopper accounts on the storefront: registering (password rules, duplicates, a guest's
//! earlier record), signing in and out (one answer for every failure, lockout, per-network
//! limit, server-side sign-out, idle and absolute expiry), the account page (only your own
//! data, forms that name the field) and the separation from staff access.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{app, Res, TestApp};
use storefort_core::customer::{Address, NewCustomer, NewOrder};
use storefort_core::ids::CustomerId;

const PW: &str = "correct horse battery";
const DAY: i64 = 24 * 60 * 60 * 1000;

/// The `name=value` of the shopper cookie a response sets, checking its attributes.
fn shopper_cookie(res: &Res) -> String {
    let set = res
        .headers
        .get(header::SET_COOKIE)
        .expect("response sets a cookie")
        .to_str()
        .unwrap();
    assert!(set.starts_with("__Host-shopper="), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    set.split(';').next().unwrap().to_string()
}

async fn register(t: &TestApp, name: &str, email: &str, pw: &str) -> Res {
    t.post(
        "/account/register",
        None,
        &[("name", name), ("email", email), ("password", pw)],
    )
    .await
}

/// Register and return the shopper cookie.
async fn shopper(t: &TestApp, name: &str, email: &str) -> String {
    let res = register(t, name, email, PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/account?done=welcome");
    shopper_cookie(&res)
}

async fn sign_in(t: &TestApp, cookie: Option<&str>, email: &str, pw: &str) -> Res {
    t.post(
        "/account/sign-in",
        cookie,
        &[("email", email), ("password", pw)],
    )
    .await
}

/// Whether a cookie opens the account page (instead of bouncing to sign-in).
async fn works(t: &TestApp, cookie: &str) -> bool {
    let r = t.get("/account", Some(cookie)).await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert_eq!(r.location(), "/account/sign-in");
            false
        }
        s => panic!("unexpected {s}: {}", r.body),
    }
}

async fn sessions(t: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM shopper_sessions")
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

async fn customer_id(t: &TestApp, email: &str) -> CustomerId {
    t.db.customer_by_email(email).await.unwrap().unwrap().id
}

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
async fn sign_out_ends_the_session_on_the_server() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    let page = t.get("/account", Some(&cookie)).await;
    let csrf = page.csrf();
    // Without the form's token nothing happens.
    let forged = t
        .post("/account/sign-out", Some(&cookie), &[("csrf", "nope")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(works(&t, &cookie).await);
    let out = t
        .post("/account/sign-out", Some(&cookie), &[("csrf", &csrf)])
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/account/sign-in?done=signed-out");
    let cleared = out
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cleared.starts_with("__Host-shopper=;") && cleared.contains("Max-Age=0"));
    assert_eq!(sessions(&t).await, 0);
    assert!(!works(&t, &cookie).await, "the old cookie no longer works");
    let again = sign_in(&t, None, "ann@example.com", PW).await;
    let fresh = shopper_cookie(&again);
    assert_ne!(fresh, cookie, "a new token on every sign-in");
    assert!(works(&t, &fresh).await);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let t = app().await;
    let first = shopper(&t, "Ann", "ann@example.com").await;
    let wrong = sign_in(&t, None, "ann@example.com", "not my password at all").await;
    let unknown = sign_in(&t, None, "nobody@example.com", "not my password at all").await;
    let guest_email = "gus@example.com";
    t.db.guest_customer(&NewCustomer {
        name: "Gus".into(),
        email: guest_email.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let guest = sign_in(&t, None, guest_email, "not my password at all").await;
    for r in [&wrong, &unknown, &guest] {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("Email or password is wrong."));
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    assert!(
        wrong.body.contains("value=\"ann@example.com\""),
        "email kept"
    );
    // Signing in from a browser that still holds a session replaces it.
    let res = sign_in(&t, Some(&first), "ANN@example.com", PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/account");
    let second = shopper_cookie(&res);
    assert!(!works(&t, &first).await, "the earlier session ended");
    assert!(works(&t, &second).await);
}

#[tokio::test]
async fn ten_failures_lock_the_account_and_a_network_is_limited() {
    let t = app().await;
    shopper(&t, "Ann", "ann@example.com").await;
    for _ in 0..10 {
        let r = sign_in(&t, None, "ann@example.com", "wrong wrong wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(
        locked.status,
        StatusCode::UNAUTHORIZED,
        "locked: same answer"
    );
    assert!(locked.body.contains("Email or password is wrong."));
    t.clock.advance(31 * 60 * 1000);
    let ok = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "the lock runs out");

    // 30 failures from one address (any accounts) close sign-in for that address.
    for i in 0..30 {
        let r = sign_in(&t, None, &format!("x{i}@example.com"), "wrong wrong wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let limited = sign_in(&t, None, "ann@example.com", PW).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.body.contains("Too many failed sign-ins"));
    assert!(limited.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn sessions_end_after_a_week_idle_or_a_month_in_all() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    t.clock.advance(7 * DAY - 60_000);
    assert!(works(&t, &cookie).await, "used within the week");
    for _ in 0..3 {
        t.clock.advance(6 * DAY);
        assert!(works(&t, &cookie).await);
    }
    t.clock.advance(5 * DAY + 60_000);
    assert!(
        !works(&t, &cookie).await,
        "30 days after sign-in, however busy"
    );
    let c2 = shopper_cookie(&sign_in(&t, None, "ann@example.com", PW).await);
    t.clock.advance(7 * DAY);
    assert!(!works(&t, &c2).await, "a week without use");
    assert_eq!(sessions(&t).await, 0, "expired sessions are deleted");
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

fn order(customer: &CustomerId, total_minor: i64) -> NewOrder {
    NewOrder {
        customer_id: customer.clone(),
        status: "pending_payment".into(),
        currency: "GBP".into(),
        total_minor,
        email: "someone@example.com".into(),
        phone: String::new(),
        billing: address("Someone", "1 High Street"),
        shipping: None,
    }
}

fn address(name: &str, line1: &str) -> Address {
    Address {
        name: name.into(),
        line1: line1.into(),
        city: "Leeds".into(),
        postcode: "LS1 1AA".into(),
        country: "GB".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn orders_show_on_the_account_page() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    let id = customer_id(&t, "ann@example.com").await;
    let order = t.db.create_order(&order(&id, 9300)).await.unwrap();
    let page = t.get("/account", Some(&cookie)).await;
    assert!(
        page.body.contains(&format!("#{}", order.number)),
        "{}",
        page.body
    );
    assert!(page.body.contains("£93.00"));
    assert!(page.body.contains("pending payment"));
}

#[tokio::test]
async fn the_account_page_edits_and_shows_only_your_own_data() {
    let t = app().await;
    let ann = shopper(&t, "Ann Alpha", "ann@example.com").await;
    let bob = shopper(&t, "Bob Beta", "bob@example.com").await;
    let ann_page = t.get("/account", Some(&ann)).await;
    let ann_csrf = ann_page.csrf();
    let add = t
        .post(
            "/account/addresses",
            Some(&ann),
            &[
                ("csrf", &ann_csrf),
                ("label", "Home"),
                ("name", "Ann Alpha"),
                ("line1", "1 Alpha Street"),
                ("city", "Leeds"),
                ("postcode", "LS1 1AA"),
                ("country", "gb"),
            ],
        )
        .await;
    assert_eq!(add.status, StatusCode::SEE_OTHER, "{}", add.body);
    let saved = t
        .post(
            "/account/details",
            Some(&ann),
            &[
                ("csrf", &ann_csrf),
                ("name", "Ann A. Alpha"),
                ("phone", "+44 20 7946 0000"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let ann_page = t.get("/account", Some(&ann)).await;
    for shown in [
        "Ann A. Alpha",
        "+44 20 7946 0000",
        "1 Alpha Street",
        "LS1 1AA Leeds",
    ] {
        assert!(ann_page.body.contains(shown), "{shown}");
    }
    let ann_id = customer_id(&t, "ann@example.com").await;
    let ann_c = t.db.customer(&ann_id).await.unwrap();
    assert!(!ann_c.marketing_consent, "unticked box: no consent");

    let bob_page = t.get("/account", Some(&bob)).await;
    assert!(bob_page.body.contains("Bob Beta"));
    for hidden in ["Ann", "ann@example.com", "Alpha", "7946"] {
        assert!(!bob_page.body.contains(hidden), "{hidden} leaked to Bob");
    }
    // Bob cannot remove Ann's address, nor use Ann's form token.
    let ann_address = ann_c.addresses[0].id.to_string();
    let r = t
        .post(
            &format!("/account/addresses/{ann_address}/remove"),
            Some(&bob),
            &[("csrf", &bob_page.csrf())],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t
        .post(
            "/account/details",
            Some(&bob),
            &[("csrf", &ann_csrf), ("name", "Hijack")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(t.db.customer(&ann_id).await.unwrap().addresses.len(), 1);
    assert_eq!(t.db.customer(&ann_id).await.unwrap().name, "Ann A. Alpha");

    // Ann removes her own address.
    let r = t
        .post(
            &format!("/account/addresses/{ann_address}/remove"),
            Some(&ann),
            &[("csrf", &ann_csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(t.db.customer(&ann_id).await.unwrap().addresses.is_empty());
}

#[tokio::test]
async fn bad_account_forms_name_the_field_and_change_nothing() {
    let t = app().await;
    let cookie = shopper(&t, "Ann", "ann@example.com").await;
    let csrf = t.get("/account", Some(&cookie)).await.csrf();
    let r = t
        .post(
            "/account/details",
            Some(&cookie),
            &[("csrf", &csrf), ("name", "Ann Typed"), ("phone", "12")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"details-phone-error\""));
    assert!(r.body.contains("Phone: enter a phone number"));
    assert!(r.body.contains("value=\"Ann Typed\""), "typed name kept");
    let r = t
        .post(
            "/account/addresses",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("name", "Ann"),
                ("line1", "1 High Street"),
                ("city", "Leeds"),
                ("country", "United Kingdom"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"address-country-error\""));
    assert!(r
        .body
        .contains("Country: use the two-letter ISO country code"));
    assert!(
        r.body.contains("value=\"1 High Street\""),
        "typed address kept"
    );
    assert!(r.body.contains("value=\"United Kingdom\""), "as typed");
    let c =
        t.db.customer_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap();
    assert_eq!((c.name.as_str(), c.phone.as_str()), ("Ann", ""));
    assert!(c.addresses.is_empty());
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
