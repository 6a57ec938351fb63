//! Shared by the shopper test files: registering, signing in, reading the shopper cookie,
//! and sample orders and addresses.

#![allow(dead_code)]

use axum::http::{header, StatusCode};
use storefort_core::customer::{Address, NewOrder};
use storefort_core::ids::CustomerId;

use crate::common::{Res, TestApp};

pub const PW: &str = "correct horse battery";
pub const DAY: i64 = 24 * 60 * 60 * 1000;

/// The `name=value` of the shopper cookie a response sets, checking its attributes.
pub fn shopper_cookie(res: &Res) -> String {
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

pub async fn register(t: &TestApp, name: &str, email: &str, pw: &str) -> Res {
    t.post(
        "/account/register",
        None,
        &[("name", name), ("email", email), ("password", pw)],
    )
    .await
}

/// Register and return the shopper cookie.
pub async fn shopper(t: &TestApp, name: &str, email: &str) -> String {
    let res = register(t, name, email, PW).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/account?done=welcome");
    shopper_cookie(&res)
}

pub async fn sign_in(t: &TestApp, cookie: Option<&str>, email: &str, pw: &str) -> Res {
    t.post(
        "/account/sign-in",
        cookie,
        &[("email", email), ("password", pw)],
    )
    .await
}

/// Whether a cookie opens the account page (instead of bouncing to sign-in).
pub async fn works(t: &TestApp, cookie: &str) -> bool {
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

pub async fn sessions(t: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM shopper_sessions")
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

pub async fn customer_id(t: &TestApp, email: &str) -> CustomerId {
    t.db.customer_by_email(email).await.unwrap().unwrap().id
}

pub fn order(customer: &CustomerId, total_minor: i64) -> NewOrder {
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

pub fn address(name: &str, line1: &str) -> Address {
    Address {
        name: name.into(),
        line1: line1.into(),
        city: "Leeds".into(),
        postcode: "LS1 1AA".into(),
        country: "GB".into(),
        ..Default::default()
    }
}
