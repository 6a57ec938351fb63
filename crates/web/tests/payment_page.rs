//! The card payment page (PCI DSS 6.4.3 / 11.6.1): only approved scripts, with SRI; a CSP that
//! names the gateway's origins on this page only; and change detection that audits and emails
//! the owners. Stripe is played by a tiny HTTP server on 127.0.0.1 that serves both the script
//! and the PaymentIntents API (see `payment_page_support`).

mod common;
mod payment_page_support;

use axum::http::{header, StatusCode};
use common::{OWNER_EMAIL, OWNER_PASSWORD};
use payment_page_support::*;
use storefort_store::payment_scripts::NewScript;
use storefort_store::StoreError;
use storefort_web::middleware::CSP;
use storefort_web::payment_page::{self as pp, sha384_sri};

#[tokio::test]
async fn a_script_that_is_not_approved_means_no_card_page() {
    let w = world().await;
    let pay = order_to_pay(&w).await;
    // Another script is approved, but not the one the gateway asks for.
    let other = format!("{}/other.js", w.base);
    w.t.db
        .approve_script(&approve(&other, b"x"), OWNER_EMAIL)
        .await
        .unwrap();
    let res = w.t.get(&pay, None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE, "{}", res.body);
    assert!(res.body.contains("Card payment is unavailable right now"));
    assert!(
        !res.body.contains("pi_test_1_secret_xyz"),
        "no client secret"
    );
    assert!(!res.body.contains("<script"), "{}", res.body);
    assert_eq!(csp(&res), CSP, "an error page keeps the strict policy");
    let refused = audits(&w, "payment_page.script_refused").await;
    assert_eq!(refused.len(), 1);
    assert!(refused[0].details.contains(&w.js_url), "{:?}", refused[0]);
    assert!(!refused[0].details.contains("shopper@example.com"));
}

#[tokio::test]
async fn an_approved_script_is_loaded_with_integrity_and_only_this_page_allows_its_origin() {
    let w = world().await;
    let pay = order_to_pay(&w).await;
    let s =
        w.t.db
            .approve_script(&approve(&w.js_url, STRIPE_JS), OWNER_EMAIL)
            .await
            .unwrap();
    assert_eq!(s.origin, w.base);
    let res = w.t.get(&pay, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let tag = format!(
        "<script src=\"{}\" integrity=\"{}\" crossorigin=\"anonymous\"></script>",
        w.js_url,
        sha384_sri(STRIPE_JS)
    );
    assert!(res.body.contains(&tag), "{}", res.body);
    assert!(res.body.contains("data-publishable-key=\"pk_test_abc\""));
    assert!(res
        .body
        .contains("data-client-secret=\"pi_test_1_secret_xyz\""));
    assert!(res.body.contains("role=\"alert\""));
    assert_eq!(
        res.body.matches("<script").count(),
        2,
        "Stripe.js + ours only"
    );
    assert!(!res.body.contains("<script>"), "no inline script");
    let own = format!("integrity=\"{}\"", pp::payment_js_sri());
    assert!(res.body.contains(&own), "{}", res.body);
    assert!(res.body.contains(&pp::payment_js_src()));
    let policy = csp(&res);
    assert!(
        policy.contains(&format!("script-src 'self' {};", w.base)),
        "{policy}"
    );
    assert!(policy.contains("connect-src 'self' "), "{policy}");
    assert!(
        policy.contains("https://api.stripe.com") && policy.contains("https://hooks.stripe.com")
    );
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"));
    assert_eq!(
        res.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store",
        "the page holds a client secret"
    );
    // The browser gets exactly the script the page vouches for.
    let js = w.t.get("/static/payment.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert_eq!(sha384_sri(js.body.as_bytes()), pp::payment_js_sri());
    assert!(js.body.contains("confirmPayment"));
    // Every other page keeps the strict policy.
    for path in ["/", "/cart", "/static/payment.js", "/admin/login"] {
        let other = w.t.get(path, None).await;
        assert_eq!(csp(&other), CSP, "{path}");
        assert!(!csp(&other).contains("127.0.0.1"), "{path}");
    }
}

#[tokio::test]
async fn bad_scripts_are_refused_and_nothing_is_stored() {
    let w = world().await;
    let db = &w.t.db;
    let good = approve("https://js.stripe.com/v3/", STRIPE_JS);
    let cases = [
        (
            "url",
            NewScript {
                url: "http://js.stripe.com/v3/".into(),
                ..good.clone()
            },
        ),
        (
            "url",
            NewScript {
                url: "https://evil.example;script-src *".into(),
                ..good.clone()
            },
        ),
        (
            "sha384",
            NewScript {
                sha384: "sha256-abc".into(),
                ..good.clone()
            },
        ),
        (
            "reason",
            NewScript {
                reason: " ".into(),
                ..good.clone()
            },
        ),
    ];
    for (field, bad) in cases {
        match db.approve_script(&bad, OWNER_EMAIL).await {
            Err(StoreError::Invalid(v)) => assert_eq!(v.field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(db.payment_scripts().await.unwrap().is_empty());
    db.approve_script(&good, OWNER_EMAIL).await.unwrap();
    match db.approve_script(&good, OWNER_EMAIL).await {
        Err(StoreError::Conflict { field }) => assert_eq!(field, "url"),
        other => panic!("{other:?}"),
    }
    assert_eq!(db.payment_scripts_for("stripe").await.unwrap().len(), 1);
    assert!(db.payment_scripts_for("other").await.unwrap().is_empty());
    assert!(matches!(
        db.remove_payment_script("nope").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn list_and_script_changes_are_detected_audited_and_emailed() {
    let w = world().await;
    w.t.db
        .approve_script(&approve(&w.js_url, STRIPE_JS), OWNER_EMAIL)
        .await
        .unwrap();
    let first = pp::check_payment_page(&w.state).await.unwrap();
    assert!(first.ok && first.first_run, "{first:?}");
    let stored = w.t.db.payment_page_fingerprint().await.unwrap().unwrap();
    assert_eq!(stored.fingerprint, first.fingerprint);
    let again = pp::check_payment_page(&w.state).await.unwrap();
    assert!(
        again.ok && !again.first_run && again.changed.is_empty(),
        "{again:?}"
    );
    assert!(audits(&w, "payment_page.changed").await.is_empty());
    assert!(alert_emails(&w).await.is_empty());

    // A script added to the list.
    let extra = format!("{}/extra.js", w.base);
    w.files
        .lock()
        .unwrap()
        .insert("/extra.js".into(), b"1".to_vec());
    w.t.db
        .approve_script(&approve(&extra, b"1"), OWNER_EMAIL)
        .await
        .unwrap();
    let c = pp::check_payment_page(&w.state).await.unwrap();
    assert!(!c.ok, "{c:?}");
    assert!(
        c.changed
            .iter()
            .any(|x| x.contains(&extra) && x.contains("added")),
        "{c:?}"
    );
    assert!(c.mismatches.is_empty());
    let changed = audits(&w, "payment_page.changed").await;
    assert_eq!(changed.len(), 1);
    assert!(changed[0].details.contains(&extra));
    assert!(
        !changed[0].details.contains(OWNER_EMAIL),
        "no personal data"
    );
    let mails = alert_emails(&w).await;
    assert_eq!(mails.len(), 1, "one owner");
    assert_eq!(mails[0].to, OWNER_EMAIL);
    assert!(mails[0].text.contains(&extra), "{}", mails[0].text);
    assert!(mails[0].text.contains("/admin/payment-scripts"));
    // The page is still served unchanged in fingerprint terms until accepted.
    assert_eq!(
        w.t.db
            .payment_page_fingerprint()
            .await
            .unwrap()
            .unwrap()
            .fingerprint,
        first.fingerprint
    );

    // Accepted on purpose: quiet again.
    pp::accept_current_page(&w.t.db).await.unwrap();
    assert!(pp::check_payment_page(&w.state).await.unwrap().ok);

    // The served Stripe.js changes under us.
    let evil = b"window.Stripe = function () { steal(); };".to_vec();
    w.files
        .lock()
        .unwrap()
        .insert("/v3.js".into(), evil.clone());
    let c = pp::check_payment_page(&w.state).await.unwrap();
    assert!(!c.ok);
    assert_eq!(c.mismatches.len(), 1, "{c:?}");
    assert_eq!(c.mismatches[0].url, w.js_url);
    assert_eq!(c.mismatches[0].actual, sha384_sri(&evil));
    assert_eq!(c.mismatches[0].expected, sha384_sri(STRIPE_JS));
    assert!(c.changed.iter().any(|x| x.contains("now serves")), "{c:?}");
    assert_eq!(audits(&w, "payment_page.changed").await.len(), 2);
    assert_eq!(alert_emails(&w).await.len(), 1);

    // A script that cannot be fetched is reported, not counted as a change.
    w.files.lock().unwrap().remove("/extra.js");
    w.files
        .lock()
        .unwrap()
        .insert("/v3.js".into(), STRIPE_JS.to_vec());
    let c = pp::check_payment_page(&w.state).await.unwrap();
    assert!(c.ok, "{c:?}");
    assert_eq!(c.unreachable.len(), 1, "{c:?}");
    assert!(c.unreachable[0].contains("404"), "{c:?}");
}

#[tokio::test]
async fn the_admin_page_lists_adds_removes_checks_and_accepts() {
    let w = world().await;
    let (cookie, csrf) = w.t.login().await;
    let page = w.t.get("/admin/payment-scripts", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("No scripts are approved"));

    // Bad input: the form comes back with the field named, nothing stored.
    let sha = sha384_sri(STRIPE_JS);
    let bad =
        w.t.post(
            "/admin/payment-scripts",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("url", "http://evil.example/x.js"),
                ("sha384", &sha),
                ("reason", "r"),
                ("gateway", "stripe"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.body
            .contains("Script address: the payment page loads scripts only over https://"),
        "{}",
        bad.body
    );
    assert!(w.t.db.payment_scripts().await.unwrap().is_empty());

    let form = [
        ("csrf", csrf.as_str()),
        ("url", w.js_url.as_str()),
        ("sha384", sha.as_str()),
        ("reason", "Stripe.js renders the card fields"),
        ("gateway", "stripe"),
    ];
    let added =
        w.t.post("/admin/payment-scripts", Some(&cookie), &form)
            .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = w.t.get(added.location(), Some(&cookie)).await;
    for text in [
        w.js_url.as_str(),
        w.base.as_str(),
        sha.as_str(),
        "Stripe.js renders the card fields",
        OWNER_EMAIL,
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let a = audits(&w, "payment_script.approved").await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].target, w.js_url);

    // Check now stores the first fingerprint and shows the result.
    let checked =
        w.t.post(
            "/admin/payment-scripts/check",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    let page = w.t.get(checked.location(), Some(&cookie)).await;
    assert!(page.body.contains("no changes"), "{}", page.body);
    assert!(
        page.body.contains("matches the version accepted"),
        "{}",
        page.body
    );

    // Removing after the password grace period asks for the password first.
    let id = w.t.db.payment_scripts().await.unwrap()[0].id.clone();
    w.t.clock.advance(6 * 60 * 1000);
    let remove = format!("/admin/payment-scripts/{id}/remove");
    let asked = w.t.post(&remove, Some(&cookie), &[("csrf", &csrf)]).await;
    assert!(
        asked.location().starts_with("/admin/reauth"),
        "{:?}",
        asked.headers
    );
    assert_eq!(
        w.t.db.payment_scripts().await.unwrap().len(),
        1,
        "nothing removed"
    );
    let re =
        w.t.post(
            "/admin/reauth",
            Some(&cookie),
            &[
                ("csrf", &csrf),
                ("password", OWNER_PASSWORD),
                ("next", "/admin/payment-scripts"),
            ],
        )
        .await;
    assert_eq!(re.status, StatusCode::SEE_OTHER, "{}", re.body);
    let removed = w.t.post(&remove, Some(&cookie), &[("csrf", &csrf)]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(w.t.db.payment_scripts().await.unwrap().is_empty());
    assert_eq!(audits(&w, "payment_script.removed").await.len(), 1);
    let page = w.t.get("/admin/payment-scripts", Some(&cookie)).await;
    assert!(
        page.body.contains("was removed from the payment page"),
        "{}",
        page.body
    );

    // Accept the deliberate change.
    let before = w.t.db.payment_page_fingerprint().await.unwrap().unwrap();
    let accepted =
        w.t.post(
            "/admin/payment-scripts/accept",
            Some(&cookie),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let after = w.t.db.payment_page_fingerprint().await.unwrap().unwrap();
    assert_ne!(before.fingerprint, after.fingerprint);
    assert_eq!(after.fingerprint, pp::payment_page_fingerprint(&[]));
    let acc = audits(&w, "payment_page.accepted").await;
    assert_eq!(acc.len(), 1);
    assert!(acc[0].details.contains("removed"), "{:?}", acc[0]);

    // A forged form (wrong CSRF) changes nothing.
    let forged =
        w.t.post(
            "/admin/payment-scripts",
            Some(&cookie),
            &[
                ("csrf", "nope"),
                ("url", w.js_url.as_str()),
                ("sha384", &sha),
                ("reason", "r"),
                ("gateway", "stripe"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(w.t.db.payment_scripts().await.unwrap().is_empty());
}
