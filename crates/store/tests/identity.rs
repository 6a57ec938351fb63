//! Staff identity on both engines: lockout, TOTP replay, recovery codes, reset links,
//! invitations, password history, the breached list, and the audit chain under attack.

mod common;

use std::sync::Arc;

use storefort_store::audit::{AuditEvent, AuditFilter, AuditVerdict, Outcome};
use storefort_store::auth::Stage;
use storefort_store::{Clock, Db, ManualClock, StoreError};

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

async fn owner(db: &Db) -> String {
    db.create_user("owner@example.com", "Olive", "owner", "$argon2id$h1", 4)
        .await
        .unwrap()
        .id
        .0
}

#[tokio::test]
async fn ten_failures_lock_for_thirty_minutes_and_success_resets() {
    let clock = Arc::new(ManualClock::new(T0));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let id = owner(db).await;
        for _ in 0..9 {
            db.record_login_failure(&id).await.unwrap();
        }
        assert!(!db.user(&id).await.unwrap().is_locked(clock.now_ms()));
        db.record_login_success(&id).await.unwrap();
        assert_eq!(db.user(&id).await.unwrap().failed_logins, 0, "{}", t.name);
        for _ in 0..10 {
            db.record_login_failure(&id).await.unwrap();
        }
        let u = db.user(&id).await.unwrap();
        assert!(u.is_locked(clock.now_ms()), "{}", t.name);
        clock.advance(29 * MIN);
        db.record_login_failure(&id).await.unwrap();
        assert!(db.user(&id).await.unwrap().is_locked(clock.now_ms()));
        clock.advance(2 * MIN);
        assert!(
            !db.user(&id).await.unwrap().is_locked(clock.now_ms()),
            "tries while locked do not extend the lock ({})",
            t.name
        );
        db.record_login_failure(&id).await.unwrap();
        let u = db.user(&id).await.unwrap();
        assert_eq!(u.failed_logins, 1, "counting restarts after a lock");
        assert!(!u.is_locked(clock.now_ms()));
        for _ in 0..10 {
            db.record_login_failure(&id).await.unwrap();
        }
        db.unlock_user(&id).await.unwrap();
        assert!(!db.user(&id).await.unwrap().is_locked(clock.now_ms()));
        assert!(matches!(
            db.unlock_user("no-such-user").await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn totp_steps_and_recovery_codes_work_once() {
    for t in common::backends().await {
        let db = &t.db;
        let id = owner(db).await;
        assert!(!db.user(&id).await.unwrap().mfa_enabled);
        let secret = db.begin_mfa_enrolment(&id).await.unwrap();
        assert_eq!(
            db.pending_mfa_secret(&id).await.unwrap(),
            Some(secret.clone())
        );
        assert!(
            !db.user(&id).await.unwrap().mfa_enabled,
            "pending is not on"
        );
        let codes = vec!["abcde-fghij".to_string(), "kmnpq-rstuv".to_string()];
        db.confirm_mfa(&id, 100, &codes).await.unwrap();
        assert!(db.user(&id).await.unwrap().mfa_enabled, "{}", t.name);
        assert_eq!(db.mfa_secret(&id).await.unwrap(), Some(secret.clone()));
        let stored: Option<String> =
            sqlx::query_scalar("SELECT totp_secret FROM users WHERE id = $1")
                .bind(&id)
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert!(!stored.unwrap().contains(&secret), "seed sealed at rest");
        let code_hashes: Vec<String> =
            sqlx::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1")
                .bind(&id)
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(code_hashes.len(), 2);
        assert!(
            !code_hashes.contains(&storefort_crypto::token::hash_token("abcdefghij")),
            "recovery codes are keyed hashes, not plain SHA-256 ({})",
            t.name
        );
        assert!(
            !db.spend_totp_step(&id, 100).await.unwrap(),
            "enrolment step spent"
        );
        assert!(db.spend_totp_step(&id, 101).await.unwrap());
        assert!(!db.spend_totp_step(&id, 101).await.unwrap(), "replay");
        assert!(!db.spend_totp_step(&id, 99).await.unwrap(), "older step");
        assert!(db.spend_recovery_code(&id, "ABCDE FGHIJ").await.unwrap());
        assert!(!db.spend_recovery_code(&id, "abcde-fghij").await.unwrap());
        assert!(!db.spend_recovery_code(&id, "zzzzz-zzzzz").await.unwrap());
        assert_eq!(db.recovery_codes_left(&id).await.unwrap(), 1);
        db.reset_mfa(&id).await.unwrap();
        assert!(!db.user(&id).await.unwrap().mfa_enabled);
        assert_eq!(db.recovery_codes_left(&id).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn racing_replays_of_one_code_let_exactly_one_through() {
    for t in common::backends().await {
        let db = &t.db;
        let id = owner(db).await;
        db.begin_mfa_enrolment(&id).await.unwrap();
        db.confirm_mfa(&id, 1, &[]).await.unwrap();
        let tries = (0..20).map(|_| {
            let db = db.clone();
            let id = id.clone();
            tokio::spawn(async move { db.spend_totp_step(&id, 5).await.unwrap() })
        });
        let wins = futures::future::join_all(tries)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(wins, 1, "{}", t.name);
    }
}

#[tokio::test]
async fn reset_links_expire_and_work_once() {
    let clock = Arc::new(ManualClock::new(T0));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let id = owner(db).await;
        db.create_session(&id, "s1", "c", Stage::Full, "", "")
            .await
            .unwrap();
        db.create_password_reset(&id, "r1").await.unwrap();
        db.create_password_reset(&id, "r2").await.unwrap();
        assert!(db.password_reset_user("r1").await.unwrap().is_some());
        assert_eq!(db.use_password_reset("r1").await.unwrap(), Some(id.clone()));
        assert_eq!(db.use_password_reset("r1").await.unwrap(), None, "reused");
        assert_eq!(
            db.use_password_reset("r2").await.unwrap(),
            None,
            "siblings die too"
        );
        db.create_password_reset(&id, "r3").await.unwrap();
        clock.advance(31 * MIN);
        assert!(
            db.password_reset_user("r3").await.unwrap().is_none(),
            "expired"
        );
        assert_eq!(db.use_password_reset("r3").await.unwrap(), None);
        assert_eq!(db.use_password_reset("nope").await.unwrap(), None);
    }
}

#[tokio::test]
async fn password_history_keeps_the_last_four() {
    for t in common::backends().await {
        let db = &t.db;
        let id = owner(db).await;
        for i in 2..=6 {
            db.set_password(&id, &format!("$argon2id$h{i}"), 4)
                .await
                .unwrap();
        }
        assert_eq!(
            db.password_history(&id).await.unwrap(),
            [
                "$argon2id$h6",
                "$argon2id$h5",
                "$argon2id$h4",
                "$argon2id$h3"
            ],
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn invitations_accept_once_and_expire() {
    let clock = Arc::new(ManualClock::new(T0));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let id = owner(db).await;
        let bad = db
            .create_invitation("x", "Cass", "cashier", &id, "i0")
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid(e)) if e.field == "email"));
        let bad = db
            .create_invitation("c@example.com", "Cass", "root", &id, "i0")
            .await;
        assert!(matches!(bad, Err(StoreError::Invalid(e)) if e.field == "role"));
        let dup = db
            .create_invitation("owner@example.com", "O", "cashier", &id, "i0")
            .await;
        assert!(
            matches!(dup, Err(StoreError::Conflict { .. })),
            "{}",
            t.name
        );
        db.create_invitation("c@example.com", "Cass", "cashier", &id, "i1")
            .await
            .unwrap();
        let u = db.accept_invitation("i1", "$argon2id$c", 4).await.unwrap();
        assert_eq!(
            (u.email.as_str(), u.role.as_str()),
            ("c@example.com", "cashier")
        );
        assert!(
            db.accept_invitation("i1", "$argon2id$c", 4).await.is_err(),
            "once"
        );
        db.create_invitation("m@example.com", "Max", "manager", &id, "i2")
            .await
            .unwrap();
        clock.advance(8 * 24 * 60 * MIN);
        assert!(db.open_invitation("i2").await.unwrap().is_none(), "expired");
        assert!(db.accept_invitation("i2", "$argon2id$m", 4).await.is_err());
    }
}

#[tokio::test]
async fn breached_list_imports_without_duplicates() {
    for t in common::backends().await {
        let db = &t.db;
        let p = storefort_crypto::password::breached_prefix("password");
        let added = db
            .import_breached(&[p.clone(), p.clone(), "0123456789ABCDEF".into()])
            .await
            .unwrap();
        assert_eq!(added, 2, "{}", t.name);
        assert!(db.is_breached(&p).await.unwrap());
        assert!(!db.is_breached("FFFFFFFFFFFFFFFF").await.unwrap());
        assert_eq!(db.breached_count().await.unwrap(), 2);
    }
}

async fn write_events(db: &Db, n: usize) {
    for i in 0..n {
        db.audit(
            AuditEvent::new("login.failure", "eve@example.com", "203.0.113.7")
                .on(&format!("target-{i}"))
                .outcome(Outcome::Failure),
        )
        .await
        .unwrap();
    }
}

fn broken_at(v: AuditVerdict) -> i64 {
    match v {
        AuditVerdict::Broken { seq, .. } => seq,
        AuditVerdict::Intact { entries } => panic!("tampering not caught ({entries} entries)"),
    }
}

#[tokio::test]
async fn audit_chain_catches_changes_deletions_and_reordering() {
    for t in common::backends().await {
        let db = &t.db;
        write_events(db, 6).await;
        assert_eq!(
            db.verify_audit().await.unwrap(),
            AuditVerdict::Intact { entries: 6 }
        );
        let seqs: Vec<i64> = db
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .iter()
            .rev()
            .map(|e| e.seq)
            .collect();
        let upd = sqlx::query("UPDATE audit_log SET details = 'x' WHERE seq = $1")
            .bind(seqs[1])
            .execute(&db.pool)
            .await;
        assert!(upd.is_err(), "{}: the table refuses updates", t.name);
        sqlx::query("DROP TRIGGER audit_log_no_update ON audit_log")
            .execute(&db.pool)
            .await
            .or(sqlx::query("DROP TRIGGER audit_log_no_update")
                .execute(&db.pool)
                .await)
            .unwrap();
        // Changed: the attacker rewrites who failed to sign in.
        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = $1")
            .bind(seqs[3])
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            broken_at(db.verify_audit().await.unwrap()),
            seqs[3],
            "{}",
            t.name
        );
        sqlx::query("UPDATE audit_log SET actor = 'eve@example.com' WHERE seq = $1")
            .bind(seqs[3])
            .execute(&db.pool)
            .await
            .unwrap();
        assert!(matches!(
            db.verify_audit().await.unwrap(),
            AuditVerdict::Intact { .. }
        ));
        // Reordered: swap two entries' positions.
        for (from, to) in [(seqs[1], -1), (seqs[2], seqs[1]), (-1, seqs[2])] {
            sqlx::query("UPDATE audit_log SET seq = $1 WHERE seq = $2")
                .bind(to)
                .bind(from)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        assert_eq!(
            broken_at(db.verify_audit().await.unwrap()),
            seqs[1],
            "{}",
            t.name
        );
        for (from, to) in [(seqs[1], -1), (seqs[2], seqs[1]), (-1, seqs[2])] {
            sqlx::query("UPDATE audit_log SET seq = $1 WHERE seq = $2")
                .bind(to)
                .bind(from)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        // Deleted: a middle entry vanishes.
        sqlx::query("DELETE FROM audit_log WHERE seq = $1")
            .bind(seqs[4])
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(
            broken_at(db.verify_audit().await.unwrap()),
            seqs[5],
            "{}",
            t.name
        );
        // Deleting the oldest entries without moving the anchor is caught too.
        sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
            .bind(seqs[0])
            .execute(&db.pool)
            .await
            .unwrap();
        assert_eq!(broken_at(db.verify_audit().await.unwrap()), seqs[1]);
    }
}

#[tokio::test]
async fn retention_prunes_old_entries_and_the_chain_still_verifies() {
    let clock = Arc::new(ManualClock::new(T0));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        write_events(db, 3).await;
        clock.advance(401 * 24 * 60 * MIN);
        write_events(db, 2).await;
        assert_eq!(db.prune_audit().await.unwrap(), 3, "{}", t.name);
        assert_eq!(
            db.verify_audit().await.unwrap(),
            AuditVerdict::Intact { entries: 3 },
            "two kept plus the pruning record ({})",
            t.name
        );
        assert_eq!(db.prune_audit().await.unwrap(), 0);
        // An attacker deletes the oldest kept entry and moves the anchor to match: caught,
        // because the anchor is signed with the chain key.
        let oldest = db.audit_entries(&AuditFilter::default()).await.unwrap();
        let oldest = oldest.last().unwrap().clone();
        sqlx::query("DELETE FROM audit_log WHERE seq = $1")
            .bind(oldest.seq)
            .execute(&db.pool)
            .await
            .unwrap();
        db.set_setting("audit_anchor", &oldest.hash).await.unwrap();
        assert!(
            matches!(
                db.verify_audit().await.unwrap(),
                AuditVerdict::Broken { .. }
            ),
            "{}",
            t.name
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor, action, target, ip, outcome, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(oldest.seq)
        .bind(oldest.at)
        .bind(&oldest.actor_id)
        .bind(&oldest.actor)
        .bind(&oldest.action)
        .bind(&oldest.target)
        .bind(&oldest.ip)
        .bind(&oldest.outcome)
        .bind(&oldest.details)
        .bind(&oldest.prev_hash)
        .bind(&oldest.hash)
        .execute(&db.pool)
        .await
        .unwrap();
        let rows = db
            .audit_entries(&AuditFilter {
                action: Some("login".into()),
                actor: Some("EVE".into()),
                outcome: Some("failure".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].seq > rows[1].seq, "newest first");
        assert!(
            matches!(
                db.verify_audit().await.unwrap(),
                AuditVerdict::Broken { .. }
            ),
            "the moved anchor stays caught"
        );
        assert_eq!(
            db.login_failures_from("203.0.113.7", clock.now_ms() - 15 * MIN)
                .await
                .unwrap(),
            2
        );
    }
}

#[tokio::test]
async fn audit_needs_the_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("k.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    assert!(matches!(
        db.audit(AuditEvent::new("x", "y", "z")).await,
        Err(StoreError::NoKeys)
    ));
}
