//! Harness for the admin till pages: registering a till through the page and reading its
//! pairing code off it, pairing it as the till would, a cashier signed in on it, and the
//! shown code's shapes (to prove the audit log never holds it).

#![allow(dead_code)]

use axum::http::StatusCode;
use storefort_store::pos_devices::PosDevice;

use crate::admin_customers_support::Staff;
use crate::common::{Res, TestApp};

/// The code on a pairing page, as shown (`ABCD-EFGH`).
pub fn shown_code(res: &Res) -> String {
    let at = res
        .body
        .find("id=\"pairing-code\"")
        .expect("page shows a pairing code");
    let rest = &res.body[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</p>").unwrap();
    let code = rest[start..end].trim().to_string();
    assert_eq!(code.len(), 9, "{code}");
    assert_eq!(&code[4..5], "-", "{code}");
    assert!(
        code.chars()
            .filter(|c| *c != '-')
            .all(|c| "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(c)),
        "{code}"
    );
    code
}

/// Register a till called `name` at the test location through the page: (device, code shown).
pub async fn register(t: &TestApp, who: &Staff, name: &str) -> (PosDevice, String) {
    let loc = t.location.id.as_str().to_string();
    let res = who
        .post(
            t,
            "/admin/devices",
            &[("name", name), ("location_id", &loc)],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let code = shown_code(&res);
    let d =
        t.db.pos_devices()
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == name)
            .expect("registered");
    (d, code)
}

/// Pair the till with its code, as `/pos` would: its credential token.
pub async fn pair(t: &TestApp, code: &str) -> String {
    let (_, credential) = t.db.pair_device(code, "1.4.2").await.unwrap();
    credential
}

/// The device's page actions.
pub fn action(d: &PosDevice, what: &str) -> String {
    format!("/admin/devices/{}/{what}", d.id)
}

/// The two ways a code could be written down: as shown and without the dash.
pub fn code_forms(code: &str) -> [String; 2] {
    [code.to_string(), code.replace('-', "")]
}
