//! The email outbox on both engines: queued mail is sealed (no address or text in the row),
//! comes out once, is cleared when sent, backs off after failures without ever being dropped,
//! and an erased customer's mail is skipped without stopping anyone else's.

mod common;

use std::sync::Arc;

use storefort_core::customer::NewCustomer;
use storefort_core::ids::CustomerId;
use storefort_store::outbox::{backoff_ms, OutgoingEmail, CLAIM_LEASE_MS, ERASED};
use storefort_store::privacy::ErasureReason;
use storefort_store::{Clock, Db, ManualClock, StoreError};

const MINUTE: i64 = 60_000;

fn mail(to: &str, customer: Option<&CustomerId>) -> OutgoingEmail {
    OutgoingEmail {
        kind: "order_confirmation".into(),
        customer_id: customer.cloned(),
        to: to.into(),
        subject: "Order 1001 confirmed".into(),
        text: "Thank you for your order 1001.\nLinen Shirt x 1".into(),
        html: "<p>Thank you for your order <b>1001</b>.</p>".into(),
    }
}

fn customer(name: &str, email: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        email: email.into(),
        phone: String::new(),
        marketing_consent: false,
        note: String::new(),
    }
}

/// The row as the database holds it: recipient, body, key_id, attempts, sent_at, last_error.
type Raw = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

async fn raw(db: &Db, id: &str) -> Raw {
    sqlx::query_as(
        "SELECT recipient, body, key_id, attempts, sent_at, last_error FROM outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

async fn count(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn queued_mail_comes_out_once_and_is_cleared_when_sent() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let id = db
            .enqueue_email(&mail(" guest@example.com ", None))
            .await
            .unwrap();
        let status = db.outbox_status().await.unwrap();
        assert_eq!(status.pending, 1, "{}", t.name);
        assert_eq!(status.failed_recently, 0);
        assert_eq!(status.oldest_pending_at, Some(clock.now_ms()));

        let due = db.due_emails(10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", t.name);
        let m = &due[0];
        assert_eq!(m.id, id);
        assert_eq!(m.to, "guest@example.com");
        assert_eq!(m.kind, "order_confirmation");
        assert_eq!(m.subject, "Order 1001 confirmed");
        assert!(m.text.contains("Linen Shirt x 1"));
        assert!(m.html.contains("<b>1001</b>"));
        assert_eq!(m.attempts, 0);
        assert!(
            !format!("{m:?}").contains("guest@"),
            "Debug hides the address"
        );
        // Taken: a second worker gets nothing while the first is sending.
        assert!(db.due_emails(10).await.unwrap().is_empty(), "{}", t.name);

        db.mark_email_sent(&id).await.unwrap();
        let (_, body, _, _, sent_at, _) = raw(db, &id).await;
        assert_eq!(body, None, "body cleared once sent");
        assert_eq!(sent_at, Some(clock.now_ms()));
        clock.advance(CLAIM_LEASE_MS + 7 * 24 * 60 * MINUTE);
        assert!(
            db.due_emails(10).await.unwrap().is_empty(),
            "sent mail is never due again"
        );
        assert_eq!(db.outbox_status().await.unwrap().pending, 0);
        db.mark_email_sent(&id).await.unwrap(); // again: no change, no error
    }
}

#[tokio::test]
async fn failures_back_off_and_mail_is_never_dropped() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let id = db
            .enqueue_email(&mail("ann@example.com", None))
            .await
            .unwrap();
        for attempt in 1..=7i64 {
            let due = db.due_emails(10).await.unwrap();
            assert_eq!(due.len(), 1, "{} attempt {attempt}", t.name);
            assert_eq!(due[0].attempts, attempt - 1);
            db.mark_email_failed(&id, "550 5.1.1 <ann@example.com>: mailbox unavailable")
                .await
                .unwrap();
            let wait = backoff_ms(attempt);
            clock.advance(wait - 1_000);
            assert!(
                db.due_emails(10).await.unwrap().is_empty(),
                "{} not due before its backoff ({attempt})",
                t.name
            );
            clock.advance(1_000);
        }
        assert_eq!(backoff_ms(7), 6 * 60 * MINUTE);
        let (_, body, _, attempts, sent_at, last_error) = raw(db, &id).await;
        assert_eq!(attempts, 7);
        assert!(body.is_some() && sent_at.is_none(), "still queued");
        assert!(last_error.contains("mailbox unavailable"), "{last_error}");
        assert!(
            !last_error.contains("ann@"),
            "no address in the error: {last_error}"
        );
        let status = db.outbox_status().await.unwrap();
        assert_eq!(
            (status.pending, status.failed_recently),
            (1, 1),
            "{}",
            t.name
        );
        db.mark_email_failed(&id, &"x".repeat(5_000)).await.unwrap();
        assert_eq!(raw(db, &id).await.5.len(), 500, "long errors are cut");
        clock.advance(backoff_ms(8));
        // Finally the server takes it.
        assert_eq!(db.due_emails(10).await.unwrap().len(), 1);
        db.mark_email_sent(&id).await.unwrap();
        assert_eq!(db.outbox_status().await.unwrap().pending, 0);
    }
}

#[tokio::test]
async fn the_row_holds_no_address_or_text_in_clear() {
    for t in common::backends().await {
        let db = &t.db;
        let c = db
            .create_customer(&customer("Ann Archer", "ann@example.com"), None)
            .await
            .unwrap();
        let with_key = db
            .enqueue_email(&mail("ann@example.com", Some(&c.id)))
            .await
            .unwrap();
        let guest = db
            .enqueue_email(&mail("guest@example.com", None))
            .await
            .unwrap();
        let dump: Vec<String> = sqlx::query_scalar(
            "SELECT id || '|' || kind || '|' || COALESCE(customer_id, '') || '|' || \
             COALESCE(key_id, '') || '|' || recipient || '|' || COALESCE(body, '') || '|' || \
             last_error FROM outbox",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap();
        assert_eq!(dump.len(), 2);
        for row in &dump {
            for secret in ["@example.com", "Linen Shirt", "1001", "Thank you"] {
                assert!(
                    !row.contains(secret),
                    "{}: {secret} in clear in {row}",
                    t.name
                );
            }
        }
        let customer_key: String = sqlx::query_scalar("SELECT key_id FROM customers WHERE id = $1")
            .bind(c.id.as_str())
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            raw(db, &with_key).await.2,
            Some(customer_key),
            "customer's key"
        );
        let guest_key = raw(db, &guest).await.2.unwrap();
        assert!(guest_key.starts_with("dk-"), "data key: {guest_key}");
    }
}

#[tokio::test]
async fn an_erased_customers_mail_is_skipped_and_the_rest_still_goes() {
    for t in common::backends().await {
        let db = &t.db;
        let ann = db
            .create_customer(&customer("Ann Archer", "ann@example.com"), None)
            .await
            .unwrap();
        let bob = db
            .create_customer(&customer("Bob Baker", "bob@example.com"), None)
            .await
            .unwrap();
        let to_ann = db
            .enqueue_email(&mail("ann@example.com", Some(&ann.id)))
            .await
            .unwrap();
        let to_bob = db
            .enqueue_email(&mail("bob@example.com", Some(&bob.id)))
            .await
            .unwrap();
        let guest = db
            .enqueue_email(&mail("guest@example.com", None))
            .await
            .unwrap();
        db.erase_customer(&ann.id, ErasureReason::Request)
            .await
            .unwrap();

        let due = db.due_emails(10).await.unwrap();
        let mut got: Vec<(String, String)> = due.into_iter().map(|m| (m.id, m.to)).collect();
        got.sort();
        let mut want = vec![
            (to_bob.clone(), "bob@example.com".to_string()),
            (guest.clone(), "guest@example.com".to_string()),
        ];
        want.sort();
        assert_eq!(got, want, "{}", t.name);
        let (_, body, _, attempts, sent_at, last_error) = raw(db, &to_ann).await;
        assert_eq!((body, sent_at, attempts), (None, None, 0), "{}", t.name);
        assert_eq!(last_error, ERASED);
        assert_eq!(
            db.outbox_status().await.unwrap().pending,
            2,
            "erased mail not pending"
        );

        // Nothing new can be queued for Ann; nothing was written.
        let before = count(db).await;
        let e = db
            .enqueue_email(&mail("ann@example.com", Some(&ann.id)))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Erased), "{e}");
        assert_eq!(count(db).await, before);
    }
}

#[tokio::test]
async fn a_tampered_row_fails_alone_and_the_batch_goes_on() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let a = db
            .enqueue_email(&mail("a@example.com", None))
            .await
            .unwrap();
        let b = db
            .enqueue_email(&mail("b@example.com", None))
            .await
            .unwrap();
        // Move b's sealed recipient into a's row: it must not open there.
        sqlx::query(
            "UPDATE outbox SET recipient = (SELECT recipient FROM outbox WHERE id = $1) \
             WHERE id = $2",
        )
        .bind(&b)
        .bind(&a)
        .execute(&db.pool)
        .await
        .unwrap();
        let due = db.due_emails(10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", t.name);
        assert_eq!(
            (due[0].id.as_str(), due[0].to.as_str()),
            (b.as_str(), "b@example.com")
        );
        let (_, body, _, attempts, _, last_error) = raw(db, &a).await;
        assert!(body.is_some(), "kept, not dropped");
        assert_eq!(attempts, 1);
        assert!(last_error.contains("does not open"), "{last_error}");
        clock.advance(MINUTE - 1);
        assert!(db.due_emails(10).await.unwrap().is_empty());
        assert_eq!(raw(db, &a).await.3, 1, "not tried before its backoff");
        clock.advance(1);
        assert!(
            db.due_emails(10).await.unwrap().is_empty(),
            "still does not open"
        );
        assert_eq!(
            raw(db, &a).await.3,
            2,
            "tried again after its backoff, still kept"
        );
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_queued() {
    for t in common::backends().await {
        let db = &t.db;
        let cases = [
            (mail("not-an-address", None), "to"),
            (mail("", None), "to"),
            (
                OutgoingEmail {
                    subject: "Hi\r\nBcc: everyone@example.com".into(),
                    ..mail("a@example.com", None)
                },
                "subject",
            ),
            (
                OutgoingEmail {
                    kind: " ".into(),
                    ..mail("a@example.com", None)
                },
                "kind",
            ),
            (
                OutgoingEmail {
                    text: String::new(),
                    ..mail("a@example.com", None)
                },
                "text",
            ),
        ];
        for (m, field) in cases {
            match db.enqueue_email(&m).await {
                Err(StoreError::Invalid(v)) => assert_eq!(v.field, field, "{}", t.name),
                other => panic!("{}: expected {field} refused, got {other:?}", t.name),
            }
        }
        let nobody = CustomerId(storefort_store::db::new_id());
        let e = db
            .enqueue_email(&mail("a@example.com", Some(&nobody)))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
        assert_eq!(count(db).await, 0, "{}", t.name);
        for bad in ["nope", &storefort_store::db::new_id()] {
            assert!(matches!(
                db.mark_email_sent(bad).await,
                Err(StoreError::NotFound { .. })
            ));
            assert!(matches!(
                db.mark_email_failed(bad, "x").await,
                Err(StoreError::NotFound { .. })
            ));
        }
    }
}

#[tokio::test]
async fn mail_queued_in_a_transaction_exists_only_if_it_commits() {
    for t in common::backends().await {
        let db = &t.db;
        let mut tx = db.pool.begin().await.unwrap();
        db.enqueue_email_in(&mut tx, &mail("a@example.com", None))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(count(db).await, 0, "{}", t.name);
        assert!(db.due_emails(10).await.unwrap().is_empty());

        let c = db
            .create_customer(&customer("Cy Cole", "cy@example.com"), None)
            .await
            .unwrap();
        let mut tx = db.pool.begin().await.unwrap();
        let id = db
            .enqueue_email_in(&mut tx, &mail("cy@example.com", Some(&c.id)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let due = db.due_emails(10).await.unwrap();
        assert_eq!(due.len(), 1, "{}", t.name);
        assert_eq!(
            (due[0].id.as_str(), due[0].customer_id.as_ref()),
            (id.as_str(), Some(&c.id))
        );
        assert_eq!(due[0].to, "cy@example.com");
    }
}

/// A key rotation must carry queued mail to the new keys (rotation.rs re-seals `outbox` rows
/// and keeps their customer keys until then). Without it, a rotation finished during an SMTP
/// outage leaves that mail unopenable.
#[tokio::test]
async fn queued_mail_survives_a_key_rotation() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let c = db
            .create_customer(&customer("Ann Archer", "ann@example.com"), None)
            .await
            .unwrap();
        db.enqueue_email(&mail("ann@example.com", Some(&c.id)))
            .await
            .unwrap();
        db.enqueue_email(&mail("guest@example.com", None))
            .await
            .unwrap();
        let status = db.begin_rotation().await.unwrap();
        assert_eq!(status.secrets_left, 1, "{}: guest mail counted", t.name);
        while db.rotate_batch(10).await.unwrap() > 0 {}
        clock.advance(MINUTE);
        while db.rotate_batch(10).await.unwrap() > 0 {}
        assert!(db.finish_rotation().await.unwrap(), "{}", t.name);
        let mut to: Vec<String> = db
            .due_emails(10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.to)
            .collect();
        to.sort();
        assert_eq!(to, ["ann@example.com", "guest@example.com"], "{}", t.name);
    }
}
