//! The phone-check review queue: a held order made through the real checkout and sandbox
//! payment (the seed's example: 12 of the most expensive item shipped to another country),
//! listed with its reasons, its review page (click-to-call, differing address parts marked,
//! history, checks, time left), and the decisions (approve captures once; cancel, call notes,
//! ask to pay again) with their refusals (409, nothing changed) and audit entries; the same
//! through the API; and who may work the queue.

mod admin_customers_support;
mod admin_orders_support;
mod common;
mod reviews_support;
mod staff_support;

use admin_customers_support::staff;
use admin_orders_support::{fingerprint, paid_order, status};
use axum::http::{Method, StatusCode};
use common::app;
use reviews_support::{action, api, held, page_of, review, staff_again, DAY};
use staff_support::audit_log;
use storefort_core::order_state::OrderStatus;

#[tokio::test]
async fn the_queue_lists_a_held_order_and_its_page_shows_what_to_check() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let empty = m.get(&t, "/admin/reviews").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty
        .body
        .contains("No orders are waiting for a phone check"));
    assert!(!empty.body.contains("id=\"reviews-waiting\""), "no badge");

    // Ann bought before (a shirt for Bristol), so the held order has history.
    let earlier = paid_order(&t, "ann@example.com", 1).await;
    let o = held(&t, "ann@example.com").await;
    let risk = t.db.order_risk(&o.id).await.unwrap().unwrap();
    let score = risk.score.unwrap();
    assert!((50..100).contains(&score), "{score}");

    let q = m.get(&t, "/admin/reviews").await;
    assert_eq!(q.status, StatusCode::OK);
    for want in [
        format!("href=\"{}\"", page_of(&o)),
        format!("#{}", o.number),
        format!("<strong>{score}</strong>"),
        "Shipping to FR, billing in GB.".to_string(),
        "£".to_string(),
        "7 days left".to_string(),
        "id=\"reviews-waiting\">1<".to_string(),
    ] {
        assert!(q.body.contains(&want), "queue shows {want}: {}", q.body);
    }
    assert!(
        !q.body.contains("ann@example.com"),
        "no contact details in the queue"
    );

    let p = m.get(&t, &page_of(&o)).await;
    assert_eq!(p.status, StatusCode::OK);
    for want in [
        format!("Score {score} of 100"),
        "Held for a phone check".into(),
        "Waiting for a phone check".into(),
        format!("{:+}", risk.reasons[0].points),
        "Shipping to FR, billing in GB.".into(),
        "href=\"tel:+442079460958\"".into(),
        "mailto:ann@example.com".into(),
        "<mark>3 Rue de Rivoli</mark>".into(),
        "<mark>FR</mark>".into(),
        "<mark>75001</mark>".into(),
        "differs".into(),
        format!(
            "href=\"/admin/orders/{}\">#{}",
            earlier.id.0, earlier.number
        ),
        "Visa ending 4242".into(),
        "Security code (CVC)".into(),
        "7 days left".into(),
        "No calls logged yet.".into(),
        action(&o, "approve"),
        action(&o, "cancel"),
        action(&o, "calls"),
        action(&o, "ask-to-pay"),
        "For when the card authorisation ran out".into(),
    ] {
        assert!(p.body.contains(&want), "review page shows {want}");
    }
    // The same name (billing and shipping) is not marked; the other order is not "first".
    assert!(!p.body.contains("<mark>Ann Example</mark>"));
    assert!(!p.body.contains("id=\"first-order\""));
    // An order screening passed: its result read-only, nothing to decide.
    let passed = m.get(&t, &page_of(&earlier)).await;
    assert_eq!(passed.status, StatusCode::OK);
    assert!(passed.body.contains("Passed screening"), "{}", passed.body);
    assert!(!passed.body.contains(&action(&earlier, "approve")));
    let viewed = audit_log(&t, "order.viewed").await;
    assert!(viewed.iter().any(|e| e.details.contains("review page")));
    assert!(viewed.iter().all(|e| !e.details.contains('@')));

    // A first-time customer: "first order"; five hours before the authorization runs out,
    // the queue and the page warn in words.
    let bob = held(&t, "bob@example.com").await;
    let page = m.get(&t, &page_of(&bob)).await;
    assert!(page.body.contains("id=\"first-order\""), "{}", page.body);
    t.clock.advance(7 * DAY - 5 * 3_600_000 - 60_000);
    let m = staff_again(&t, "manager").await;
    let q = m.get(&t, "/admin/reviews").await;
    assert!(
        q.body.contains("Warning: runs out in 5 hours"),
        "{}",
        q.body
    );
    let page = m.get(&t, &page_of(&bob)).await;
    assert!(page
        .body
        .contains("Warning: the card authorisation runs out in 5 hours"));
}

#[tokio::test]
async fn approving_captures_once_and_later_decisions_are_refused() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let o = held(&t, "ann@example.com").await;
    let res = m.post(&t, &action(&o, "approve"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), format!("{}?done=approved", page_of(&o)));
    assert_eq!(status(&t, &o).await, OrderStatus::Paid);
    let d = t.db.order_detail(&o.id).await.unwrap();
    assert_eq!(d.payments[0].status, "captured");
    assert_eq!(d.payments[0].captured_minor, o.total);
    assert_eq!(review(&t, &o).await, "approved");
    let done = m.get(&t, res.location()).await;
    assert!(done.body.contains("Approved: the payment was taken"));
    assert!(done.body.contains("Approved by manager@example.com"));
    assert!(
        !done.body.contains(&action(&o, "approve")),
        "no forms once decided"
    );
    let audited = audit_log(&t, "review.approved").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "manager@example.com");
    assert_eq!(audited[0].target, o.id.0);
    assert!(audited[0]
        .details
        .starts_with(&format!("order #{}, score ", o.number)));
    assert_eq!(t.db.open_review_count().await.unwrap(), 0);

    // Approving again, cancelling or asking to pay: 409, the reason shown, nothing changed.
    let before = fingerprint(&t, &o).await;
    for what in ["approve", "cancel", "ask-to-pay"] {
        let res = m.post(&t, &action(&o, what), &[("reason", "late")]).await;
        assert_eq!(res.status, StatusCode::CONFLICT, "{what}");
        assert!(
            res.body.contains("not waiting for a phone check"),
            "{what}: {}",
            res.body
        );
        assert_eq!(fingerprint(&t, &o).await, before, "{what} changed nothing");
    }
    assert_eq!(review(&t, &o).await, "approved");
    assert_eq!(audit_log(&t, "review.approved").await.len(), 1);
    assert!(audit_log(&t, "review.cancelled").await.is_empty());
}

#[tokio::test]
async fn an_authorization_that_ran_out_cannot_be_approved_but_the_customer_can_pay_again() {
    let t = app().await;
    let o = held(&t, "ann@example.com").await;
    let expires =
        t.db.order_risk(&o.id)
            .await
            .unwrap()
            .unwrap()
            .auth_expires_at;
    t.clock.advance(expires.unwrap() + 60_000 - t.db.now());
    let m = staff(&t, "manager").await;
    let page = m.get(&t, &page_of(&o)).await;
    assert!(
        page.body.contains("The card authorisation ran out"),
        "{}",
        page.body
    );
    let q = m.get(&t, "/admin/reviews").await;
    assert!(q.body.contains("Ran out"));

    let before = fingerprint(&t, &o).await;
    let res = m.post(&t, &action(&o, "approve"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("Ask to pay again"), "{}", res.body);
    assert_eq!(fingerprint(&t, &o).await, before, "nothing changed");
    assert_eq!(status(&t, &o).await, OrderStatus::OnHold);
    assert_eq!(review(&t, &o).await, "open");
    assert!(audit_log(&t, "review.approved").await.is_empty());

    let res = m.post(&t, &action(&o, "ask-to-pay"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status(&t, &o).await, OrderStatus::PendingPayment);
    assert_eq!(review(&t, &o).await, "pay_again");
    let audited = audit_log(&t, "review.pay_again").await;
    assert_eq!(audited.len(), 1);
    assert!(!audited[0].details.contains('@'));
}

#[tokio::test]
async fn calls_are_logged_and_shown_and_cancelling_releases_the_order() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let o = held(&t, "ann@example.com").await;
    let note = "Rang twice, she confirmed the Paris flat is her daughters flat";
    // A made-up outcome: 422 naming it, nothing logged, the note kept in the form.
    let res = m
        .post(
            &t,
            &action(&o, "calls"),
            &[("outcome", "maybe"), ("note", note)],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.contains("Outcome: choose how the call went"),
        "{}",
        res.body
    );
    assert!(res.body.contains(note), "typed note kept");
    assert!(res
        .body
        .contains("id=\"call-outcome\" name=\"outcome\" required aria-invalid=\"true\""));
    assert!(t.db.review_calls(&o.id).await.unwrap().is_empty());

    let res = m
        .post(
            &t,
            &action(&o, "calls"),
            &[("outcome", "confirmed"), ("note", note)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = m.get(&t, res.location()).await;
    assert!(page.body.contains("Call logged."));
    assert!(page.body.contains("Customer confirmed the order"));
    assert!(page.body.contains(note));
    let q = m.get(&t, "/admin/reviews").await;
    assert!(
        q.body.contains("<td class=\"num\">1</td>"),
        "one call: {}",
        q.body
    );
    let logged = audit_log(&t, "review.call_logged").await;
    assert_eq!(logged.len(), 1);
    assert!(logged[0].details.contains("outcome confirmed, with a note"));
    assert!(
        !logged[0].details.contains("Paris"),
        "no note in the audit log"
    );
    assert_eq!(
        status(&t, &o).await,
        OrderStatus::OnHold,
        "a call decides nothing"
    );

    let res = m
        .post(
            &t,
            &action(&o, "cancel"),
            &[("reason", "Card holder says no")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status(&t, &o).await, OrderStatus::Cancelled);
    assert_eq!(review(&t, &o).await, "cancelled");
    let d = t.db.order_detail(&o.id).await.unwrap();
    assert_eq!(d.payments[0].status, "voided");
    let cancelled = audit_log(&t, "review.cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert!(
        !cancelled[0].details.contains("Card holder"),
        "free text stays out"
    );
    // Cancelled: approving now is refused and changes nothing.
    let before = fingerprint(&t, &o).await;
    let res = m.post(&t, &action(&o, "approve"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(fingerprint(&t, &o).await, before);
}

#[tokio::test]
async fn only_owners_and_managers_work_the_queue() {
    let t = app().await;
    let o = held(&t, "ann@example.com").await;
    let c = staff(&t, "cashier").await;
    let before = fingerprint(&t, &o).await;
    for path in ["/admin/reviews".to_string(), page_of(&o)] {
        let res = c.get(&t, &path).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{path}");
    }
    let res = c.post(&t, &action(&o, "approve"), &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(fingerprint(&t, &o).await, before);
    assert_eq!(review(&t, &o).await, "open");
    let dash = c.get(&t, "/admin").await;
    assert!(
        !dash.body.contains("href=\"/admin/reviews\""),
        "no Reviews link"
    );
    let res = api(&t, &c, Method::GET, "/api/v1/admin/reviews", None).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_api_lists_approves_and_refuses_like_the_pages() {
    let t = app().await;
    let m = staff(&t, "manager").await;
    let o = held(&t, "ann@example.com").await;
    let late = held(&t, "bob@example.com").await;

    let res = api(&t, &m, Method::GET, "/api/v1/admin/reviews", None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let queue: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(queue.as_array().unwrap().len(), 2);
    assert!(res.body.contains("Shipping to FR, billing in GB."));
    let one = api(
        &t,
        &m,
        Method::GET,
        &format!("/api/v1{}", page_of(&o)),
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&one.body).unwrap();
    assert_eq!(v["risk"]["review"], "open");
    assert_eq!(v["risk"]["decision"], "review");

    let call = format!("/api/v1{}", action(&o, "calls"));
    let bad = api(&t, &m, Method::POST, &call, Some(r#"{"outcome":"maybe"}"#)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("\"field\":\"outcome\""), "{}", bad.body);
    let ok = api(
        &t,
        &m,
        Method::POST,
        &call,
        Some(r#"{"outcome":"no_answer","note":"voicemail"}"#),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert!(ok.body.contains("\"outcome\":\"no_answer\""));

    let approve = format!("/api/v1{}", action(&o, "approve"));
    let res = api(&t, &m, Method::POST, &approve, None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let v: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["risk"]["review"].as_str()),
        (Some("paid"), Some("approved"))
    );
    let audited = audit_log(&t, "review.approved").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].details.ends_with("via the API"));
    let before = fingerprint(&t, &o).await;
    let again = api(&t, &m, Method::POST, &approve, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("\"code\":\"state\""), "{}", again.body);
    assert_eq!(fingerprint(&t, &o).await, before);
    let cancel = format!("/api/v1{}", action(&o, "cancel"));
    let res = api(&t, &m, Method::POST, &cancel, Some("{}")).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(fingerprint(&t, &o).await, before);

    // The other one's authorization runs out: 409 authorization_expired, still on hold.
    let expires =
        t.db.order_risk(&late.id)
            .await
            .unwrap()
            .unwrap()
            .auth_expires_at;
    t.clock.advance(expires.unwrap() + 1 - t.db.now());
    let m = staff_again(&t, "manager").await;
    let before = fingerprint(&t, &late).await;
    let approve = format!("/api/v1{}", action(&late, "approve"));
    let res = api(&t, &m, Method::POST, &approve, None).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("authorization_expired") && res.body.contains("Ask to pay again"));
    assert_eq!(fingerprint(&t, &late).await, before);
    assert_eq!(status(&t, &late).await, OrderStatus::OnHold);
}
