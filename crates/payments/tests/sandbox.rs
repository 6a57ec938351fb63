//! The sandbox gateway over the store's `sandbox_payments` book: every outcome's state, and the
//! rules for capture, void and refund (wrong state is a conflict, nothing changes). Runs on
//! SQLite, and on PostgreSQL too when `STOREFORT_TEST_POSTGRES_URL` is set.

use std::sync::Arc;

use storefort_payments::sandbox::sandbox_state;
use storefort_payments::{
    AuthorizeRequest, Card, Channel, Check, Gateway, GatewayError, NextStep, PaymentStatus,
    SandboxGateway,
};
use storefort_store::db::ConnectOptions;
use storefort_store::sandbox::{SandboxOutcome, SandboxStatus};
use storefort_store::{Db, ManualClock, StoreError};

struct TestDb {
    db: Db,
    name: &'static str,
    _dir: Option<tempfile::TempDir>,
}

async fn backends() -> Vec<TestDb> {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Db::connect_with(&url, ConnectOptions::default(), clock.clone())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let mut out = vec![TestDb {
        db,
        name: "sqlite",
        _dir: Some(dir),
    }];
    if let Ok(pg) = std::env::var("STOREFORT_TEST_POSTGRES_URL") {
        let schema = format!("t_{}", storefort_store::db::new_id().replace('-', ""));
        let opts = ConnectOptions {
            pg_schema: Some(schema),
            max_connections: Some(4),
        };
        let db = Db::connect_with(&pg, opts, clock).await.unwrap();
        db.migrate().await.unwrap();
        out.push(TestDb {
            db,
            name: "postgres",
            _dir: None,
        });
    }
    out
}

fn request(amount_minor: i64) -> AuthorizeRequest {
    AuthorizeRequest {
        order_id: "order-1".into(),
        order_number: 1001,
        amount_minor,
        currency: "GBP".into(),
        return_url: "https://shop.example/checkout/return?o=1".into(),
        idempotency_key: "k1".into(),
        description: "Order #1001".into(),
    }
}

/// A sandbox payment of £25.00 on which the shopper chose `outcome`.
async fn paid(g: &SandboxGateway, db: &Db, outcome: SandboxOutcome) -> String {
    let a = g.authorize(&request(2500)).await.unwrap();
    db.sandbox_set_outcome(&a.reference, outcome).await.unwrap();
    a.reference
}

fn conflict_says(r: Result<impl std::fmt::Debug, GatewayError>, words: &str) {
    match r {
        Err(GatewayError::Conflict(m)) => assert!(m.contains(words), "{m}"),
        other => panic!("expected a conflict saying {words:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn authorize_sends_the_shopper_to_the_test_page() {
    for t in backends().await {
        let g = SandboxGateway::new(t.db.clone(), "https://shop.example/".into());
        assert_eq!((g.id(), g.channels()), ("sandbox", &[Channel::Web][..]));
        assert_eq!(g.label(), "Card (test mode)");
        let a = g.authorize(&request(2500)).await.unwrap();
        assert_eq!(
            a.next,
            NextStep::Redirect {
                url: format!("https://shop.example/sandbox/pay/{}", a.reference)
            },
            "{}",
            t.name
        );
        assert_eq!(a.state.status, PaymentStatus::RequiresAction);
        assert_eq!((a.state.amount_minor, a.state.card.clone()), (2500, None));
        let p = t.db.sandbox_payment(&a.reference).await.unwrap();
        assert_eq!(
            (p.currency.as_str(), p.description.as_str(), p.outcome),
            ("GBP", "Order #1001", None)
        );
        assert_eq!(p.return_url, "https://shop.example/checkout/return?o=1");

        // Bad requests change nothing.
        let mut bad = request(0);
        assert!(
            matches!(g.authorize(&bad).await, Err(GatewayError::Invalid { field, .. }) if field == "amount")
        );
        bad = request(100);
        bad.currency = "XYZ".into();
        assert!(
            matches!(g.authorize(&bad).await, Err(GatewayError::Invalid { field, .. }) if field == "currency")
        );
        bad = request(100);
        bad.return_url = "/relative".into();
        assert!(
            matches!(g.authorize(&bad).await, Err(GatewayError::Invalid { field, .. }) if field == "return_url")
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sandbox_payments")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "{}: refused requests stored nothing", t.name);
        let e = g.status("0190aaaa-0000-7000-8000-000000000000").await;
        assert!(matches!(e, Err(GatewayError::Invalid { field, .. }) if field == "reference"));
        assert!(matches!(
            g.status("junk").await,
            Err(GatewayError::Invalid { .. })
        ));
    }
}

#[tokio::test]
async fn each_outcome_gives_its_state_card_and_checks() {
    use Check::{Fail, NotChecked, Pass};
    use PaymentStatus::{Authorized, Failed};
    let cases = [
        (
            SandboxOutcome::Success,
            Authorized,
            [Pass, Pass, NotChecked],
            None,
        ),
        (
            SandboxOutcome::Decline,
            Failed,
            [NotChecked, NotChecked, NotChecked],
            Some("Your card was declined."),
        ),
        (
            SandboxOutcome::InsufficientFunds,
            Failed,
            [Pass, Pass, NotChecked],
            Some("insufficient funds"),
        ),
        (
            SandboxOutcome::CvcFail,
            Failed,
            [Fail, Pass, NotChecked],
            Some("security code"),
        ),
        (
            SandboxOutcome::PostcodeFail,
            Authorized,
            [Pass, Fail, NotChecked],
            None,
        ),
    ];
    for t in backends().await {
        let g = SandboxGateway::new(t.db.clone(), "https://shop.example".into());
        for (outcome, status, [cvc, postcode, tds], decline) in cases {
            let r = paid(&g, &t.db, outcome).await;
            let s = g.status(&r).await.unwrap();
            assert_eq!(s.status, status, "{outcome:?}");
            assert_eq!(s.card, Card::new("visa", "4242"), "{outcome:?}");
            assert_eq!(
                (s.checks.cvc, s.checks.postcode, s.checks.three_d_secure),
                (cvc, postcode, tds),
                "{outcome:?}"
            );
            match decline {
                None => assert_eq!(s.decline, None, "{outcome:?}"),
                Some(w) => assert!(
                    s.decline.as_deref().unwrap_or("").contains(w),
                    "{outcome:?}: {:?}",
                    s.decline
                ),
            }
        }

        // 3-D Secure: the challenge first (still waiting), then pass or fail.
        for (answer, status, tds) in [
            (SandboxOutcome::ThreeDsPass, Authorized, Pass),
            (SandboxOutcome::ThreeDsFail, Failed, Fail),
        ] {
            let r = paid(&g, &t.db, SandboxOutcome::ThreeDs).await;
            let s = g.status(&r).await.unwrap();
            assert_eq!(
                (s.status, s.card.clone()),
                (PaymentStatus::RequiresAction, None)
            );
            // Only a challenge answer is accepted now.
            let e =
                t.db.sandbox_set_outcome(&r, SandboxOutcome::Success)
                    .await
                    .unwrap_err();
            assert!(
                matches!(&e, StoreError::Invalid(v) if v.field == "outcome" && v.message.contains("challenge")),
                "{e}"
            );
            t.db.sandbox_set_outcome(&r, answer).await.unwrap();
            let s = g.status(&r).await.unwrap();
            assert_eq!(
                (s.status, s.checks.three_d_secure),
                (status, tds),
                "{answer:?}"
            );
        }
        // A challenge answer without a challenge is refused.
        let a = g.authorize(&request(100)).await.unwrap();
        let e =
            t.db.sandbox_set_outcome(&a.reference, SandboxOutcome::ThreeDsPass)
                .await
                .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(v) if v.field == "outcome"),
            "{e}"
        );
        // A decided payment cannot be decided again, and stays as it was.
        let r = paid(&g, &t.db, SandboxOutcome::Decline).await;
        let e =
            t.db.sandbox_set_outcome(&r, SandboxOutcome::Success)
                .await
                .unwrap_err();
        assert!(
            matches!(&e, StoreError::State { field, message } if field == "status" && message.contains("already decided")),
            "{e}"
        );
        assert_eq!(g.status(&r).await.unwrap().status, Failed, "{}", t.name);
    }
}

#[tokio::test]
async fn capture_void_and_refund_follow_the_rules() {
    for t in backends().await {
        let g = SandboxGateway::new(t.db.clone(), "https://shop.example".into());
        let r = paid(&g, &t.db, SandboxOutcome::Success).await;
        let e = g.capture(&r, 2501).await.unwrap_err();
        assert!(
            matches!(&e, GatewayError::Invalid { field, message } if field == "amount" && message.contains("£25.00")),
            "{e}"
        );
        assert!(matches!(
            g.capture(&r, 0).await,
            Err(GatewayError::Invalid { .. })
        ));
        assert_eq!(
            g.status(&r).await.unwrap().status,
            PaymentStatus::Authorized,
            "refused capture changed nothing"
        );
        let s = g.capture(&r, 2000).await.unwrap();
        assert_eq!(
            (s.status, s.captured_minor, s.refunded_minor),
            (PaymentStatus::Captured, 2000, 0)
        );
        conflict_says(g.capture(&r, 100).await, "already captured");
        conflict_says(g.void(&r).await, "only an authorized payment can be voided");

        // Refunds: only captured money, at most what is left; the same key does not repeat.
        let one = g.refund(&r, 1500, "refund-1").await.unwrap();
        assert_eq!(
            (one.state.refunded_minor, one.state.refundable_minor()),
            (1500, 500)
        );
        let again = g.refund(&r, 1500, "refund-1").await.unwrap();
        assert_eq!(again, one, "same key, same answer");
        let e = g.refund(&r, 1500, "refund-1b").await.unwrap_err();
        assert!(
            matches!(&e, GatewayError::Invalid { field, message } if field == "amount" && message.contains("refund at most £5.00 (captured £20.00, refunded £15.00)")),
            "{e}"
        );
        let e = g.refund(&r, 100, "refund-1").await.unwrap_err();
        assert!(
            matches!(&e, GatewayError::Invalid { field, .. } if field == "idempotency_key"),
            "{e}"
        );
        let last = g.refund(&r, 500, "refund-2").await.unwrap();
        assert_ne!(last.reference, one.reference);
        assert_eq!(
            (last.state.status, last.state.refunded_minor),
            (PaymentStatus::Captured, 2000)
        );

        // Void: an authorized payment (again idempotently), then no capture.
        let v = paid(&g, &t.db, SandboxOutcome::PostcodeFail).await;
        assert_eq!(g.void(&v).await.unwrap().status, PaymentStatus::Voided);
        assert_eq!(
            g.void(&v).await.unwrap().status,
            PaymentStatus::Voided,
            "void is idempotent"
        );
        conflict_says(g.capture(&v, 100).await, "this one is voided");
        conflict_says(
            g.refund(&v, 100, "refund-v").await.map(|r| r.state),
            "only captured money",
        );
        let p = t.db.sandbox_payment(&v).await.unwrap();
        assert_eq!(
            (p.status, p.captured_minor, p.refunded_minor),
            (SandboxStatus::Voided, 0, 0)
        );
        // The store itself refuses a second void with a clear message.
        let e = t.db.sandbox_void(&v).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("only an authorized payment can be voided; this one is voided"),
            "{e}"
        );

        // Declined payments cannot be captured; unfinished ones can be voided (abandoned page).
        let d = paid(&g, &t.db, SandboxOutcome::CvcFail).await;
        conflict_says(g.capture(&d, 100).await, "this one is declined");
        let u = g.authorize(&request(900)).await.unwrap().reference;
        conflict_says(g.capture(&u, 100).await, "still waiting for the shopper");
        assert_eq!(g.void(&u).await.unwrap().status, PaymentStatus::Voided);
        let e =
            t.db.sandbox_set_outcome(&u, SandboxOutcome::Success)
                .await
                .unwrap_err();
        assert!(e.to_string().contains("already decided"), "{e}");
        let p = t.db.sandbox_payment(&u).await.unwrap();
        assert_eq!(
            sandbox_state(&p).status,
            PaymentStatus::Voided,
            "{}",
            t.name
        );
        assert!(matches!(
            g.webhook(&[], b"{}", 0),
            Err(GatewayError::NotSupported(_))
        ));
    }
}
