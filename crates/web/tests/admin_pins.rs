//! Till PINs from the admin console: set on the staff page (a refused PIN names the field and
//! changes nothing), locked after 5 wrong tries and shown so, reset (which unlocks) and audited
//! without the PIN; managers set cashiers' PINs from the tills page but not an owner's; and
//! everyone sets their own on their account page (but not while it is locked).

mod admin_customers_support;
mod common;
mod staff_support;

use admin_customers_support::{owner, staff};
use axum::http::StatusCode;
use common::app;
use staff_support::{add_staff, audit_log};
use storefort_store::pos_pins::PinCheck;

#[tokio::test]
async fn a_pin_set_on_the_staff_page_shows_locked_and_a_reset_unlocks() {
    let t = app().await;
    let o = owner(&t).await;
    let cal = add_staff(&t, "cal@example.com", "cashier").await;
    let id = cal.id.as_str().to_string();
    let page = format!("/admin/staff/{id}");
    let set = format!("/admin/staff/{id}/pin");
    let p = o.get(&t, &page).await;
    assert!(p.body.contains("Till PIN"), "{}", p.body);
    assert!(p.body.contains("id=\"pin-status\">None."));

    for (bad, says) in [
        ("12", "4 to 8 digits"),
        ("1111", "repeat"),
        ("1234", "run"),
        ("12a4", "digits only"),
        ("", "4 to 8 digits"),
    ] {
        let res = o.post(&t, &set, &[("pin", bad)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(
            res.body.contains("Till PIN:"),
            "names the field: {}",
            res.body
        );
        assert!(res.body.contains(says), "{bad:?}: {}", res.body);
    }
    assert_eq!(
        t.db.verify_pin(&id, "2580").await.unwrap(),
        PinCheck::NoPin,
        "nothing set"
    );

    let res = o.post(&t, &set, &[("pin", "2580")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("/admin/staff/{id}?done=pin"));
    assert!(o
        .get(&t, res.location())
        .await
        .body
        .contains("id=\"pin-status\">Set."));
    assert_eq!(t.db.verify_pin(&id, "2580").await.unwrap(), PinCheck::Ok);

    for _ in 0..5 {
        assert_ne!(t.db.verify_pin(&id, "9999").await.unwrap(), PinCheck::Ok);
    }
    assert_eq!(
        t.db.verify_pin(&id, "2580").await.unwrap(),
        PinCheck::Locked
    );
    let p = o.get(&t, &page).await;
    assert!(p.body.contains("Locked after 5 wrong tries"), "{}", p.body);
    assert!(p.body.contains("Reset and unlock"));
    let tills = o.get(&t, "/admin/devices").await;
    assert!(
        tills.body.contains("Locked after 5 wrong tries"),
        "the tills page too"
    );

    let res = o.post(&t, &set, &[("pin", "7391")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        t.db.verify_pin(&id, "7391").await.unwrap(),
        PinCheck::Ok,
        "unlocked"
    );
    assert!(o
        .get(&t, &page)
        .await
        .body
        .contains("id=\"pin-status\">Set."));

    let set_entries = audit_log(&t, "pos.pin_set").await;
    let reset_entries = audit_log(&t, "pos.pin_reset").await;
    assert_eq!((set_entries.len(), reset_entries.len()), (1, 1));
    assert_eq!(reset_entries[0].target, "cal@example.com");
    assert!(reset_entries[0].details.contains("unlocked"));
    for e in set_entries.iter().chain(&reset_entries) {
        assert!(
            !e.details.contains("2580") && !e.details.contains("7391"),
            "never the PIN"
        );
    }
}

#[tokio::test]
async fn managers_set_cashier_pins_from_the_tills_page_but_not_an_owners() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let cal = add_staff(&t, "cal@example.com", "cashier").await;
    let res = m
        .post(
            &t,
            &format!("/admin/staff/{}/pin", cal.id.as_str()),
            &[("pin", "4826"), ("from", "devices")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/devices?done=pin#pins");
    assert_eq!(
        t.db.verify_pin(cal.id.as_str(), "4826").await.unwrap(),
        PinCheck::Ok
    );

    let o =
        t.db.user_by_email(common::OWNER_EMAIL)
            .await
            .unwrap()
            .unwrap();
    let res = m
        .post(
            &t,
            &format!("/admin/staff/{}/pin", o.id.as_str()),
            &[("pin", "4826")],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        t.db.verify_pin(o.id.as_str(), "4826").await.unwrap(),
        PinCheck::NoPin
    );
    let page = m.get(&t, "/admin/devices").await;
    assert!(page.body.contains("An owner sets this one."));
}

#[tokio::test]
async fn staff_set_their_own_pin_on_their_account_page() {
    let t = app().await;
    let c = staff(&t, "cashier").await;
    let me =
        t.db.user_by_email("cashier@example.com")
            .await
            .unwrap()
            .unwrap();
    let page = c.get(&t, "/admin/account").await;
    assert!(page.body.contains("Your till PIN"));
    assert!(page.body.contains("You have no PIN yet"));
    let res = c
        .post(
            &t,
            "/admin/account/pin",
            &[("pin", "1111"), ("pin_confirm", "1111")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Till PIN:"));
    let res = c
        .post(
            &t,
            "/admin/account/pin",
            &[("pin", "2580"), ("pin_confirm", "2581")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Till PIN again:"));
    assert_eq!(
        t.db.verify_pin(me.id.as_str(), "2580").await.unwrap(),
        PinCheck::NoPin
    );

    let res = c
        .post(
            &t,
            "/admin/account/pin",
            &[("pin", "2580"), ("pin_confirm", "2580")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        t.db.verify_pin(me.id.as_str(), "2580").await.unwrap(),
        PinCheck::Ok
    );
    assert!(c
        .get(&t, "/admin/account?done=pin")
        .await
        .body
        .contains("Your till PIN is saved"));
    let e = audit_log(&t, "pos.pin_set").await;
    assert_eq!((e.len(), e[0].target.as_str()), (1, "cashier@example.com"));

    // Locked by wrong tries at a till: a manager resets it, not the account page.
    for _ in 0..5 {
        t.db.verify_pin(me.id.as_str(), "9999").await.unwrap();
    }
    let page = c.get(&t, "/admin/account").await;
    assert!(page.body.contains("Ask a manager to reset it"));
    let res = c
        .post(
            &t,
            "/admin/account/pin",
            &[("pin", "4826"), ("pin_confirm", "4826")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(
        t.db.verify_pin(me.id.as_str(), "4826").await.unwrap(),
        PinCheck::Locked
    );
}
