//! `storefort user ...` through the real binary against a shop made by `storefort init`: every
//! change lands in the database and in the audit log as `cli`; bad input exits with status 2
//! and changes nothing.

mod common;

use common::{init_shop, open_db, password_after, run, stderr, stdout, OWNER};
use storefort_crypto::{password, token};
use storefort_store::audit::{AuditFilter, AuditVerdict};
use storefort_store::auth::Stage;
use storefort_store::Db;

async fn user(db: &Db, email: &str) -> storefort_store::auth::User {
    db.user_by_email(email).await.unwrap().expect("user exists")
}

async fn session_for(db: &Db, email: &str) {
    let u = user(db, email).await;
    db.create_session(
        u.id.as_str(),
        &token::hash_token(&token::random_token()),
        "csrf",
        Stage::Full,
        "192.0.2.1",
        "test",
    )
    .await
    .unwrap();
    assert_eq!(db.sessions_of(u.id.as_str()).await.unwrap().len(), 1);
}

async fn cli_actions(db: &Db) -> Vec<(String, String)> {
    let mut all = db
        .audit_entries(&AuditFilter {
            actor: Some("cli".into()),
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    all.reverse();
    for e in &all {
        assert_eq!((e.actor.as_str(), e.ip.as_str()), ("cli", "cli"), "{e:?}");
    }
    all.into_iter().map(|e| (e.action, e.target)).collect()
}

#[tokio::test]
async fn add_prints_a_temporary_password_once_and_list_shows_staff() {
    let (dir, config) = init_shop();
    let out = run(
        &config,
        &[
            "user",
            "add",
            " Alice@Example.com ",
            "--name",
            "Alice Able",
            "--role",
            "manager",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let pw = password_after(&text, "Temporary password:");
    assert!(password::check_policy(&pw, &["alice@example.com", "Alice Able"]).is_ok());
    assert!(text.contains("must choose their own password"), "{text}");
    assert!(
        text.contains("two-step sign-in"),
        "managers are told about MFA: {text}"
    );

    let db = open_db(dir.path()).await;
    let alice = user(&db, "alice@example.com").await;
    assert_eq!(alice.role, "manager");
    assert!(alice.must_change_password, "temporary");
    assert!(!alice.mfa_enabled && !alice.disabled);
    assert!(password::verify(&pw, &alice.password_hash).unwrap());

    // Bad input: status 2, a message, nothing changed.
    for (args, says) in [
        (
            vec!["alice@example.com", "--name", "Again", "--role", "cashier"],
            "already exists",
        ),
        (
            vec!["bob@example.com", "--name", "Bob", "--role", "boss"],
            "boss",
        ),
        (
            vec!["not-an-email", "--name", "Bob", "--role", "cashier"],
            "email",
        ),
        (
            vec!["bob@example.com", "--name", "  ", "--role", "cashier"],
            "--name",
        ),
        (vec!["bob@example.com", "--role", "cashier"], "--name"),
    ] {
        let mut full = vec!["user", "add"];
        full.extend(&args);
        let out = run(&config, &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(!stdout(&out).contains("password"), "no password printed");
    }
    assert_eq!(db.users().await.unwrap().len(), 2, "owner and alice only");
    assert_eq!(user(&db, "alice@example.com").await.name, "Alice Able");

    let out = run(&config, &["user", "list"]);
    assert!(out.status.success());
    let list = stdout(&out);
    let head = list.lines().next().unwrap();
    for col in [
        "EMAIL",
        "NAME",
        "ROLE",
        "MFA",
        "LOCKED",
        "DISABLED",
        "LAST SIGN-IN",
    ] {
        assert!(head.contains(col), "{head}");
    }
    let row = list
        .lines()
        .find(|l| l.starts_with("alice@example.com"))
        .expect("alice listed");
    let cells: Vec<&str> = row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        [
            "alice@example.com",
            "Alice Able",
            "manager",
            "no",
            "no",
            "no",
            "never"
        ]
    );
    assert!(list.lines().any(|l| l.starts_with(OWNER)), "{list}");
    assert!(!list.contains(&pw), "list never shows passwords");

    let help = stdout(&run(&config, &["user", "add", "--help"]));
    assert!(
        help.contains("--role") && help.contains("temporary password"),
        "{help}"
    );

    assert_eq!(
        cli_actions(&db).await,
        [
            ("staff.created".into(), OWNER.to_string()),
            ("staff.created".into(), "alice@example.com".into()),
        ]
    );
}

#[tokio::test]
async fn disable_enable_unlock_and_resets_are_audited() {
    let (dir, config) = init_shop();
    let out = run(
        &config,
        &[
            "user",
            "add",
            "bob@example.com",
            "--name",
            "Bob",
            "--role",
            "cashier",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let first_pw = password_after(&stdout(&out), "Temporary password:");
    let db = open_db(dir.path()).await;

    session_for(&db, "bob@example.com").await;
    let out = run(&config, &["user", "disable", "bob@example.com"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bob = user(&db, "bob@example.com").await;
    assert!(bob.disabled);
    assert!(
        db.sessions_of(bob.id.as_str()).await.unwrap().is_empty(),
        "sessions ended"
    );
    let list = stdout(&run(&config, &["user", "list"]));
    let row = list.lines().find(|l| l.starts_with("bob@")).unwrap();
    assert!(row.contains("yes"), "{row}");

    // The only enabled owner cannot be disabled (nobody could run the shop).
    let out = run(&config, &["user", "disable", OWNER]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("only enabled owner"),
        "{}",
        stderr(&out)
    );
    assert!(!user(&db, OWNER).await.disabled);

    let out = run(&config, &["user", "enable", "bob@example.com"]);
    assert!(out.status.success());
    assert!(!user(&db, "bob@example.com").await.disabled);

    // Ten failures lock the account; unlock lifts it.
    let bob = user(&db, "bob@example.com").await;
    for _ in 0..10 {
        db.record_login_failure(bob.id.as_str()).await.unwrap();
    }
    assert!(user(&db, "bob@example.com").await.is_locked(db.now()));
    let list = stdout(&run(&config, &["user", "list"]));
    assert!(
        list.lines()
            .find(|l| l.starts_with("bob@"))
            .unwrap()
            .contains("until "),
        "{list}"
    );
    let out = run(&config, &["user", "unlock", "bob@example.com"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("was locked"));
    let bob = user(&db, "bob@example.com").await;
    assert!(!bob.is_locked(db.now()) && bob.failed_logins == 0);

    // Reset: a new temporary password, the old one dead, every session ended.
    session_for(&db, "bob@example.com").await;
    let out = run(&config, &["user", "reset-password", "BOB@example.com"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_pw = password_after(&stdout(&out), "New temporary password for");
    assert_ne!(new_pw, first_pw);
    let bob = user(&db, "bob@example.com").await;
    assert!(password::verify(&new_pw, &bob.password_hash).unwrap());
    assert!(!password::verify(&first_pw, &bob.password_hash).unwrap());
    assert!(bob.must_change_password);
    assert!(db.sessions_of(bob.id.as_str()).await.unwrap().is_empty());

    // MFA reset: the owner loses the enrolment and their sessions.
    let owner = user(&db, OWNER).await;
    db.begin_mfa_enrolment(owner.id.as_str()).await.unwrap();
    db.confirm_mfa(owner.id.as_str(), 0, &[]).await.unwrap();
    session_for(&db, OWNER).await;
    assert!(user(&db, OWNER).await.mfa_enabled);
    let out = run(&config, &["user", "reset-mfa", OWNER]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("set it up again"));
    assert!(!user(&db, OWNER).await.mfa_enabled);
    assert!(db.sessions_of(owner.id.as_str()).await.unwrap().is_empty());

    // Unknown accounts: status 2, nothing written.
    let before = cli_actions(&db).await.len();
    for cmd in ["disable", "enable", "unlock", "reset-password", "reset-mfa"] {
        let out = run(&config, &["user", cmd, "nobody@example.com"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(stderr(&out).contains("no staff member with email nobody@example.com"));
    }
    assert_eq!(cli_actions(&db).await.len(), before);

    let actions: Vec<String> = cli_actions(&db).await.into_iter().map(|a| a.0).collect();
    assert_eq!(
        actions,
        [
            "staff.created",
            "staff.created",
            "staff.disabled",
            "staff.enabled",
            "staff.unlocked",
            "password.reset",
            "mfa.reset"
        ]
    );
    assert!(matches!(
        db.verify_audit().await.unwrap(),
        AuditVerdict::Intact { .. }
    ));
}
