//! The card payment page (PCI DSS 6.4.3 / 11.6.1): only approved scripts, with SRI; a CSP that
//! names the gateway's origins on this page only; and change detection that audits and emails
//! the owners. Stripe is played by a tiny HTTP server on 127.0.0.1 that serves both the script
//! and the PaymentIntents API.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{add_stock, TestApp, OWNER_EMAIL, OWNER_PASSWORD};
use storefort_core::checkout::CheckoutInput;
use storefort_core::customer::Address;
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_payments::{Gateways, StripeConfig, StripeGateway};
use storefort_store::audit::AuditFilter;
use storefort_store::checkout::PlaceOrder;
use storefort_store::payment_scripts::NewScript;
use storefort_store::StoreError;
use storefort_web::middleware::CSP;
use storefort_web::pages::admin_payment_scripts;
use storefort_web::payment_page::{self as pp, sha384_sri};
use storefort_web::{router, AppState, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const STRIPE_JS: &[u8] = b"window.Stripe = function (pk) { return { pk: pk }; };\n";
const PI: &str = r#"{"id":"pi_test_1","client_secret":"pi_test_1_secret_xyz","status":"requires_payment_method","amount":4500}"#;

/// Bodies by path; anything else under /v1/ gets a PaymentIntent.
type Files = Arc<Mutex<HashMap<String, Vec<u8>>>>;

/// A fake js.stripe.com + api.stripe.com on 127.0.0.1: returns its base URL.
async fn fake_stripe(files: Files) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                let (status, ctype, body) = if path.starts_with("/v1/") {
                    ("200 OK", "application/json", PI.as_bytes().to_vec())
                } else {
                    match files.lock().unwrap().get(&path) {
                        Some(b) => ("200 OK", "text/javascript", b.clone()),
                        None => ("404 Not Found", "text/plain", b"no".to_vec()),
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    base
}

struct World {
    t: TestApp,
    state: AppState,
    files: Files,
    js_url: String,
    base: String,
}

/// The test shop with Stripe pointed at the fake (script at `/v3.js`), the page routes plus
/// the admin page's routes (merged here unless the page routes already have them).
async fn world() -> World {
    let mut t = common::app().await;
    let files: Files = Arc::new(Mutex::new(HashMap::new()));
    files
        .lock()
        .unwrap()
        .insert("/v3.js".into(), STRIPE_JS.to_vec());
    let base = fake_stripe(files.clone()).await;
    let js_url = format!("{base}/v3.js");
    let stripe = StripeGateway::new(StripeConfig {
        api_base: base.clone(),
        secret_key: "sk_test_1".into(),
        publishable_key: "pk_test_abc".into(),
        webhook_secret: "whsec_1".into(),
        js_url: js_url.clone(),
    })
    .unwrap();
    let state = AppState::with_gateways(
        t.db.clone(),
        WebConfig::default(),
        Gateways::new().with(Arc::new(stripe)),
    );
    let plain = router(state.clone());
    let probe = plain
        .clone()
        .oneshot(
            Request::builder()
                .uri("/admin/payment-scripts")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    t.app = if probe.status() == StatusCode::NOT_FOUND {
        Router::new()
            .merge(admin_payment_scripts::routes())
            .with_state(state.clone())
            .merge(plain)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                storefort_web::middleware::security,
            ))
    } else {
        plain
    };
    World {
        t,
        state,
        files,
        js_url,
        base,
    }
}

/// Place an order paid by Stripe; returns the link to its payment page.
async fn order_to_pay(w: &World) -> String {
    let db = &w.t.db;
    let method = db
        .create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Collect in the shop".into(),
            kind: ShippingKind::Pickup,
            amount_minor: 0,
            threshold_minor: None,
            enabled: true,
        })
        .await
        .unwrap();
    let variant = w.t.product.variants[0].id.as_str().to_string();
    add_stock(&w.t, &variant, 5).await;
    let (_, cart) = db.create_cart(None).await.unwrap();
    db.cart_add(&cart.id, &variant, 1).await.unwrap();
    let checkout = CheckoutInput {
        email: "shopper@example.com".into(),
        phone: "020 7946 0958".into(),
        billing: Address {
            name: "Sam Shopper".into(),
            line1: "1 High Street".into(),
            city: "Bath".into(),
            postcode: "BA1 1AA".into(),
            country: "GB".into(),
            ..Default::default()
        },
        shipping_same_as_billing: true,
        shipping: None,
        shipping_method_id: method.id.clone(),
        payment_method: "stripe".into(),
    }
    .validate("GB", false)
    .unwrap();
    let placed = db
        .place_order(&PlaceOrder {
            cart_id: cart.id.clone(),
            checkout,
            customer_id: None,
            idempotency_key: "k1".into(),
            channel: "web".into(),
        })
        .await
        .unwrap();
    let token = db.order_access_token(&placed.order_id).unwrap();
    format!("/checkout/pay/{}?t={token}", placed.order_id.as_str())
}

fn approve(url: &str, body: &[u8]) -> NewScript {
    NewScript {
        url: url.into(),
        sha384: sha384_sri(body),
        reason: "Stripe.js renders the card fields in Stripe's frame".into(),
        gateway: "stripe".into(),
    }
}

fn csp(res: &common::Res) -> String {
    res.headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

async fn audits(w: &World, action: &str) -> Vec<storefort_store::audit::AuditEntry> {
    let f = AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    };
    w.t.db.audit_entries(&f).await.unwrap()
}

async fn alert_emails(w: &World) -> Vec<storefort_store::outbox::QueuedEmail> {
    let due = w.t.db.due_emails(100).await.unwrap();
    due.into_iter()
        .filter(|e| e.kind == "payment_page_changed")
        .collect()
}

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
