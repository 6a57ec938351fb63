//! Harness for the admin customer page tests: staff members signed in by role, a customer
//! with a saved address and an order, posting a form with the caller's CSRF token, and a
//! fingerprint of every stored customer (to prove a refused request changed nothing).

#![allow(dead_code)]

use storefort_core::customer::{Address, Customer, NewCustomer, NewOrder};

use crate::common::{Res, TestApp};
use crate::staff_support::{add_staff, GOOD_PW};

/// A signed-in staff member: cookie header value and CSRF token.
pub struct Staff {
    pub cookie: String,
    pub csrf: String,
}

/// Sign in the shop's owner.
pub async fn owner(t: &TestApp) -> Staff {
    let (cookie, csrf) = t.login().await;
    Staff { cookie, csrf }
}

/// Make a staff member with `role` and sign them in.
pub async fn staff(t: &TestApp, role: &str) -> Staff {
    let email = format!("{role}@example.com");
    add_staff(t, &email, role).await;
    let (cookie, csrf) = t.login_as(&email, GOOD_PW).await;
    Staff { cookie, csrf }
}

impl Staff {
    /// Load a page.
    pub async fn get(&self, t: &TestApp, path: &str) -> Res {
        t.get(path, Some(&self.cookie)).await
    }

    /// Post a form with this session's CSRF token.
    pub async fn post(&self, t: &TestApp, path: &str, form: &[(&str, &str)]) -> Res {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        t.post(path, Some(&self.cookie), &all).await
    }
}

/// Ann's home address.
pub fn home() -> Address {
    Address {
        name: "Ann Example".into(),
        line1: "12 Quay Street".into(),
        city: "Bristol".into(),
        postcode: "BS1 4DJ".into(),
        country: "GB".into(),
        ..Default::default()
    }
}

/// Ann, made directly in the store: a saved address and one paid order of £45.00.
pub async fn ann(t: &TestApp) -> Customer {
    let c =
        t.db.create_customer(
            &NewCustomer {
                name: "Ann Example".into(),
                email: "ann@example.com".into(),
                phone: "+44 20 7946 0958".into(),
                marketing_consent: true,
                note: "Prefers email".into(),
            },
            None,
        )
        .await
        .unwrap();
    t.db.add_address(&c.id, "Home", &home()).await.unwrap();
    t.db.create_order(&NewOrder {
        customer_id: c.id.clone(),
        status: "paid".into(),
        currency: "GBP".into(),
        total_minor: 4500,
        email: c.email.clone(),
        phone: c.phone.clone(),
        billing: home(),
        shipping: Some(home()),
    })
    .await
    .unwrap();
    t.db.customer(&c.id).await.unwrap()
}

/// The detail page of `c`.
pub fn page_of(c: &Customer) -> String {
    format!("/admin/customers/{}", c.id)
}

/// Every customer with their addresses and orders, as text.
pub async fn fingerprint(t: &TestApp) -> String {
    let mut out = Vec::new();
    for c in t.db.customers(500, None).await.unwrap().items {
        out.push(serde_json::to_string(&c).unwrap());
        out.push(serde_json::to_string(&t.db.addresses_of(&c.id).await.unwrap()).unwrap());
        out.push(serde_json::to_string(&t.db.orders_of_customer(&c.id).await.unwrap()).unwrap());
    }
    out.join("\n")
}
