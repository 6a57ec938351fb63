//! The owner's privacy actions on a customer: export (a JSON download, recent password,
//! audited) and erasure (typed confirmation, recent password, audited; orders kept without
//! personal fields). Managers are refused both.

mod admin_customers_support;
mod common;
mod staff_support;

use admin_customers_support::*;
use axum::http::{header, StatusCode};
use common::{app, OWNER_EMAIL};
use staff_support::{audit_log, reauth};

#[tokio::test]
async fn a_manager_cannot_export_or_erase() {
    let t = app().await;
    let c = ann(&t).await;
    let m = staff(&t, "manager").await;
    let page = m.get(&t, &page_of(&c)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("action=\"{}\"", page_of(&c))),
        "may edit"
    );
    assert!(!page.body.contains("/export") && !page.body.contains("/erase"));
    let before = fingerprint(&t).await;
    let export = m.post(&t, &format!("{}/export", page_of(&c)), &[]).await;
    assert_eq!(export.status, StatusCode::FORBIDDEN);
    assert!(export
        .body
        .contains("does not allow you to export and erase customers"));
    assert!(
        !export.body.contains("ann@example.com"),
        "no data in the refusal"
    );
    let erase = m
        .post(
            &t,
            &format!("{}/erase", page_of(&c)),
            &[("confirm", "ERASE")],
        )
        .await;
    assert_eq!(erase.status, StatusCode::FORBIDDEN);
    assert_eq!(fingerprint(&t).await, before, "nothing erased");
    assert!(t
        .db
        .customer_by_email("ann@example.com")
        .await
        .unwrap()
        .is_some());
    let denied = audit_log(&t, "access.denied").await;
    assert_eq!(denied.len(), 2);
    assert_eq!(
        (denied[0].actor.as_str(), denied[0].target.as_str()),
        (
            "manager@example.com",
            format!("POST {}/erase", page_of(&c)).as_str()
        )
    );
    assert_eq!(denied[1].target, format!("POST {}/export", page_of(&c)));
    assert!(audit_log(&t, "customer.exported").await.is_empty());
    assert!(audit_log(&t, "customer.erased").await.is_empty());
}

#[tokio::test]
async fn export_needs_a_recent_password_and_downloads_everything() {
    let t = app().await;
    let c = ann(&t).await;
    let o = owner(&t).await;
    let path = format!("{}/export", page_of(&c));
    t.clock.advance(6 * 60_000);
    let r = o.post(&t, &path, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location(),
        format!(
            "/admin/reauth?next=%2Fadmin%2Fcustomers%2F{}%3Fdone%3Dconfirmed",
            c.id
        )
    );
    assert!(!r.body.contains("ann@example.com"));
    assert!(audit_log(&t, "customer.exported").await.is_empty());

    reauth(&t, &o.cookie).await;
    // Back on the customer's page, the owner is told to press the button again.
    let back = o.get(&t, &format!("{}?done=confirmed", page_of(&c))).await;
    assert!(back.body.contains("Password confirmed"), "{}", back.body);
    let r = o.post(&t, &path, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let h = |name: header::HeaderName| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(h(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        h(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"customer-{}.json\"", c.id)
    );
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["customer"]["email"], "ann@example.com");
    assert_eq!(
        v["customer"]["addresses"][0]["address"]["line1"],
        "12 Quay Street"
    );
    let orders = v["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["total_minor"], 4500);
    assert_eq!(orders[0]["email"], "ann@example.com");
    let e = audit_log(&t, "customer.exported").await;
    assert_eq!(e.len(), 1);
    assert_eq!(
        (
            e[0].actor.as_str(),
            e[0].target.as_str(),
            e[0].details.as_str()
        ),
        (OWNER_EMAIL, c.id.as_str(), "JSON download, 1 orders")
    );
    let unknown = "/admin/customers/0190f0a0-0000-7000-8000-000000000000/export";
    assert_eq!(o.post(&t, unknown, &[]).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn erasing_keeps_the_orders_without_personal_data() {
    let t = app().await;
    let c = ann(&t).await;
    let other =
        t.db.create_customer(
            &storefort_core::customer::NewCustomer {
                name: "Other Person".into(),
                email: "other@example.com".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    let o = owner(&t).await;
    let path = format!("{}/erase", page_of(&c));
    let before = fingerprint(&t).await;
    for typed in ["", "erase", "yes"] {
        let r = o.post(&t, &path, &[("confirm", typed)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(r.body.contains("Confirmation: type ERASE"), "{typed:?}");
    }
    t.clock.advance(6 * 60_000);
    let r = o.post(&t, &path, &[("confirm", "ERASE")]).await;
    assert!(
        r.location().starts_with("/admin/reauth"),
        "{}",
        r.location()
    );
    assert_eq!(fingerprint(&t).await, before, "nothing erased yet");

    reauth(&t, &o.cookie).await;
    let r = o.post(&t, &path, &[("confirm", " ERASE ")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let shown = o.get(&t, r.location()).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Erased customer") && shown.body.contains("erased on "));
    for gone in [
        "Ann Example",
        "ann@example.com",
        "7946",
        "Quay Street",
        "Prefers email",
    ] {
        assert!(!shown.body.contains(gone), "still shows {gone}");
    }
    assert!(shown.body.contains("£45.00"), "the order stays");
    assert!(!shown.body.contains("/erase"), "nothing left to erase");

    assert!(t
        .db
        .customer_by_email("ann@example.com")
        .await
        .unwrap()
        .is_none());
    assert!(t
        .db
        .customers_by_phone("+44 20 7946 0958")
        .await
        .unwrap()
        .is_empty());
    let after = t.db.customer(&c.id).await.unwrap();
    assert!(after.erased_at.is_some() && after.name.is_empty() && after.addresses.is_empty());
    let orders = t.db.orders_of_customer(&c.id).await.unwrap();
    assert_eq!(orders.len(), 1);
    let kept = &orders[0];
    assert_eq!((kept.total_minor, kept.status.as_str()), (4500, "paid"));
    assert!(kept.email.is_empty() && kept.phone.is_empty());
    assert!(kept.billing.is_none() && kept.shipping.is_none());
    assert_eq!(
        t.db.customer(&other.id).await.unwrap().email,
        "other@example.com"
    );

    let e = audit_log(&t, "customer.erased").await;
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].actor.as_str(), e[0].target.as_str()),
        (OWNER_EMAIL, c.id.as_str())
    );
    assert!(!e[0].details.contains("ann"), "{}", e[0].details);

    // The list shows the row as erased; the erased record cannot be edited.
    let list = o.get(&t, "/admin/customers").await;
    assert!(list.body.contains(">erased</a>") && !list.body.contains("Ann Example"));
    let edit = o
        .post(
            &t,
            &page_of(&c),
            &[("name", "Ann Again"), ("email", "ann@example.com")],
        )
        .await;
    assert_eq!(edit.status, StatusCode::GONE);
    assert!(t
        .db
        .customer_by_email("ann@example.com")
        .await
        .unwrap()
        .is_none());
    let export = o.post(&t, &format!("{}/export", page_of(&c)), &[]).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(!export.body.contains("ann@example.com"));
}
