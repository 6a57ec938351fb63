//! The admin order pages: the list and its filters, the order page and its timeline, and the
//! actions (fulfil, refund, cancel, mark paid, note) with their permissions, the password
//! prompt before refunds, and refused input (409/422, the reason shown, nothing changed).
//! Orders are placed through the real checkout and paid through `payment_flow`.

mod admin_customers_support;
mod admin_orders_support;
mod common;
mod staff_support;

use admin_customers_support::{owner, staff};
use admin_orders_support::*;
use axum::http::StatusCode;
use common::app;
use staff_support::{audit_log, reauth};
use storefort_core::order_state::OrderStatus;

/// `YYYY-MM-DD` of a UTC instant.
fn day(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

#[tokio::test]
async fn the_list_filters_orders_and_the_order_page_shows_its_timeline() {
    let t = app().await;
    let o = paid_order(&t, "ann@example.com", 2).await;
    let other = on_hold_order(&t, "bob@example.com").await;
    let m = staff(&t, "manager").await;
    let row = format!("href=\"{}\"", o.page());
    let other_row = format!("href=\"{}\"", other.page());

    let all = m.get(&t, "/admin/orders").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(
        all.body.contains(&row) && all.body.contains(&other_row),
        "{}",
        all.body
    );
    assert!(all.body.contains(&format!("#{}", o.number)));
    assert!(all.body.contains("ann@example.com") && all.body.contains("Paid"));
    assert!(all.body.contains("On hold"));

    let today = day(t.db.now());
    let tomorrow = day(t.db.now() + 24 * 60 * 60 * 1000);
    // (query, shows the paid order, shows the on-hold one)
    let cases = [
        ("status=paid".to_string(), true, false),
        ("status=cancelled".to_string(), false, false),
        ("status=on_hold".to_string(), false, true),
        (format!("from={today}&to={today}"), true, true),
        (format!("from={tomorrow}"), false, false),
        ("channel=web".to_string(), true, true),
        ("channel=pos".to_string(), false, false),
        ("payment=sandbox".to_string(), true, false),
        ("payment=manual".to_string(), false, true),
        (format!("customer={}", o.customer.0), true, false),
        (
            format!("status=paid&customer={}", other.customer.0),
            false,
            false,
        ),
    ];
    for (q, paid_shown, held_shown) in cases {
        let res = m.get(&t, &format!("/admin/orders?{q}")).await;
        assert_eq!(res.status, StatusCode::OK, "{q}");
        assert_eq!(res.body.contains(&row), paid_shown, "{q}");
        assert_eq!(res.body.contains(&other_row), held_shown, "{q}");
    }
    // Refused filters name the field and show no orders.
    for (q, field) in [
        ("status=lost", "Status"),
        ("from=2025-13-40", "From date"),
        ("to=31/12/2025", "To date"),
        ("channel=fax", "Channel"),
        ("payment=cheque", "Payment method"),
    ] {
        let res = m.get(&t, &format!("/admin/orders?{q}")).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        assert!(res.body.contains(field), "{q}: {}", res.body);
        assert!(!res.body.contains(&row), "{q}");
    }
    let backwards = m
        .get(&t, &format!("/admin/orders?from={tomorrow}&to={today}"))
        .await;
    assert_eq!(backwards.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Search by email (any case) leads to the customer's orders by ID.
    let found = m
        .post(&t, "/admin/orders", &[("q", " ANN@example.com ")])
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(
        found.location(),
        format!("/admin/orders?customer={}", o.customer.0)
    );
    let theirs = m.get(&t, found.location()).await;
    assert!(theirs.body.contains(&row) && !theirs.body.contains(&other_row));
    let nobody = m
        .post(&t, "/admin/orders", &[("q", "zed@example.com")])
        .await;
    assert_eq!(nobody.status, StatusCode::OK);
    assert!(nobody.body.contains("No customer has that email address."));
    assert!(!nobody.body.contains(&row));
    let junk = m.post(&t, "/admin/orders", &[("q", "ann")]).await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Every listing is audited, never with an email address.
    let listed = audit_log(&t, "orders.listed").await;
    assert!(listed.len() >= 14, "{}", listed.len());
    assert!(listed.iter().any(|e| e.details.contains("status=paid")));
    assert!(listed.iter().all(|e| !e.details.contains('@')));

    // The order page: status, lines with tax, payment, addresses, timeline.
    let page = m.get(&t, &o.page()).await;
    assert_eq!(page.status, StatusCode::OK);
    let d = detail(&t, &o).await;
    for want in [
        "Order #",
        "Paid",
        "LS-M",
        "12 Quay Street",
        "Bristol",
        "visa ending 4242",
        d.payments[0].reference.as_str(),
        "Order placed",
        "Payment authorised",
        "Payment taken",
        "Awaiting payment → Payment authorised",
        &format!("/admin/customers/{}", o.customer.0),
    ] {
        assert!(page.body.contains(want), "missing {want:?}");
    }
    let viewed = audit_log(&t, "order.viewed").await;
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].target, o.id.0);
    assert!(!viewed[0].details.contains('@'));

    // Unknown orders are 404.
    let missing = m
        .get(&t, "/admin/orders/01890000-0000-7000-8000-000000000000")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fulfil_then_refund_part_and_refuse_a_refund_above_what_is_left() {
    let t = app().await;
    let o = paid_order(&t, "ann@example.com", 2).await;
    let m = staff(&t, "manager").await;

    let done = m
        .post(&t, &o.action("fulfil"), &[("tracking", "RM123456789GB")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(status(&t, &o).await, OrderStatus::Fulfilled);
    assert_eq!(detail(&t, &o).await.tracking, "RM123456789GB");
    let shown = m.get(&t, done.location()).await;
    assert!(shown.body.contains("RM123456789GB") && shown.body.contains("Fulfilled"));
    let audited = audit_log(&t, "order.fulfilled").await;
    assert_eq!(audited.len(), 1);
    assert!(audited[0].details.contains(&format!("#{}", o.number)));

    // A part refund of £10.00, one shirt back on the shelf.
    let stock_before = on_hand(&t).await;
    reauth(&t, &m.cookie).await;
    let part = m
        .post(
            &t,
            &o.action("refund"),
            &[
                ("amount", "10.00"),
                ("reason", "one shirt returned"),
                ("restock_0", "1"),
            ],
        )
        .await;
    assert_eq!(part.status, StatusCode::SEE_OTHER, "{}", part.body);
    let d = detail(&t, &o).await;
    assert_eq!(d.summary.status, "partially_refunded");
    assert_eq!(d.summary.refunded_minor, 1000);
    assert_eq!(d.refunds.len(), 1);
    assert_eq!(d.lines[0].refunded_quantity, 1);
    assert_eq!(on_hand(&t).await, stock_before + 1);
    let refunded = audit_log(&t, "order.refunded").await;
    assert_eq!(refunded.len(), 1);
    assert!(refunded[0].details.contains("£10.00") && refunded[0].details.contains("partial"));
    assert!(!refunded[0].details.contains('@'));

    // More than is left: 409, the limit shown in money, nothing changed.
    let before = fingerprint(&t, &o).await;
    let left = o.total - 1000;
    let too_much = format!("{}.{:02}", (left + 1) / 100, (left + 1) % 100);
    let over = m
        .post(&t, &o.action("refund"), &[("amount", too_much.as_str())])
        .await;
    assert_eq!(over.status, StatusCode::CONFLICT, "{}", over.body);
    let limit = format!("refund at most £{}.{:02}", left / 100, left % 100);
    assert!(over.body.contains(&limit), "{}", over.body);
    assert_eq!(fingerprint(&t, &o).await, before);

    // Bad input: 422 naming the field, nothing changed.
    for (form, field) in [
        (vec![("amount", "-5")], "Amount"),
        (vec![("amount", "abc")], "Amount"),
        (vec![("amount", "0")], "Amount"),
        (
            vec![("amount", "1.00"), ("restock_0", "9")],
            "Put back in stock",
        ),
    ] {
        let res = m.post(&t, &o.action("refund"), &form).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}");
        assert!(res.body.contains(field), "{form:?}: {}", res.body);
        assert_eq!(fingerprint(&t, &o).await, before, "{form:?}");
    }

    // The rest, in full.
    let rest = format!("{}.{:02}", left / 100, left % 100);
    let full = m
        .post(&t, &o.action("refund"), &[("amount", rest.as_str())])
        .await;
    assert_eq!(full.status, StatusCode::SEE_OTHER, "{}", full.body);
    assert_eq!(status(&t, &o).await, OrderStatus::Refunded);
    assert_eq!(detail(&t, &o).await.payments[0].refunded_minor, o.total);
}

#[tokio::test]
async fn a_refund_needs_the_password_typed_recently() {
    let t = app().await;
    let o = paid_order(&t, "ann@example.com", 1).await;
    let m = staff(&t, "manager").await;
    t.clock.advance(6 * 60 * 1000);
    let before = fingerprint(&t, &o).await;
    let res = m.post(&t, &o.action("refund"), &[("amount", "5.00")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(
        res.location().starts_with("/admin/reauth?next="),
        "{}",
        res.location()
    );
    assert_eq!(fingerprint(&t, &o).await, before);
    reauth(&t, &m.cookie).await;
    let res = m.post(&t, &o.action("refund"), &[("amount", "5.00")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(status(&t, &o).await, OrderStatus::PartiallyRefunded);
}

#[tokio::test]
async fn a_paid_order_is_refunded_not_cancelled_and_an_unpaid_one_cancels() {
    let t = app().await;
    let paid = paid_order(&t, "ann@example.com", 1).await;
    let m = staff(&t, "manager").await;
    let before = fingerprint(&t, &paid).await;
    let res = m
        .post(&t, &paid.action("cancel"), &[("reason", "changed mind")])
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.body.contains("refund it instead"), "{}", res.body);
    assert_eq!(fingerprint(&t, &paid).await, before);

    let held = on_hold_order(&t, "bob@example.com").await;
    let stock_held = on_hand(&t).await;
    let before = fingerprint(&t, &held).await;
    let no_reason = m.post(&t, &held.action("cancel"), &[("reason", " ")]).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.body.contains("Reason"));
    assert_eq!(fingerprint(&t, &held).await, before);

    let res = m
        .post(&t, &held.action("cancel"), &[("reason", "never paid")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(status(&t, &held).await, OrderStatus::Cancelled);
    assert_eq!(on_hand(&t).await, stock_held + 1);
    let cancelled = audit_log(&t, "order.cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert!(cancelled[0].details.contains(&format!("#{}", held.number)));
    assert!(!cancelled[0].details.contains("never paid"));
    let page = m.get(&t, &held.page()).await;
    assert!(page.body.contains("never paid") && page.body.contains("Cancelled"));
    // Cancelled is final.
    let again = m
        .post(&t, &held.action("cancel"), &[("reason", "twice")])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_bank_transfer_is_marked_paid_once() {
    let t = app().await;
    let held = on_hold_order(&t, "bob@example.com").await;
    let m = staff(&t, "manager").await;
    let page = m.get(&t, &held.page()).await;
    assert!(page.body.contains(&held.action("mark-paid")));

    let res = m.post(&t, &held.action("mark-paid"), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let d = detail(&t, &held).await;
    assert_eq!(d.summary.status, "paid");
    assert_eq!(d.payments[0].status, "captured");
    assert_eq!(d.payments[0].captured_minor, held.total);
    let marked = audit_log(&t, "order.marked_paid").await;
    assert_eq!(marked.len(), 1);
    let amount = format!("£{}.{:02}", held.total / 100, held.total % 100);
    assert!(marked[0].details.contains(&amount), "{}", marked[0].details);
    // The shopper had the confirmation (with how to pay) already: now a payment receipt.
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM outbox WHERE customer_id = (SELECT customer_id FROM orders WHERE id = $1) \
         ORDER BY created_at, id",
    )
    .bind(held.id.as_str())
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("payment_received"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "order_confirmation").count(),
        1,
        "{kinds:?}"
    );

    let before = fingerprint(&t, &held).await;
    let twice = m.post(&t, &held.action("mark-paid"), &[]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(fingerprint(&t, &held).await, before);

    // A card order is never marked paid by hand.
    let card = paid_order(&t, "ann@example.com", 1).await;
    let res = m.post(&t, &card.action("mark-paid"), &[]).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn notes_go_into_the_timeline() {
    let t = app().await;
    let o = paid_order(&t, "ann@example.com", 1).await;
    let owner = owner(&t).await;
    let res = owner
        .post(&t, &o.action("notes"), &[("note", "Gift wrap, please")])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = owner.get(&t, &o.page()).await;
    assert!(page.body.contains("Gift wrap, please"));
    let empty = owner.post(&t, &o.action("notes"), &[("note", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("Note"));
}

#[tokio::test]
async fn a_cashier_sees_orders_but_cannot_refund_or_change_them() {
    let t = app().await;
    let o = paid_order(&t, "ann@example.com", 1).await;
    let c = staff(&t, "cashier").await;
    reauth(&t, &c.cookie).await;
    let list = c.get(&t, "/admin/orders").await;
    assert_eq!(list.status, StatusCode::OK);
    let page = c.get(&t, &o.page()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(&o.action("refund")));
    assert!(!page.body.contains(&o.action("fulfil")));
    let before = fingerprint(&t, &o).await;
    for (what, form) in [
        ("refund", vec![("amount", "1.00")]),
        ("fulfil", vec![("tracking", "X1")]),
        ("cancel", vec![("reason", "x")]),
        ("notes", vec![("note", "x")]),
    ] {
        let res = c.post(&t, &o.action(what), &form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}");
    }
    assert_eq!(fingerprint(&t, &o).await, before);
    assert!(audit_log(&t, "order.refunded").await.is_empty());

    // Forms need the session's CSRF token.
    let m = staff(&t, "manager").await;
    let forged = t
        .post(
            &o.action("fulfil"),
            Some(&m.cookie),
            &[("csrf", "forged"), ("tracking", "X")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(fingerprint(&t, &o).await, before);
}
