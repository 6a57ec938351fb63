//! Guest data retention through the real binary: `serve` anonymizes guests inactive for longer
//! than `privacy.guest_retention_months` at start (and daily), audits each one without personal
//! data, and records it in the erasure ledger beside the master key.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{init_shop, open_db, storefort};
use storefort_core::customer::NewCustomer;

const MONTH_MS: i64 = 2_629_800_000;

fn guest(name: &str, email: &str) -> NewCustomer {
    NewCustomer {
        name: name.into(),
        email: email.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn serve_anonymizes_stale_guests_and_keeps_the_rest() {
    let (dir, config) = init_shop();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("guest_retention_months = 24", "guest_retention_months = 6")
            .replace("level = \"info\"", "level = \"info\"\nfile = \"shop.log\""),
    )
    .unwrap();
    let db = open_db(dir.path()).await;
    let stale = db
        .guest_customer(&guest("Old Guest", "old@example.com"))
        .await
        .unwrap();
    let recent = db
        .guest_customer(&guest("New Guest", "new@example.com"))
        .await
        .unwrap();
    let account = db
        .create_customer(
            &guest("Old Account", "acct@example.com"),
            Some("$argon2id$stub"),
        )
        .await
        .unwrap();
    for (id, months) in [(&stale.id, 7), (&recent.id, 5), (&account.id, 30)] {
        sqlx::query("UPDATE customers SET last_activity_at = $1 WHERE id = $2")
            .bind(db.now() - months * MONTH_MS)
            .bind(id.as_str())
            .execute(&db.pool)
            .await
            .unwrap();
    }

    let mut child = storefort(&config)
        .arg("serve")
        .env("STOREFORT_SERVER__LISTEN", "127.0.0.1:0")
        .env("STOREFORT_SERVER__HTTP_LISTEN", "")
        .env("STOREFORT_SERVER__METRICS_LISTEN", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let listening = out
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("listening on"));
    let started = Instant::now();
    let mut anonymized = false;
    while listening && started.elapsed() < Duration::from_secs(30) {
        let c = db.customer(&stale.id).await;
        if c.as_ref().map_or(true, |c| c.erased_at.is_some()) {
            anonymized = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = dir.path().join("shop.log");
    let mut logged = String::new();
    while anonymized && started.elapsed() < Duration::from_secs(30) {
        logged = std::fs::read_to_string(&log).unwrap_or_default();
        if logged.contains("inactive guests anonymized") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "serve did not start");
    assert!(logged.contains("anonymized=1"), "log.file: {logged}");
    assert!(
        !logged.contains('\u{1b}'),
        "no terminal colours in the file: {logged}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(anonymized, "the stale guest was not anonymized");
    assert!(db
        .customer_by_email("old@example.com")
        .await
        .unwrap()
        .is_none());
    assert_eq!(db.customer(&recent.id).await.unwrap().name, "New Guest");
    assert_eq!(db.customer(&account.id).await.unwrap().name, "Old Account");

    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT actor, target, details FROM audit_log WHERE action = 'customer.anonymized'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].1, stale.id.as_str());
    assert!(rows[0].2.contains("6 months"), "{rows:?}");
    assert!(
        !rows[0].2.contains("Old") && !rows[0].2.contains("@"),
        "{rows:?}"
    );
    let ledger = std::fs::read_to_string(dir.path().join("erasures.log")).unwrap();
    assert!(ledger.contains(stale.id.as_str()), "{ledger}");
    assert!(!ledger.contains(recent.id.as_str()));
}

#[test]
fn retention_outside_its_bounds_is_refused_by_name() {
    let (_dir, config) = init_shop();
    for bad in ["0", "121"] {
        let out = storefort(&config)
            .args(["keys", "status"])
            .env("STOREFORT_PRIVACY__GUEST_RETENTION_MONTHS", bad)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = common::stderr(&out);
        assert!(
            err.contains("privacy.guest_retention_months must be between 1 and 120"),
            "{err}"
        );
    }
}
