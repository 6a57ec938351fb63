//! Backups through the real binary: `init` prints the recovery kit and keeps only the
//! recipient; `backup create` stores a checked backup on the local destination; `backup verify`
//! opens it with the kit; `restore` brings the shop back (erasures made since re-applied, the
//! previous database kept aside), refuses while `serve` runs, refuses a wrong kit or a damaged
//! file without touching the live database, and survives being killed half-way.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{add_customers, open_db, run, stderr, stdout, storefort};

struct Shop {
    dir: tempfile::TempDir,
    config: PathBuf,
    kit: PathBuf,
}

/// `storefort init` on loopback ports, with the printed kit saved to a file outside the shop.
fn shop() -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("storefort.toml");
    let out = run(
        &config,
        &[
            "init",
            "--owner-email",
            common::OWNER,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert!(out.status.success(), "init failed: {}", stderr(&out));
    let text = stdout(&out);
    let identity = text
        .lines()
        .find(|l| l.trim_start().starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("init printed no recovery kit: {text}"))
        .trim()
        .to_string();
    let toml = std::fs::read_to_string(&config).unwrap();
    assert!(toml.contains("recipients = [\"age1"), "{toml}");
    assert!(
        !toml.contains("AGE-SECRET-KEY"),
        "the identity must not be on the server"
    );
    std::fs::write(
        &config,
        toml.replace("http_listen = \"0.0.0.0:8080\"", "http_listen = \"\"")
            .replace(
                "metrics_listen = \"127.0.0.1:9464\"",
                "metrics_listen = \"\"",
            ),
    )
    .unwrap();
    let kit_dir = tempfile::tempdir().unwrap().keep();
    let kit = kit_dir.join("kit.txt");
    std::fs::write(&kit, format!("{identity}\n")).unwrap();
    Shop { dir, config, kit }
}

fn ok(config: &Path, args: &[&str]) -> String {
    let out = run(config, args);
    assert!(
        out.status.success(),
        "storefort {args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// The newest backup file on the local destination.
fn newest_backup(s: &Shop) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(s.dir.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sfbak"))
        .collect();
    files.sort();
    files.pop().expect("a backup file")
}

/// `n` more customers named `{prefix} i` (emails unique per prefix).
async fn more_customers(dir: &Path, prefix: &str, n: usize) {
    let db = open_db(dir).await;
    for i in 0..n {
        db.create_customer(
            &storefort_core::customer::NewCustomer {
                name: format!("{prefix} {i}"),
                email: format!("{prefix}{i}@example.com"),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    }
    db.pool.close().await;
}

async fn customer_names(dir: &Path) -> Vec<String> {
    let db = open_db(dir).await;
    let mut names: Vec<String> = db
        .customers(500, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    db.pool.close().await;
    names
}

#[tokio::test]
async fn backup_verify_and_restore_bring_the_shop_back() {
    let s = shop();
    let db = open_db(s.dir.path()).await;
    let kept = add_customers(&db, 3).await;
    db.pool.close().await;

    let out = ok(&s.config, &["backup", "create"]);
    assert!(out.contains("local: stored and checked"), "{out}");
    let list = ok(&s.config, &["backup", "list"]);
    assert!(list.contains("local: 1 backup(s)"), "{list}");
    let file = newest_backup(&s);

    let kit = s.kit.to_str().unwrap();
    let v = ok(
        &s.config,
        &["backup", "verify", "latest", "--identity", kit],
    );
    assert!(v.contains("integrity: ok"), "{v}");
    assert!(v.contains("customers"), "row counts: {v}");

    // After the backup: two more customers, and one of the backed-up ones erased.
    more_customers(s.dir.path(), "later", 2).await;
    let db = open_db(s.dir.path())
        .await
        .with_erasure_ledger(s.dir.path().join("erasures.log"));
    db.erase_customer(&kept[0], storefort_store::privacy::ErasureReason::Request)
        .await
        .unwrap();
    db.pool.close().await;
    assert_eq!(customer_names(s.dir.path()).await.len(), 5);

    let out = ok(
        &s.config,
        &["restore", file.to_str().unwrap(), "--identity", kit],
    );
    assert!(out.contains("restore took"), "{out}");
    let names = customer_names(s.dir.path()).await;
    assert_eq!(
        names.len(),
        3,
        "the shop as it was at the backup: {names:?}"
    );
    let db = open_db(s.dir.path()).await;
    let erased = db.customer(&kept[0]).await.unwrap();
    assert!(
        erased.email.is_empty() || erased.email != "customer0@example.com",
        "the erasure made after the backup is applied again"
    );
    let audit = db
        .audit_entries(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect::<Vec<_>>();
    assert!(audit.iter().any(|a| a == "backup.restored"), "{audit:?}");
    db.pool.close().await;
    let aside = std::fs::read_dir(s.dir.path().join("storefort-data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("before-restore"))
        .count();
    assert!(aside >= 1, "the previous database is kept aside");
}

#[tokio::test]
async fn a_wrong_kit_or_a_damaged_file_changes_nothing() {
    let s = shop();
    let db = open_db(s.dir.path()).await;
    add_customers(&db, 2).await;
    db.pool.close().await;
    ok(&s.config, &["backup", "create"]);
    let file = newest_backup(&s);
    more_customers(s.dir.path(), "later", 1).await;
    let before = customer_names(s.dir.path()).await;

    // Another shop's kit; a truncated copy; a kit file with no identity in it (names the flag).
    let other = shop();
    let bytes = std::fs::read(&file).unwrap();
    let cut = s.dir.path().join("cut.sfbak");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let empty = s.dir.path().join("empty-kit.txt");
    std::fs::write(&empty, "nothing here\n").unwrap();
    for (backup, kit, says) in [
        (&file, &other.kit, "cannot open the backup"),
        (&cut, &s.kit, "damaged or incomplete"),
        (&file, &empty, "--identity"),
    ] {
        let out = run(
            &s.config,
            &[
                "restore",
                backup.to_str().unwrap(),
                "--identity",
                kit.to_str().unwrap(),
            ],
        );
        assert!(!out.status.success());
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
    }

    assert_eq!(
        customer_names(s.dir.path()).await,
        before,
        "live data untouched"
    );
}

#[tokio::test]
async fn restore_refuses_while_serve_runs_unless_told_to_stop_it() {
    let s = shop();
    ok(&s.config, &["backup", "create"]);
    let file = newest_backup(&s);
    let mut serve = storefort(&s.config)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while storefort_backup::lock::holder(&s.dir.path().join("storefort-data")).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kit = s.kit.to_str().unwrap();
    let out = run(
        &s.config,
        &["restore", file.to_str().unwrap(), "--identity", kit],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("storefort serve is running"),
        "{}",
        stderr(&out)
    );
    // Reap serve as soon as it exits (as its service manager would): restore waits for the
    // process to be gone, not only for it to let go of the lock.
    let pid = serve.id();
    let waiter = std::thread::spawn(move || {
        let status = serve.wait().unwrap();
        (status, Instant::now())
    });
    let out = ok(
        &s.config,
        &[
            "restore",
            file.to_str().unwrap(),
            "--identity",
            kit,
            "--stop-server",
        ],
    );
    let restored_at = Instant::now();
    assert!(
        out.contains(&format!("asked storefort serve (pid {pid})")),
        "{out}"
    );
    let (status, exited_at) = waiter.join().unwrap();
    assert!(status.success() || status.code().is_none(), "{status:?}");
    assert!(
        exited_at <= restored_at,
        "restore finished before serve had exited"
    );
}

#[tokio::test]
async fn a_restore_killed_half_way_leaves_the_live_database() {
    let s = shop();
    let db = open_db(s.dir.path()).await;
    add_customers(&db, 2).await;
    db.pool.close().await;
    ok(&s.config, &["backup", "create"]);
    let file = newest_backup(&s);
    more_customers(s.dir.path(), "later", 2).await;
    let before = customer_names(s.dir.path()).await;
    assert_eq!(before.len(), 4);

    let mut child = storefort(&s.config)
        .args([
            "restore",
            file.to_str().unwrap(),
            "--identity",
            s.kit.to_str().unwrap(),
        ])
        .env("STOREFORT_TEST_RESTORE_PAUSE_MS", "20000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Unpacking a small shop takes well under this; the pause comes right before the swap.
    tokio::time::sleep(Duration::from_secs(3)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        customer_names(s.dir.path()).await,
        before,
        "live data untouched"
    );

    // The next restore cleans up and works.
    ok(
        &s.config,
        &[
            "restore",
            file.to_str().unwrap(),
            "--identity",
            s.kit.to_str().unwrap(),
        ],
    );
    assert_eq!(customer_names(s.dir.path()).await.len(), 2);
}

#[tokio::test]
async fn doctor_reports_the_backup_checks() {
    let s = shop();
    let doctor = |config: &Path| {
        let out = run(config, &["doctor", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let status = |v: &serde_json::Value, id: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let v = doctor(&s.config);
    assert_eq!(status(&v, "backup_recent"), "warn", "a new shop: {v}");
    assert_eq!(status(&v, "backup_offsite"), "warn");
    assert_eq!(status(&v, "backup_verified"), "warn");
    assert_eq!(status(&v, "backup_identity"), "pass");

    ok(&s.config, &["backup", "create"]);
    ok(
        &s.config,
        &[
            "backup",
            "verify",
            "latest",
            "--identity",
            s.kit.to_str().unwrap(),
        ],
    );
    let v = doctor(&s.config);
    assert_eq!(status(&v, "backup_recent"), "pass", "{v}");
    assert_eq!(status(&v, "backup_verified"), "pass", "{v}");

    // The kit left on the server.
    std::fs::copy(&s.kit, s.dir.path().join("kit-copy.txt")).unwrap();
    let v = doctor(&s.config);
    assert_eq!(status(&v, "backup_identity"), "fail", "{v}");

    // Backups not set up at all.
    let toml = std::fs::read_to_string(&s.config).unwrap();
    let cut = toml.split("\n[backup]").next().unwrap().to_string();
    std::fs::write(&s.config, cut).unwrap();
    let v = doctor(&s.config);
    assert_eq!(status(&v, "backup_recent"), "fail", "{v}");
}

#[tokio::test]
async fn a_backup_from_an_older_schema_is_migrated_forward() {
    use storefort_backup::{archive, keys, progress::NoProgress, snapshot};
    let s = shop();
    let db = open_db(s.dir.path()).await;
    add_customers(&db, 1).await;
    let known = db.applied_migrations().await.unwrap();
    // A shop from before plugins existed: the newest migration (0008, plugins) undone.
    sqlx::query("DROP TABLE plugins")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let url = format!(
        "sqlite://{}",
        s.dir.path().join("storefort-data/storefort.db").display()
    );
    let work = tempfile::tempdir().unwrap();
    let manifest = snapshot::take(&db, &url, "Shop", work.path())
        .await
        .unwrap();
    assert_eq!(manifest.schema_version, known - 1);
    db.pool.close().await;
    let toml = std::fs::read_to_string(&s.config).unwrap();
    let recipient = toml
        .lines()
        .find_map(|l| l.strip_prefix("recipients = [\""))
        .and_then(|r| r.strip_suffix("\"]"))
        .unwrap();
    let file = s.dir.path().join("older.sfbak");
    archive::write(
        std::fs::File::create(&file).unwrap(),
        &[keys::parse_recipient(recipient).unwrap()],
        &manifest,
        work.path(),
        &NoProgress,
    )
    .unwrap();

    ok(
        &s.config,
        &[
            "restore",
            file.to_str().unwrap(),
            "--identity",
            s.kit.to_str().unwrap(),
        ],
    );
    let db = open_db(s.dir.path()).await;
    assert_eq!(
        db.applied_migrations().await.unwrap(),
        known,
        "migrated forward"
    );
    assert!(
        db.plugins().await.unwrap().is_empty(),
        "the plugins table exists again"
    );
    assert_eq!(customer_names(s.dir.path()).await.len(), 1);
}

#[tokio::test]
async fn a_destination_that_cannot_be_used_fails_alone_and_is_reported() {
    let s = shop();
    // An off-site bucket whose secret key was never stored.
    let mut toml = std::fs::read_to_string(&s.config).unwrap();
    toml.push_str(
        "\n[[backup.destinations]]\nname = \"offsite\"\nkind = \"s3\"\nbucket = \"shop-backups\"\n\
         region = \"eu-west-2\"\nendpoint = \"http://127.0.0.1:9\"\nallow_http = true\n\
         access_key_id = \"AKIATEST\"\n",
    );
    std::fs::write(&s.config, toml).unwrap();
    let out = storefort(&s.config)
        .args(["backup", "create"])
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("local: stored and checked"), "{text}");
    assert!(
        text.contains("offsite: FAILED")
            && text.contains("storefort secrets set backup.offsite.secret_access_key"),
        "{text}"
    );
    let list = ok(&s.config, &["backup", "list"]);
    assert!(list.contains("local: 1 backup(s)"), "{list}");
    assert!(list.contains("offsite: cannot list"), "{list}");
    // Stored, but not everywhere: doctor warns instead of passing.
    let out = run(&s.config, &["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recent = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "backup_recent")
        .unwrap();
    assert_eq!(recent["status"], "warn", "{recent}");
    assert!(
        recent["detail"].as_str().unwrap().contains("offsite"),
        "{recent}"
    );
}

#[tokio::test]
async fn erasures_recorded_beside_the_backups_are_reapplied_on_a_new_machine() {
    let s = shop();
    let db = open_db(s.dir.path()).await;
    let ids = add_customers(&db, 2).await;
    db.pool.close().await;
    ok(&s.config, &["backup", "create"]);
    let old = newest_backup(&s);

    let db = open_db(s.dir.path())
        .await
        .with_erasure_ledger(s.dir.path().join("erasures.log"));
    db.erase_customer(&ids[0], storefort_store::privacy::ErasureReason::Request)
        .await
        .unwrap();
    db.pool.close().await;
    // Backup names are per second: the next one in a new second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ok(&s.config, &["backup", "create"]);
    assert!(s.dir.path().join("backups/erasures.log").exists());

    // The server is lost with its ledger; the backups (and the ledger beside them) survive.
    std::fs::remove_file(s.dir.path().join("erasures.log")).unwrap();
    let out = ok(
        &s.config,
        &[
            "restore",
            old.to_str().unwrap(),
            "--identity",
            s.kit.to_str().unwrap(),
        ],
    );
    assert!(
        out.contains("1 erasure(s) recorded beside the backups"),
        "{out}"
    );
    let db = open_db(s.dir.path()).await;
    let c = db.customer(&ids[0]).await.unwrap();
    assert!(
        c.email.is_empty(),
        "erased again after restoring the older backup: {c:?}"
    );
    assert_eq!(
        db.customer(&ids[1]).await.unwrap().email,
        "customer1@example.com"
    );
}
