//! `storefort audit verify|prune|export` and `storefort passwords import-breached` through the
//! real binary; tampering is done on the SQLite file directly, as an attacker holding it could.

mod common;

use common::{init_shop, open_db, run, stderr, stdout, OWNER};
use storefort_crypto::password::{breached_prefix, check_policy};
use storefort_store::Db;
use storefort_web::{AppState, WebConfig};

fn add_staff(config: &std::path::Path, email: &str) {
    let out = run(
        config,
        &[
            "user",
            "add",
            email,
            "--name",
            "Staff Member",
            "--role",
            "cashier",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

async fn sql(db: &Db, stmt: &str) {
    sqlx::query(stmt).execute(&db.pool).await.unwrap();
}

#[tokio::test]
async fn verify_passes_on_a_fresh_shop_and_catches_tampering() {
    let (dir, config) = init_shop();
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "audit log intact: 1 entries");

    add_staff(&config, "a@example.com");
    add_staff(&config, "b@example.com");
    add_staff(&config, "c@example.com");
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(stdout(&out).trim(), "audit log intact: 4 entries");

    let db = open_db(dir.path()).await;
    // The table refuses changes; an attacker with the file drops the trigger first.
    assert!(
        sqlx::query("UPDATE audit_log SET target = 'x' WHERE seq = 3")
            .execute(&db.pool)
            .await
            .is_err()
    );
    sql(&db, "DROP TRIGGER audit_log_no_update").await;
    sql(
        &db,
        "UPDATE audit_log SET target = 'someone@else.example' WHERE seq = 3",
    )
    .await;
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("audit log BROKEN at entry #3: its contents were changed"),
        "{text}"
    );

    // Put it back and delete one instead: caught at the entry after the gap.
    sql(
        &db,
        "UPDATE audit_log SET target = 'b@example.com' WHERE seq = 3",
    )
    .await;
    assert_eq!(run(&config, &["audit", "verify"]).status.code(), Some(0));
    sql(&db, "DELETE FROM audit_log WHERE seq = 2").await;
    let out = run(&config, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("audit log BROKEN at entry #3: does not follow"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn prune_and_export() {
    let (dir, config) = init_shop();
    add_staff(&config, "=cmd()@example.com");
    let out = run(&config, &["audit", "prune"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        "removed 0 audit entries older than 400 days"
    );

    let file = dir.path().join("audit.csv");
    let out = run(
        &config,
        &["audit", "export", "--csv", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("wrote 2 audit entries"),
        "{}",
        stdout(&out)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("seq,time_utc,actor,actor_id,action,target,ip,outcome,details")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].starts_with("2,")
            && rows[0].contains(",cli,,staff.created,'=cmd()@example.com,cli,success,"),
        "{}",
        rows[0]
    );
    assert!(rows[1].starts_with("1,") && rows[1].contains(OWNER));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never over an existing file.
    let out = run(
        &config,
        &["audit", "export", "--csv", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot create"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    // The export itself is recorded.
    let db = open_db(dir.path()).await;
    let last = db.audit_entries(&Default::default()).await.unwrap();
    assert_eq!(last[0].action, "audit.exported");
    assert_eq!(last[0].details, "2 entries as CSV");
}

#[tokio::test]
async fn imported_breached_passwords_are_refused() {
    let (dir, config) = init_shop();
    let listed = "Harbour-Lantern-7421-Quiet";
    let other = "Meadow-Copper-3390-Violet";
    assert!(
        check_policy(listed, &[]).is_ok(),
        "strong by zxcvbn, but leaked"
    );
    let file = dir.path().join("pwned.txt");
    std::fs::write(
        &file,
        format!(
            "# a comment\n{}0000000000000000000000AB:4711\n\nnot a hash\n{}\r\nABCDEF\n{}:2\n",
            breached_prefix(listed),
            breached_prefix("password1234").to_lowercase(),
            breached_prefix(listed),
        ),
    )
    .unwrap();
    let out = run(
        &config,
        &["passwords", "import-breached", file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 2 new entries (4 lines skipped)"),
        "{}",
        stdout(&out)
    );
    let again = run(
        &config,
        &["passwords", "import-breached", file.to_str().unwrap()],
    );
    assert!(stdout(&again).contains("imported 0 new entries (4 lines skipped)"));

    let missing = run(
        &config,
        &["passwords", "import-breached", "/nonexistent/pwned.txt"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read /nonexistent/pwned.txt"),
        "{}",
        stderr(&missing)
    );

    let db = open_db(dir.path()).await;
    assert!(db.is_breached(&breached_prefix(listed)).await.unwrap());
    assert!(db
        .is_breached(&breached_prefix("password1234"))
        .await
        .unwrap());
    assert!(!db.is_breached(&breached_prefix(other)).await.unwrap());
    assert_eq!(db.breached_count().await.unwrap(), 2);

    // The staff password policy now refuses the listed one and still takes the other.
    let state = AppState::new(db.clone(), WebConfig::default());
    let e = storefort_web::passwords::check_new_password(
        &state,
        "password",
        listed,
        "x@example.com",
        "Xavier",
        None,
    )
    .await
    .expect_err("a listed password is refused");
    assert!(e.message.contains("leaked"), "{}", e.message);
    assert!(storefort_web::passwords::check_new_password(
        &state,
        "password",
        other,
        "x@example.com",
        "Xavier",
        None
    )
    .await
    .is_ok());

    let imports = db
        .audit_entries(&storefort_store::audit::AuditFilter {
            action: Some("passwords.breached_imported".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[1].details, "2 new entries; 4 lines skipped");
}
