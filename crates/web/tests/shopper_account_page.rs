//! The shopper's account page: their orders, their own data only, and forms that name the
//! field at fault.

mod common;
mod shopper_support;

use axum::http::StatusCode;
use common::app;
use shopper_support::*;

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
