//! Staff and customer helpers for the role world: spare sessions, a customer to look at, and
//! the staff and customer sides of `World::snapshot` (what a refused action must leave alone).

use storefort_core::customer::{Address, NewCustomer, NewOrder};
use storefort_crypto::token;
use storefort_store::Db;

use crate::common::TestApp;

/// The ID of the session behind a `name=token` cookie.
async fn session_id(t: &TestApp, cookie: &str) -> String {
    let token = cookie.split_once('=').unwrap().1;
    let s = t.db.touch_session(&token::hash_token(token)).await.unwrap();
    s.unwrap().id
}

/// Sign in once more and return that session's ID.
pub async fn spare_session(t: &TestApp, email: &str, password: &str) -> String {
    let (cookie, _) = t.login_as(email, password).await;
    session_id(t, &cookie).await
}

/// Every account (role, disabled, lockout, password, MFA), its live session IDs, and the open
/// invitations; not when anyone was last seen.
pub async fn staff(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for u in db.users().await.unwrap() {
        let mut sessions: Vec<String> = db
            .sessions_of(u.id.as_str())
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        sessions.sort();
        out.push(format!(
            "{} {} {} disabled={} failed={} locked={:?} mfa={} must_change={} pw={} sessions={:?}",
            u.id.as_str(),
            u.email,
            u.role,
            u.disabled,
            u.failed_logins,
            u.locked_until,
            u.mfa_enabled,
            u.must_change_password,
            u.password_hash,
            sessions
        ));
    }
    for i in db.pending_invitations().await.unwrap() {
        out.push(format!("invitation {} {} {}", i.id, i.email, i.role));
    }
    out
}

/// A customer with one saved address and one order: `(customer ID, address ID)`.
pub async fn customer(t: &TestApp) -> (String, String) {
    let c =
        t.db.create_customer(
            &NewCustomer {
                name: "Walk Customer".into(),
                email: "walk@example.com".into(),
                phone: "+44 20 7946 0000".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let home = Address {
        name: "Walk Customer".into(),
        line1: "1 High St".into(),
        city: "Leeds".into(),
        country: "GB".into(),
        ..Default::default()
    };
    let a = t.db.add_address(&c.id, "Home", &home).await.unwrap();
    t.db.create_order(&NewOrder {
        customer_id: c.id.clone(),
        status: "paid".into(),
        currency: "GBP".into(),
        total_minor: 4500,
        email: c.email.clone(),
        phone: c.phone.clone(),
        billing: home,
        shipping: None,
    })
    .await
    .unwrap();
    (c.id.as_str().to_string(), a.id.as_str().to_string())
}

/// Every customer (erased or not) with their addresses and orders.
pub async fn customers(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for c in db.customers(500, None).await.unwrap().items {
        out.push(serde_json::to_string(&c).unwrap());
        out.push(serde_json::to_string(&db.addresses_of(&c.id).await.unwrap()).unwrap());
        out.push(serde_json::to_string(&db.orders_of_customer(&c.id).await.unwrap()).unwrap());
    }
    out
}
