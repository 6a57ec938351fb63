//! The sandbox gateway's TEST MODE page: buttons only, each outcome recorded once, 303 back to
//! the shop with `?ref=`, the 3-D Secure challenge step, results for decided payments, 404s.
//! The router here is the page's own routes behind the real security middleware, so the test
//! does not depend on where the lead merges them.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use storefort_payments::{Gateway, PaymentStatus, SandboxGateway};
use storefort_store::sandbox::SandboxOutcome;
use storefort_store::Db;
use storefort_web::{AppState, WebConfig};
use tower::ServiceExt;

struct T {
    db: Db,
    app: Router,
    _dir: tempfile::TempDir,
}

async fn setup() -> T {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let state = AppState::new(db.clone(), WebConfig::default());
    let app = Router::new()
        .merge(storefort_web::pages::sandbox_pay::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            storefort_web::middleware::security,
        ))
        .with_state(state);
    T { db, app, _dir: dir }
}

struct Res {
    status: StatusCode,
    location: String,
    cache: String,
    body: String,
}

async fn send(t: &T, req: Request<Body>) -> Res {
    let res = t.app.clone().oneshot(req).await.unwrap();
    let h = |name| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (location, cache) = (h(header::LOCATION), h(header::CACHE_CONTROL));
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Res {
        status,
        location,
        cache,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(t: &T, id: &str) -> Res {
    let req = Request::builder()
        .uri(format!("/sandbox/pay/{id}"))
        .body(Body::empty())
        .unwrap();
    send(t, req).await
}

async fn post(t: &T, id: &str, outcome: &str) -> Res {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/sandbox/pay/{id}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("outcome={outcome}")))
        .unwrap();
    send(t, req).await
}

async fn payment(t: &T, amount: i64) -> String {
    t.db.sandbox_create(
        amount,
        "GBP",
        "Order #1042 <b>gift</b>",
        "https://shop.example/checkout/return?o=9",
    )
    .await
    .unwrap()
    .id
}

#[tokio::test]
async fn the_page_is_test_mode_with_buttons_and_no_card_fields() {
    let t = setup().await;
    let id = payment(&t, 2599).await;
    let r = get(&t, &id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cache, "no-store");
    for needle in [
        "TEST MODE",
        "£25.99",
        "Order #1042 &#60;b&#62;gift&#60;/b&#62;",
        &format!("action=\"/sandbox/pay/{id}\""),
        "value=\"success\"",
        "value=\"decline\"",
        "value=\"insufficient_funds\"",
        "value=\"cvc_fail\"",
        "value=\"postcode_fail\"",
        "value=\"three_ds\"",
    ] {
        assert!(r.body.contains(needle), "page lacks {needle}: {}", r.body);
    }
    assert!(!r.body.contains("<b>gift"), "description escaped");
    assert!(!r.body.contains("<input"), "no input fields at all");
    assert!(!r.body.contains("<script") && !r.body.contains("style="));

    // Unknown and malformed ids: 404 pages, for both methods.
    for bad in ["0190aaaa-0000-7000-8000-000000000000", "nope"] {
        assert_eq!(get(&t, bad).await.status, StatusCode::NOT_FOUND);
        assert_eq!(post(&t, bad, "success").await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn an_outcome_is_recorded_once_and_the_shopper_goes_back_with_ref() {
    let t = setup().await;
    let id = payment(&t, 2500).await;
    let r = post(&t, &id, "postcode_fail").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location,
        format!("https://shop.example/checkout/return?o=9&ref={id}")
    );
    let p = t.db.sandbox_payment(&id).await.unwrap();
    assert_eq!(p.outcome, Some(SandboxOutcome::PostcodeFail));
    let g = SandboxGateway::new(t.db.clone(), "https://shop.example".into());
    assert_eq!(
        g.status(&id).await.unwrap().status,
        PaymentStatus::Authorized
    );

    // Decided: the page shows the result, offers no buttons, and refuses a second decision.
    let r = get(&t, &id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("postcode check failed"), "{}", r.body);
    assert!(!r.body.contains("<button"), "no second decision");
    assert!(
        r.body.contains(&format!("ref={id}")),
        "link back to the shop"
    );
    let r = post(&t, &id, "success").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("already decided"), "{}", r.body);
    let after = t.db.sandbox_payment(&id).await.unwrap();
    assert_eq!(
        after.outcome,
        Some(SandboxOutcome::PostcodeFail),
        "unchanged"
    );

    // A decline says so on the result page.
    let id = payment(&t, 100).await;
    assert_eq!(
        post(&t, &id, "insufficient_funds").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(get(&t, &id).await.body.contains("insufficient funds"));

    // Junk outcomes are refused and change nothing.
    let id = payment(&t, 100).await;
    for junk in ["", "paid", "three_ds_pass"] {
        let r = post(&t, &id, junk).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{junk}");
    }
    let p = t.db.sandbox_payment(&id).await.unwrap();
    assert_eq!(p.outcome, None);
}

#[tokio::test]
async fn three_d_secure_shows_a_challenge_then_decides() {
    let t = setup().await;
    for (answer, status, words) in [
        (
            "three_ds_pass",
            PaymentStatus::Authorized,
            "Payment authorized",
        ),
        ("three_ds_fail", PaymentStatus::Failed, "could not confirm"),
    ] {
        let id = payment(&t, 5000).await;
        let r = post(&t, &id, "three_ds").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location, format!("/sandbox/pay/{id}"), "to the challenge");
        let page = get(&t, &id).await;
        assert!(page.body.contains("3-D Secure"), "{}", page.body);
        assert!(
            page.body.contains("value=\"three_ds_pass\"")
                && page.body.contains("value=\"three_ds_fail\"")
        );
        assert!(
            !page.body.contains("value=\"success\""),
            "only the challenge's answers"
        );
        assert_eq!(
            post(&t, &id, "success").await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );

        let r = post(&t, &id, answer).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            r.location.ends_with(&format!("&ref={id}")),
            "{}",
            r.location
        );
        let g = SandboxGateway::new(t.db.clone(), "https://shop.example".into());
        assert_eq!(g.status(&id).await.unwrap().status, status, "{answer}");
        assert!(get(&t, &id).await.body.contains(words), "{answer}");
    }
}

#[tokio::test]
async fn cross_site_posts_and_voided_payments_are_refused() {
    let t = setup().await;
    let id = payment(&t, 100).await;
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/sandbox/pay/{id}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from("outcome=success"))
        .unwrap();
    assert_eq!(send(&t, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.db.sandbox_payment(&id).await.unwrap().outcome, None);

    // The shop voided it (order expired): the page no longer takes a decision.
    t.db.sandbox_void(&id).await.unwrap();
    let page = get(&t, &id).await;
    assert!(
        page.body.contains("cancelled") && !page.body.contains("<button"),
        "{}",
        page.body
    );
    assert_eq!(post(&t, &id, "success").await.status, StatusCode::CONFLICT);
}
