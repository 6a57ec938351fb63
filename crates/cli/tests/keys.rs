//! The master key and data keys through the real binary: where `init` puts the key, refusing to
//! start without it or with the wrong one (changing nothing), `keys rotate` end to end and
//! resumed, `keys rotate-master` and its crash recovery, and erasures re-applied after a
//! restore.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{active_data_key, add_customers, init_shop, open_db, run, stderr, stdout, storefort};
use storefort_crypto::master_key::MasterKey;
use storefort_store::privacy::ErasureReason;

const KEY_64: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `storefort serve` on loopback ports; waits for it to exit (killed after 60 s if it does not).
fn serve_until_exit(config: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = storefort(config);
    cmd.arg("serve")
        .env("STOREFORT_SERVER__LISTEN", "127.0.0.1:0")
        .env("STOREFORT_SERVER__HTTP_LISTEN", "")
        .env("STOREFORT_SERVER__METRICS_LISTEN", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Fold the WAL into the database file and close: the file alone then holds everything.
async fn checkpoint_and_close(db: storefort_store::Db) {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
}

/// The database file's bytes with everything in it.
async fn settled_db_bytes(dir: &Path) -> Vec<u8> {
    checkpoint_and_close(open_db(dir).await).await;
    std::fs::read(dir.join("storefort-data/storefort.db")).unwrap()
}

#[tokio::test]
async fn init_puts_the_key_outside_the_data_dir_and_start_refuses_without_it() {
    let (dir, config) = init_shop();
    let key = dir.path().join("master.key");
    assert!(key.is_file());
    assert!(!dir.path().join("storefort-data/master.key").exists());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("master_key_file") && text.contains("STOREFORT_MASTER_KEY"));
    assert!(text.contains("guest_retention_months = 24"), "{text}");

    let before = settled_db_bytes(dir.path()).await;
    let real = std::fs::read_to_string(&key).unwrap();
    std::fs::rename(&key, dir.path().join("elsewhere.key")).unwrap();
    let out = serve_until_exit(&config, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&key.display().to_string()), "{err}");
    assert!(err.contains("STOREFORT_MASTER_KEY"), "{err}");
    assert!(!stdout(&out).contains("listening"), "{}", stdout(&out));

    // A wrong key: refused with the store's message; the database is untouched.
    std::fs::write(&key, format!("{KEY_64}\n")).unwrap();
    let out = serve_until_exit(&config, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("master key does not match"), "{err}");
    assert!(
        !err.contains(KEY_64),
        "the key itself is never printed: {err}"
    );
    let after = std::fs::read(dir.path().join("storefort-data/storefort.db")).unwrap();
    assert!(before == after, "the database file changed");

    // The key in STOREFORT_MASTER_KEY works without any file; a malformed one is named.
    std::fs::remove_file(&key).unwrap();
    let out = storefort(&config)
        .args(["keys", "status"])
        .env("STOREFORT_MASTER_KEY", real.trim())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("active"), "{}", stdout(&out));
    let out = storefort(&config)
        .args(["keys", "status"])
        .env("STOREFORT_MASTER_KEY", "not-a-key")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("STOREFORT_MASTER_KEY is not a valid master key"));
    assert!(!key.exists(), "nothing was written");
}

#[tokio::test]
async fn a_shop_from_before_the_move_keeps_its_key_in_the_data_dir() {
    let (dir, config) = init_shop();
    let legacy = dir.path().join("storefort-data/master.key");
    std::fs::rename(dir.path().join("master.key"), &legacy).unwrap();
    let out = run(&config, &["keys", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn rotate_re_encrypts_everything_and_retires_the_old_key() {
    let (dir, config) = init_shop();
    let db = open_db(dir.path()).await;
    let ids = add_customers(&db, 5).await;
    db.set_secret("smtp.password", "hunter2-but-longer")
        .await
        .unwrap();
    let old = active_data_key(&db).await;
    db.pool.close().await;

    let out = run(&config, &["keys", "rotate", "--batch", "2"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("re-encrypting 5 customer(s)"), "{text}");
    assert!(text.contains("rows/s"), "{text}");
    assert!(text.contains(&format!("{old} destroyed")), "{text}");

    let out = run(&config, &["keys", "status"]);
    let text = stdout(&out);
    let line = text.lines().find(|l| l.starts_with(&old)).unwrap();
    assert!(line.contains("retired"), "{text}");
    assert!(text.contains("No rotation in progress"), "{text}");

    let db = open_db(dir.path()).await;
    let new = active_data_key(&db).await;
    assert_ne!(new, old);
    let c = db
        .customer_by_email("customer3@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.id, ids[3]);
    assert_eq!(db.customer(&ids[3]).await.unwrap().addresses.len(), 1);
    assert_eq!(
        db.orders_of_customer(&ids[3]).await.unwrap()[0].email,
        c.email
    );
    assert_eq!(
        db.secret("smtp.password").await.unwrap().as_deref(),
        Some("hunter2-but-longer")
    );
    let under_old: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM customer_keys WHERE wrapped_by = $1")
            .bind(&old)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(under_old, 0);
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'keys.rotated' AND target = $1",
    )
    .bind(&new)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn an_interrupted_rotation_is_resumed() {
    let (dir, config) = init_shop();
    let db = open_db(dir.path()).await;
    add_customers(&db, 4).await;
    let old = active_data_key(&db).await;
    let started = db.begin_rotation().await.unwrap();
    assert_eq!(db.rotate_batch(1).await.unwrap(), 1);
    let left = db.rotation_status().await.unwrap();
    assert!(left.in_progress() && left.remaining() > 0);
    db.pool.close().await;

    let out = run(&config, &["keys", "status"]);
    assert!(stdout(&out).contains("in progress"), "{}", stdout(&out));

    let out = run(&config, &["keys", "rotate"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Resuming the rotation to data key {}",
            started.active
        )),
        "{text}"
    );
    let db = open_db(dir.path()).await;
    assert_eq!(
        active_data_key(&db).await,
        started.active,
        "no third key was made"
    );
    let keys = db.data_keys().await.unwrap();
    assert_eq!(keys.iter().find(|k| k.id == old).unwrap().state, "retired");
    assert!(!db.rotation_status().await.unwrap().in_progress());
    assert!(db
        .customer_by_email("customer0@example.com")
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn rotate_master_replaces_the_key_file_and_recovers_from_a_crash() {
    let (dir, config) = init_shop();
    let key = dir.path().join("master.key");
    let next = dir.path().join("master.key.next");
    let db = open_db(dir.path()).await;
    let ids = add_customers(&db, 2).await;
    db.pool.close().await;
    let old_text = std::fs::read_to_string(&key).unwrap();

    let out = run(&config, &["keys", "rotate-master"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_text = std::fs::read_to_string(&key).unwrap();
    assert_ne!(old_text, new_text);
    assert!(!next.exists());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);
    let db = open_db(dir.path()).await;
    assert_eq!(
        db.customer(&ids[1]).await.unwrap().email,
        "customer1@example.com"
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'keys.master_rotated'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // Crash after the database switched but before the rename: the next start finishes it.
    let newer = MasterKey::write_new(&next).unwrap();
    let newer_text = std::fs::read_to_string(&next).unwrap();
    db.rewrap_keys(&newer).await.unwrap();
    db.pool.close().await;
    let out = run(&config, &["keys", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!next.exists());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), newer_text);
    let db = open_db(dir.path()).await; // opens with the renamed key
    assert_eq!(
        db.customer(&ids[0]).await.unwrap().email,
        "customer0@example.com"
    );
    db.pool.close().await;

    // Crash before the database switched: the unused new key is deleted, the current one kept.
    let current = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&next, format!("{KEY_64}\n")).unwrap();
    let out = run(&config, &["keys", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!next.exists());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), current);
}

#[tokio::test]
async fn rotate_master_with_the_environment_prints_the_new_key_once() {
    let (dir, config) = init_shop();
    let key = dir.path().join("master.key");
    let hex = std::fs::read_to_string(&key).unwrap().trim().to_string();
    std::fs::remove_file(&key).unwrap();
    let out = storefort(&config)
        .args(["keys", "rotate-master"])
        .env("STOREFORT_MASTER_KEY", &hex)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let new = text
        .lines()
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no new key in {text}"));
    assert_ne!(new, hex);
    assert!(text.contains("Set STOREFORT_MASTER_KEY"), "{text}");
    assert!(!key.exists(), "no key file is written");
    let old = storefort(&config)
        .args(["keys", "status"])
        .env("STOREFORT_MASTER_KEY", &hex)
        .output()
        .unwrap();
    assert!(!old.status.success(), "the old key no longer opens it");
    let ok = storefort(&config)
        .args(["keys", "status"])
        .env("STOREFORT_MASTER_KEY", new)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[tokio::test]
async fn erasures_are_re_applied_after_an_older_database_is_restored() {
    let (dir, config) = init_shop();
    let db_file = dir.path().join("storefort-data/storefort.db");
    let db = open_db(dir.path()).await;
    let ids = add_customers(&db, 2).await;
    checkpoint_and_close(db).await;
    let backup = std::fs::read(&db_file).unwrap();

    // The shop erases a customer; its ledger lives beside the master key.
    let ledger = dir.path().join("erasures.log");
    let db = open_db(dir.path())
        .await
        .with_erasure_ledger(ledger.clone());
    db.erase_customer(&ids[0], ErasureReason::Request)
        .await
        .unwrap();
    checkpoint_and_close(db).await;
    assert!(std::fs::read_to_string(&ledger)
        .unwrap()
        .contains(ids[0].as_str()));

    // The old backup comes back: the customer's data with it, until the next start.
    std::fs::write(&db_file, &backup).unwrap();
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db_file.display()));
    }
    let db = open_db(dir.path()).await;
    let c0 = db.customer(&ids[0]).await;
    assert!(c0.as_ref().is_ok_and(|c| c.erased_at.is_none()), "{c0:?}");
    db.pool.close().await;

    let out = run(&config, &["keys", "status"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = open_db(dir.path()).await;
    let c = db.customer(&ids[0]).await;
    assert!(
        matches!(&c, Err(storefort_store::StoreError::Erased))
            || c.as_ref().is_ok_and(|c| c.erased_at.is_some()),
        "{c:?}"
    );
    assert!(db.customer(&ids[1]).await.unwrap().erased_at.is_none());
}
