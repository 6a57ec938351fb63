//! The till's own API: pairing (single use, expiry, the request header), the device
//! credential cookie, PIN sign-in with the five-try lock, the idle lock and remote sign-out
//! enforced by the server, and a revoked device's next request answered with
//! `Clear-Site-Data`. Every refusal changes nothing and the security events are audited.

mod common;
mod pos_support;

use axum::http::{header, StatusCode};
use pos_support::*;
use serde_json::json;

#[tokio::test]
async fn pairing_sets_a_strict_cookie_once() {
    let t = common::app().await;
    let (_, code) =
        t.db.register_device("Back room", t.location.id.as_str(), "test")
            .await
            .unwrap();
    // Without the till's request header: refused, and the code still works afterwards.
    let res = t
        .send(
            axum::http::Request::post("/pos/api/pair")
                .header(header::CONTENT_TYPE, "application/json")
                .body(axum::body::Body::from(json!({"code": code}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = call(
        &t,
        "POST",
        "/pos/api/pair",
        None,
        Some(json!({"code": code.to_lowercase(), "app_version": "1.0"})),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    let set = res
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    for part in [
        "__Host-sf_pos=",
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/",
    ] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert_eq!(res.body["device"]["name"], "Back room");
    // The same code again: refused, names the field, audited.
    let again = call(
        &t,
        "POST",
        "/pos/api/pair",
        None,
        Some(json!({"code": code})),
    )
    .await;
    assert!(again.status.is_client_error(), "{:?}", again.body);
    assert_eq!(again.body["field"], "code");
    assert!(
        again.body["message"]
            .as_str()
            .unwrap()
            .contains("ask a manager for a new one"),
        "{:?}",
        again.body
    );
    let actions = audit_actions(&t).await;
    assert!(actions.contains(&"pos.device_paired".to_string()));
    assert!(actions.contains(&"pos.pairing_failed".to_string()));
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let t = common::app().await;
    let (_, code) =
        t.db.register_device("Till 2", t.location.id.as_str(), "test")
            .await
            .unwrap();
    t.clock.advance(16 * 60 * 1000);
    let res = call(
        &t,
        "POST",
        "/pos/api/pair",
        None,
        Some(json!({"code": code})),
    )
    .await;
    assert!(res.status.is_client_error());
    assert!(
        res.body["message"].as_str().unwrap().contains("expired"),
        "{:?}",
        res.body
    );
    assert!(res.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn no_cookie_is_not_paired_and_no_header_is_forbidden() {
    let t = common::app().await;
    let res = call(&t, "GET", "/pos/api/state", None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "not_paired");
    assert!(res.headers.get("clear-site-data").is_none());
    let till = paired(&t).await;
    let res = t.get("/pos/api/state", Some(&till.cookie)).await;
    assert_eq!(
        res.status,
        StatusCode::FORBIDDEN,
        "the X-POS-Request header is required"
    );
    let res = call(&t, "GET", "/pos/api/state", Some(&till), None).await;
    assert_eq!(res.status, StatusCode::OK);
    let names: Vec<&str> = res.body["cashiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Casey Cashier") && names.contains(&"Morgan Manager"),
        "{names:?}"
    );
    assert_eq!(res.body["settings"]["idle_lock_minutes"], 5);
    assert_eq!(res.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
}

#[tokio::test]
async fn five_wrong_pins_lock_the_pin_until_a_manager_resets_it() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    for left in (1..5).rev() {
        let res = unlock(&t, &mut till, &cashier, "1357").await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{:?}", res.body);
        assert_eq!(res.code(), "wrong_pin");
        assert_eq!(res.body["field"], "pin");
        let shown = if left == 1 {
            "1 try left".to_string()
        } else {
            format!("{left} tries left")
        };
        assert!(
            res.body["message"].as_str().unwrap().contains(&shown),
            "{:?}",
            res.body
        );
    }
    // The fifth wrong PIN locks it; from then on even the right PIN is refused.
    for pin in ["1357", CASHIER_PIN] {
        let res = unlock(&t, &mut till, &cashier, pin).await;
        assert_eq!(res.status, StatusCode::LOCKED, "{:?}", res.body);
        assert_eq!(res.code(), "pin_locked");
    }
    assert!(till.token.is_empty());
    let state = call(&t, "GET", "/pos/api/state", Some(&till), None).await;
    let casey = state.body["cashiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == cashier.as_str())
        .unwrap()
        .clone();
    assert_eq!(casey["locked"], true);
    assert_eq!(
        audit_actions(&t)
            .await
            .iter()
            .filter(|a| *a == "pos.pin_locked")
            .count(),
        1,
        "audited once, when it locked"
    );
    // A manager resets it: the new PIN works.
    t.db.set_pin(&cashier, "4826", &till.manager_id)
        .await
        .unwrap();
    let res = unlock(&t, &mut till, &cashier, "4826").await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["cashier"]["name"], "Casey Cashier");
    assert_eq!(res.body["cashier"]["discount_limit_bp"], 1000);
}

#[tokio::test]
async fn the_server_locks_an_idle_till_and_honours_remote_sign_out() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    let res = call(&t, "GET", "/pos/api/search?q=shirt", Some(&till), None).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["items"].as_array().unwrap().len(), 2);
    // Heartbeats do not keep the cashier awake.
    t.clock.advance(3 * 60 * 1000);
    let hb = call(
        &t,
        "POST",
        "/pos/api/heartbeat",
        Some(&till),
        Some(json!({"app_version": "1.0", "queued": 0})),
    )
    .await;
    assert_eq!(hb.body["signed_in"], true);
    t.clock.advance(3 * 60 * 1000);
    let res = call(&t, "GET", "/pos/api/search?q=shirt", Some(&till), None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.code(), "locked");
    // PIN again, then a manager signs the cashier out from the admin.
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    t.db.sign_out_cashier(&till.device_id).await.unwrap();
    let hb = call(
        &t,
        "POST",
        "/pos/api/heartbeat",
        Some(&till),
        Some(json!({"app_version": "1.0", "queued": 2})),
    )
    .await;
    assert_eq!(hb.body["signed_in"], false);
    let res = call(&t, "GET", "/pos/api/search?q=shirt", Some(&till), None).await;
    assert_eq!(res.code(), "locked");
    let d = t.db.pos_device(&till.device_id).await.unwrap();
    assert_eq!(d.queued_sales, 2);
    assert_eq!(d.app_version, "1.0");
}

#[tokio::test]
async fn a_revoked_till_is_told_to_wipe_itself() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    t.db.revoke_device(&till.device_id, "test").await.unwrap();
    for (method, path) in [
        ("GET", "/pos/api/state"),
        ("POST", "/pos/api/heartbeat"),
        ("GET", "/pos/api/search?q=x"),
    ] {
        let body = (method == "POST").then(|| json!({}));
        let res = call(&t, method, path, Some(&till), body).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(res.code(), "device_revoked");
        assert_eq!(
            res.headers.get("clear-site-data").unwrap(),
            "\"cache\", \"cookies\", \"storage\""
        );
        assert_eq!(
            res.body["message"],
            "This device was removed from the shop. Ask a manager to pair it again."
        );
        let set = res
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            set.starts_with("__Host-sf_pos=;") && set.contains("Max-Age=0"),
            "{set}"
        );
    }
    // The receipt pages are refused too.
    let res = t.get("/pos/receipt/1", Some(&till.cookie)).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // Audited once a minute per till, however often a copied cookie is replayed.
    let n = audit_actions(&t)
        .await
        .iter()
        .filter(|a| *a == "pos.revoked_device_refused")
        .count();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_cashier_changes_their_own_pin() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    let bad = call(
        &t,
        "POST",
        "/pos/api/pin",
        Some(&till),
        Some(json!({"current_pin": CASHIER_PIN, "new_pin": "1234"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "new_pin");
    let wrong = call(
        &t,
        "POST",
        "/pos/api/pin",
        Some(&till),
        Some(json!({"current_pin": "0852", "new_pin": "7395"})),
    )
    .await;
    assert_eq!(wrong.code(), "wrong_pin");
    let ok = call(
        &t,
        "POST",
        "/pos/api/pin",
        Some(&till),
        Some(json!({"current_pin": CASHIER_PIN, "new_pin": "7395"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{:?}", ok.body);
    let res = unlock(&t, &mut till, &cashier, "7395").await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn the_app_shell_is_served_under_the_strict_policy() {
    let t = common::app().await;
    let res = t.get("/pos", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("/pos/static/app.js"));
    assert!(!res.body.contains("<script>"), "no inline scripts");
    let csp = res
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "{csp}"
    );
    for f in ["/pos/static/app.js", "/pos/static/pos.css", "/pos/sw.js"] {
        assert_eq!(t.get(f, None).await.status, StatusCode::OK, "{f}");
    }
    assert_eq!(
        t.get("/pos/static/nope.js", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_card_swiped_into_the_scanner_is_refused_without_echo() {
    let t = common::app().await;
    let mut till = paired(&t).await;
    let cashier = till.cashier_id.clone();
    unlock(&t, &mut till, &cashier, CASHIER_PIN).await;
    let res = call(
        &t,
        "GET",
        "/pos/api/code/4111111111111111",
        Some(&till),
        None,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        res.body
    );
    assert!(!res.body.to_string().contains("4111111111111111"));
    // A product code is looked up as usual.
    let res = call(&t, "GET", "/pos/api/code/LS-M", Some(&till), None).await;
    assert_eq!(res.status, StatusCode::OK, "{:?}", res.body);
    assert_eq!(res.body["item"]["sku"], "LS-M");
}
