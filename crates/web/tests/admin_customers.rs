//! The admin customer pages: creating a customer, finding them by email or phone, the detail
//! page and its audit trail, what a cashier may do, and refused input (422/409, the field
//! named, what was typed kept, nothing stored). Export and erasure are in
//! admin_customers_privacy.rs.

mod admin_customers_support;
mod common;
mod staff_support;

use admin_customers_support::*;
use axum::http::StatusCode;
use common::{app, OWNER_EMAIL};
use staff_support::audit_log;

#[tokio::test]
async fn manager_creates_a_customer_and_finds_them_by_email_or_phone() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let new = m.get(&t, "/admin/customers/new").await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(new.body.contains("action=\"/admin/customers/new\""));

    let created = m
        .post(
            &t,
            "/admin/customers/new",
            &[
                ("name", "Bea Buyer"),
                ("email", "Bea.Buyer@Example.com"),
                ("phone", "+44 20 7946 0123"),
                ("marketing_consent", "on"),
                ("note", "Collects on Fridays"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert!(created.location().contains("done=created"));
    let c =
        t.db.customer_by_email("bea.buyer@example.com")
            .await
            .unwrap()
            .expect("stored");
    assert_eq!(
        (
            c.name.as_str(),
            c.phone.as_str(),
            c.marketing_consent,
            c.has_account
        ),
        ("Bea Buyer", "+44 20 7946 0123", true, false)
    );
    let shown = m.get(&t, created.location()).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Customer created.") && shown.body.contains("Collects on Fridays"));
    let made = audit_log(&t, "customer.created").await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].target, c.id.as_str());

    // Any case and surrounding spaces for the email; other spacing for the phone.
    for q in [
        "  BEA.BUYER@example.COM ",
        "+44 2079 460123",
        "+44 (0)20 7946-0123",
    ] {
        let found = m.post(&t, "/admin/customers", &[("q", q)]).await;
        assert_eq!(found.status, StatusCode::OK, "{q}");
        assert!(
            found.body.contains("1 found") && found.body.contains(&page_of(&c)),
            "{q}: {}",
            found.body
        );
    }
    let none = m
        .post(&t, "/admin/customers", &[("q", "nobody@example.com")])
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.contains("No customer has that email or phone."));
    assert!(!none.body.contains("Bea Buyer"));

    // The list shows them; every list or search is one audit entry without the search term.
    let list = m.get(&t, "/admin/customers").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("Bea Buyer") && list.body.contains("guest"));
    let listed = audit_log(&t, "customers.listed").await;
    assert_eq!(listed.len(), 5, "4 searches and 1 list");
    for e in &listed {
        let text = format!("{} {}", e.target, e.details).to_lowercase();
        assert!(
            !text.contains("bea") && !text.contains("7946") && !text.contains("nobody"),
            "personal data in the audit log: {text}"
        );
    }
    assert!(listed[0].details.contains("the first page"));
    assert!(listed[1].details.starts_with("search by email"));
}

#[tokio::test]
async fn the_list_pages_through_customers_50_at_a_time() {
    let t = app().await;
    let o = owner(&t).await;
    for i in 0..51 {
        t.db.create_customer(
            &storefort_core::customer::NewCustomer {
                name: format!("Customer {i:02}"),
                email: format!("c{i}@example.com"),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    }
    let first = o.get(&t, "/admin/customers").await;
    assert_eq!(first.status, StatusCode::OK);
    let names = |body: &str| -> Vec<String> {
        body.split("\">Customer ")
            .skip(1)
            .map(|s| s[..2].to_string())
            .collect()
    };
    let mut seen = names(&first.body);
    assert_eq!(seen.len(), 50);
    let at = first.body.find("rel=\"next\"").expect("a next link");
    let href = &first.body[..at];
    let href = &href[href.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = o.get(&t, &href).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(names(&second.body).len(), 1);
    assert!(!second.body.contains("rel=\"next\""));
    seen.extend(names(&second.body));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 51, "every customer once");
    let broken = o.get(&t, "/admin/customers?cursor=zzz").await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn every_view_of_a_customer_is_audited_without_personal_data() {
    let t = app().await;
    let o = owner(&t).await;
    let c = ann(&t).await;
    let page = o.get(&t, &page_of(&c)).await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "Ann Example",
        "ann@example.com",
        "+44 20 7946 0958",
        "Prefers email",
        "12 Quay Street, Bristol, BS1 4DJ, GB",
        "£45.00",
        "paid",
    ] {
        assert!(page.body.contains(shown), "shows {shown}");
    }
    let viewed = audit_log(&t, "customer.viewed").await;
    assert_eq!(viewed.len(), 1);
    let e = &viewed[0];
    assert_eq!(
        (e.target.as_str(), e.actor.as_str(), e.outcome.as_str()),
        (c.id.as_str(), OWNER_EMAIL, "success")
    );
    let text = format!("{} {}", e.target, e.details).to_lowercase();
    assert!(!text.contains("ann") && !text.contains("7946"), "{text}");
    o.get(&t, &page_of(&c)).await;
    assert_eq!(audit_log(&t, "customer.viewed").await.len(), 2, "each view");

    for bad in [
        "/admin/customers/not-an-id",
        "/admin/customers/0190f0a0-0000-7000-8000-000000000000",
    ] {
        assert_eq!(o.get(&t, bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(audit_log(&t, "customer.viewed").await.len(), 2);
}

#[tokio::test]
async fn a_cashier_can_look_customers_up_but_not_change_them() {
    let t = app().await;
    let c = ann(&t).await;
    let k = staff(&t, "cashier").await;
    let dash = k.get(&t, "/admin").await;
    assert!(dash.body.contains("href=\"/admin/customers\""), "nav link");
    let list = k.get(&t, "/admin/customers").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.body.contains("/admin/customers/new"), "no add button");
    assert!(
        !list.body.contains(&page_of(&c)) && list.body.contains("Search by the customer"),
        "cashiers search; they do not browse everyone"
    );
    let found = k
        .post(&t, "/admin/customers", &[("q", "+44 20 7946 0958")])
        .await;
    assert!(found.body.contains(&page_of(&c)));
    let page = k.get(&t, &page_of(&c)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann@example.com"));
    for hidden in [
        format!("action=\"{}\"", page_of(&c)),
        "/addresses".to_string(),
        "/export".to_string(),
        "/erase".to_string(),
    ] {
        assert!(!page.body.contains(&hidden), "cashier sees {hidden}");
    }
    assert_eq!(audit_log(&t, "customer.viewed").await.len(), 1);

    let before = fingerprint(&t).await;
    let address = t.db.addresses_of(&c.id).await.unwrap()[0].id.clone();
    let attempts = [
        (
            page_of(&c),
            vec![("name", "Changed"), ("email", "x@example.com")],
        ),
        (
            "/admin/customers/new".to_string(),
            vec![("name", "New"), ("email", "new@example.com")],
        ),
        (
            format!("{}/addresses", page_of(&c)),
            vec![
                ("name", "A"),
                ("line1", "1 Road"),
                ("city", "Leeds"),
                ("country", "GB"),
            ],
        ),
        (
            format!("{}/addresses/{address}/remove", page_of(&c)),
            vec![],
        ),
        (format!("{}/erase", page_of(&c)), vec![("confirm", "ERASE")]),
    ];
    for (path, form) in &attempts {
        let r = k.post(&t, path, form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(r.body.contains("does not allow you"), "{path}: says why");
    }
    assert_eq!(fingerprint(&t).await, before, "nothing changed");
    let denied = audit_log(&t, "access.denied").await;
    assert_eq!(denied.len(), attempts.len());
    assert_eq!(denied[0].target, format!("POST {}/erase", page_of(&c)));
    assert_eq!(denied[0].actor, "cashier@example.com");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_stored() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let c = ann(&t).await;
    let before = fingerprint(&t).await;
    let new = |name: &'static str, email: &'static str, phone: &'static str| {
        vec![("name", name), ("email", email), ("phone", phone)]
    };
    for (form, status, says, kept) in [
        (
            new("", "bob@example.com", ""),
            422,
            "Name:",
            "value=\"bob@example.com\"",
        ),
        (
            new("Bob", "bob at example", ""),
            422,
            "Email:",
            "value=\"Bob\"",
        ),
        (
            new("Bob", "bob@example.com", "12"),
            422,
            "Phone:",
            "value=\"12\"",
        ),
        (
            new("Bob", "ANN@example.com", ""),
            409,
            "Email:",
            "value=\"Bob\"",
        ),
    ] {
        let r = m.post(&t, "/admin/customers/new", &form).await;
        assert_eq!(r.status.as_u16(), status, "{form:?}: {}", r.body);
        assert!(r.body.contains(says), "{form:?} names the field");
        assert!(r.body.contains(kept), "{form:?} keeps what was typed");
        assert!(r.body.contains("aria-invalid=\"true\""), "marks the field");
    }
    let edit = m
        .post(
            &t,
            &page_of(&c),
            &[
                ("name", "Ann Changed"),
                ("email", "ann@@example"),
                ("phone", ""),
            ],
        )
        .await;
    assert_eq!(edit.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(edit.body.contains("Email:") && edit.body.contains("value=\"Ann Changed\""));
    let address = |country: &'static str, line1: &'static str| {
        vec![
            ("label", "Work"),
            ("name", "Ann Example"),
            ("line1", line1),
            ("city", "Bath"),
            ("country", country),
        ]
    };
    for (form, says) in [
        (address("United Kingdom", "3 Mill Lane"), "Country:"),
        (address("G1", "3 Mill Lane"), "Country:"),
        (address("GB", ""), "Address line 1:"),
    ] {
        let r = m
            .post(&t, &format!("{}/addresses", page_of(&c)), &form)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(r.body.contains(says), "{form:?}: {}", r.body);
        assert!(r.body.contains("value=\"Bath\""), "keeps what was typed");
    }
    // Malformed or unknown IDs are 404; a form without its CSRF token is refused.
    let unknown = "/admin/customers/0190f0a0-0000-7000-8000-000000000000";
    for path in [
        "/admin/customers/nope".to_string(),
        unknown.to_string(),
        format!("{unknown}/addresses"),
        format!("{}/addresses/nope/remove", page_of(&c)),
        format!(
            "{}/addresses/0190f0a0-0000-7000-8000-000000000001/remove",
            page_of(&c)
        ),
    ] {
        let r = m
            .post(&t, &path, &[("name", "X"), ("email", "x@example.com")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
    let forged = t
        .post(
            &page_of(&c),
            Some(&m.cookie),
            &[
                ("csrf", "wrong"),
                ("name", "Forged"),
                ("email", "f@example.com"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(fingerprint(&t).await, before, "nothing stored or changed");
    assert!(audit_log(&t, "customer.created").await.is_empty());
    assert!(audit_log(&t, "customer.updated").await.is_empty());
    assert!(audit_log(&t, "customer.address_added").await.is_empty());

    // And the good versions work.
    let ok = m
        .post(
            &t,
            &page_of(&c),
            &[
                ("name", "Ann Example"),
                ("email", "ann@example.com"),
                ("phone", "0117 496 0000"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let e = &audit_log(&t, "customer.updated").await[0];
    assert_eq!(e.details, "changed: phone, marketing consent, note");
    let ok = m
        .post(
            &t,
            &format!("{}/addresses", page_of(&c)),
            &address("gb", "3 Mill Lane"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let saved = t.db.addresses_of(&c.id).await.unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[1].address.country, "GB");
    let gone = m
        .post(
            &t,
            &format!("{}/addresses/{}/remove", page_of(&c), saved[0].id),
            &[],
        )
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert_eq!(t.db.addresses_of(&c.id).await.unwrap().len(), 1);
}

/// A card number pasted into a customer's note, address line or the search box is refused
/// before it reaches the shop: 422, the number never echoed, nothing stored, nothing audited
/// with it.
#[tokio::test]
async fn a_card_number_in_a_note_address_or_search_is_refused_and_not_stored() {
    let t = app().await;
    let c = ann(&t).await;
    let m = staff(&t, "manager").await;
    let before = fingerprint(&t).await;
    let card = "4111 1111 1111 1111";
    let page = page_of(&c);
    let tries: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            page.clone(),
            vec![
                ("name", "Ann Example"),
                ("email", "ann@example.com"),
                ("note", "card 4111 1111 1111 1111 exp 12/29"),
            ],
        ),
        (
            format!("{page}/addresses"),
            vec![
                ("label", "Home"),
                ("name", "Ann Example"),
                ("line1", "4111-1111-1111-1111 Quay Street"),
                ("city", "Bristol"),
                ("country", "GB"),
            ],
        ),
        (
            "/admin/customers".to_string(),
            vec![("q", "4111111111111111")],
        ),
        (
            "/admin/customers/new".to_string(),
            vec![
                ("name", "Carl Card"),
                ("email", "carl@example.com"),
                ("note", card),
            ],
        ),
    ];
    for (path, form) in tries {
        let r = m.post(&t, &path, &form).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(r.body.contains("payment provider"), "{path}: {}", r.body);
        assert!(!r.body.replace([' ', '-'], "").contains("4111111111111111"));
    }
    assert_eq!(fingerprint(&t).await, before, "nothing stored");
    assert!(t
        .db
        .customer_by_email("carl@example.com")
        .await
        .unwrap()
        .is_none());
    let audit = format!(
        "{:?}",
        t.db.audit_entries(&Default::default()).await.unwrap()
    );
    assert!(!audit.replace([' ', '-'], "").contains("4111111111111111"));
}
