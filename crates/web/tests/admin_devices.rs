//! The admin tills page: a manager registers a till and reads its one-time pairing code (which
//! pairs it once and never lands in the audit log), the list shows state, cashier, last seen,
//! app version and online; a new code, signing the cashier out, and revoke and wipe (which
//! needs the password typed again first); bad input refused naming the field with nothing
//! made; and cashiers refused everywhere (PINs are in `admin_pins.rs`).

mod admin_customers_support;
mod common;
mod staff_support;
mod tills_support;

use admin_customers_support::staff;
use axum::http::StatusCode;
use common::app;
use staff_support::{add_staff, audit_log, GOOD_PW};
use storefort_store::pos_devices::DeviceAuth;
use tills_support::{action, code_forms, pair, register};

#[tokio::test]
async fn a_manager_registers_a_till_and_sees_its_code_once() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let page = m.get(&t, "/admin/devices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("href=\"/admin/devices\" aria-current=\"page\">Tills<"),
        "nav"
    );
    assert!(page.body.contains("No tills yet"));
    assert!(page.body.contains("Main warehouse"), "location choice");

    let loc = t.location.id.as_str().to_string();
    let res = m
        .post(
            &t,
            "/admin/devices",
            &[("name", "Front counter"), ("location_id", &loc)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let code = tills_support::shown_code(&res);
    for want in [
        "On the till, open <strong>https://localhost:8443/pos</strong> and type this code. It works once, for 15 minutes.",
        "Pair Front counter",
        "UTC",
    ] {
        assert!(res.body.contains(want), "code page shows {want}");
    }
    let d = &t.db.pos_devices().await.unwrap()[0];
    assert_eq!(
        (d.name.as_str(), d.status.as_str()),
        ("Front counter", "pending")
    );
    let list = m.get(&t, "/admin/devices").await;
    assert!(list.body.contains("Waiting to pair"), "{}", list.body);
    assert!(list.body.contains("code valid until"));
    assert!(!list.body.contains(&code), "the code is shown only once");

    // The code pairs the till once, typed as shown.
    let credential = pair(&t, &code).await;
    assert!(t.db.pair_device(&code, "1.4.2").await.is_err(), "used once");
    t.db.touch_device(&d.id, "1.4.2", 3).await.unwrap();
    let list = m.get(&t, "/admin/devices").await;
    for want in ["Paired · online", "just now", "1.4.2", ">3<"] {
        assert!(list.body.contains(want), "list shows {want}: {}", list.body);
    }
    t.clock.advance(125_000);
    let list = m.get(&t, "/admin/devices").await;
    assert!(list.body.contains("Paired · offline"), "{}", list.body);
    assert!(list.body.contains("2 min ago"));

    // A new code pairs it again; the old credential stops working.
    let again = m.post(&t, &action(d, "pairing-code"), &[]).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let code2 = tills_support::shown_code(&again);
    assert_ne!(code2, code);
    assert!(!matches!(
        t.db.device_by_credential(&credential).await.unwrap(),
        DeviceAuth::Active(_)
    ));

    let registered = audit_log(&t, "pos.device_registered").await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].actor, "manager@example.com");
    assert!(registered[0].details.contains("Front counter"));
    assert_eq!(audit_log(&t, "pos.pairing_code").await.len(), 1);
    for e in registered
        .iter()
        .chain(&audit_log(&t, "pos.pairing_code").await)
    {
        for c in code_forms(&code).iter().chain(&code_forms(&code2)) {
            assert!(!e.details.contains(c.as_str()), "no code in the audit log");
        }
    }
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_makes_nothing() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let loc = t.location.id.as_str().to_string();
    let long = "x".repeat(61);
    for (name, location, field, says) in [
        ("", loc.as_str(), "till-name", "Name:"),
        ("   ", loc.as_str(), "till-name", "Name:"),
        (long.as_str(), loc.as_str(), "till-name", "at most 60"),
        (
            "Back till",
            "0190f0a0-0000-7000-8000-000000000000",
            "till-location",
            "Location:",
        ),
        ("Back till", "", "till-location", "Location:"),
    ] {
        let res = m
            .post(
                &t,
                "/admin/devices",
                &[("name", name), ("location_id", location)],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} {location:?}"
        );
        assert!(res.body.contains(says), "{says}: {}", res.body);
        let marked = format!("id=\"{field}\"");
        let at = res.body.find(&marked).unwrap();
        let tag = &res.body[at..at + res.body[at..].find('>').unwrap()];
        assert!(
            tag.contains("aria-invalid=\"true\""),
            "{field} marked: {tag}"
        );
        assert!(t.db.pos_devices().await.unwrap().is_empty(), "nothing made");
    }
    assert!(audit_log(&t, "pos.device_registered").await.is_empty());
}

#[tokio::test]
async fn revoking_needs_the_password_again_then_wipes_and_is_audited() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let (d, code) = register(&t, &m, "Till 2").await;
    let credential = pair(&t, &code).await;
    let cashier = add_staff(&t, "cashier@example.com", "cashier").await;
    t.db.start_cashier(&d.id, cashier.id.as_str())
        .await
        .unwrap();

    // Sign the cashier out from afar: audited; a second time there is nobody to sign out.
    let list = m.get(&t, "/admin/devices").await;
    assert!(list.body.contains("Sam Staff"), "current cashier shown");
    let out = m.post(&t, &action(&d, "sign-out"), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    assert!(t.db.pos_device(&d.id).await.unwrap().cashier_id.is_none());
    assert_eq!(
        m.post(&t, &action(&d, "sign-out"), &[]).await.status,
        StatusCode::CONFLICT
    );
    let signed_out = audit_log(&t, "pos.cashier_signed_out").await;
    assert_eq!(signed_out.len(), 1);
    assert!(signed_out[0].details.contains("Sam Staff signed out"));

    // Six minutes after signing in, the password must be typed again first.
    t.clock.advance(6 * 60_000);
    let confirm = m.get(&t, &action(&d, "revoke")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Revoke and wipe Till 2"));
    let res = m.post(&t, &action(&d, "revoke"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let back = format!("/admin/reauth?next=%2Fadmin%2Fdevices%2F{}%2Frevoke", d.id);
    assert_eq!(res.location(), back);
    assert!(matches!(
        t.db.device_by_credential(&credential).await.unwrap(),
        DeviceAuth::Active(_)
    ));
    assert!(audit_log(&t, "pos.device_revoked").await.is_empty());

    let typed = m
        .post(
            &t,
            "/admin/reauth",
            &[("password", GOOD_PW), ("next", &action(&d, "revoke"))],
        )
        .await;
    assert_eq!(typed.status, StatusCode::SEE_OTHER, "{}", typed.body);
    assert_eq!(typed.location(), action(&d, "revoke"));
    let res = m.post(&t, &action(&d, "revoke"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/admin/devices?done=revoked");
    assert!(matches!(
        t.db.device_by_credential(&credential).await.unwrap(),
        DeviceAuth::Revoked(_)
    ));
    let list = m.get(&t, "/admin/devices?done=revoked").await;
    assert!(list.body.contains("Till revoked"));
    assert!(list.body.contains("device-revoked"));
    let revoked = audit_log(&t, "pos.device_revoked").await;
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].target, d.id);
    assert!(revoked[0].details.contains("Till 2"));
    // Already revoked: refused, still one entry; the confirmation page says so.
    assert_eq!(
        m.post(&t, &action(&d, "revoke"), &[]).await.status,
        StatusCode::CONFLICT
    );
    assert!(m
        .get(&t, &action(&d, "revoke"))
        .await
        .body
        .contains("already revoked"));
    assert_eq!(audit_log(&t, "pos.device_revoked").await.len(), 1);
    // Unknown devices: 404.
    let unknown = "/admin/devices/0190f0a0-0000-7000-8000-000000000000/revoke";
    assert_eq!(m.get(&t, unknown).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cashier_is_refused_every_till_page() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let (d, _) = register(&t, &m, "Till 3").await;
    let c = staff(&t, "cashier").await;
    let dash = c.get(&t, "/admin").await;
    assert_eq!(dash.status, StatusCode::OK);
    assert!(
        !dash.body.contains("href=\"/admin/devices\""),
        "no Tills link"
    );
    let me =
        t.db.user_by_email("cashier@example.com")
            .await
            .unwrap()
            .unwrap();
    let pin_path = format!("/admin/staff/{}/pin", me.id.as_str());
    let loc = t.location.id.as_str().to_string();
    let shift = "/admin/shifts/0190f0a0-0000-7000-8000-000000000000";
    let alert = "/admin/pos/alerts/0190f0a0-0000-7000-8000-000000000000/resolve";
    for (method, path, form) in [
        ("GET", "/admin/devices".to_string(), vec![]),
        (
            "POST",
            "/admin/devices".to_string(),
            vec![("name", "Mine"), ("location_id", loc.as_str())],
        ),
        ("POST", action(&d, "pairing-code"), vec![]),
        ("POST", action(&d, "sign-out"), vec![]),
        ("GET", action(&d, "revoke"), vec![]),
        ("POST", action(&d, "revoke"), vec![]),
        ("GET", "/admin/pos".to_string(), vec![]),
        (
            "POST",
            "/admin/pos".to_string(),
            vec![("idle_lock_minutes", "15")],
        ),
        ("POST", alert.to_string(), vec![]),
        ("GET", shift.to_string(), vec![]),
        ("POST", pin_path.clone(), vec![("pin", "2580")]),
    ] {
        let res = if method == "GET" {
            c.get(&t, &path).await
        } else {
            c.post(&t, &path, &form).await
        };
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert!(res.body.contains("does not allow you"), "{method} {path}");
    }
    let all = t.db.pos_devices().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].status, "pending");
    assert_eq!(t.db.pos_settings().await.unwrap(), Default::default());
    let pins = t.db.pos_cashiers().await.unwrap();
    assert!(
        pins.iter().all(|p| !p.has_pin),
        "no PIN set by the cashier's staff route"
    );
    assert!(audit_log(&t, "access.denied").await.len() >= 11);
}
