//! `storefort doctor` vault checks and `doctor --scan` against shops made by `storefort init`:
//! the key file's mode and place, the key in the database, old data keys, unfinished
//! rotations, plaintext personal data, and card numbers in the database and the logs, reported
//! by location without the digits.

mod common;

use std::path::Path;
use std::process::Output;

use common::{add_customers, init_shop, open_db, storefort};
use serde_json::Value;

const CARD: &str = "4111 1111 1111 1111";

fn doctor(config: &Path, scan: bool) -> (Output, Value) {
    let mut cmd = storefort(config);
    cmd.args(["doctor", "--json"]);
    if scan {
        cmd.arg("--scan");
    }
    let out = cmd.output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out, v)
}

fn check(v: &Value, id: &str) -> (String, String, String) {
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {v}"));
    let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
    (s("status"), s("detail"), s("fix"))
}

async fn sql(dir: &Path, stmts: &[&str]) {
    let db = open_db(dir).await;
    for s in stmts {
        sqlx::query(s).execute(&db.pool).await.unwrap();
    }
    db.pool.close().await;
}

#[cfg(unix)]
#[test]
fn a_readable_key_file_fails() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, config) = init_shop();
    let key = dir.path().join("master.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (out, v) = doctor(&config, false);
    assert_eq!(out.status.code(), Some(1));
    let (status, detail, fix) = check(&v, "master_key_file");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("0644"), "{detail}");
    assert!(
        fix.contains(&format!("chmod 600 {}", key.display())),
        "{fix}"
    );
}

#[test]
fn a_key_kept_in_the_data_dir_or_the_database_fails() {
    let (dir, config) = init_shop();
    let (_, v) = doctor(&config, false);
    assert_eq!(check(&v, "master_key_location").0, "pass");
    assert_eq!(check(&v, "master_key_in_database").0, "pass");

    let inside = dir.path().join("storefort-data/master.key");
    std::fs::rename(dir.path().join("master.key"), &inside).unwrap();
    let (out, v) = doctor(&config, false);
    assert_eq!(out.status.code(), Some(1));
    let (status, detail, fix) = check(&v, "master_key_location");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("inside the data directory"), "{detail}");
    assert!(fix.contains("mv "), "{fix}");
    std::fs::rename(&inside, dir.path().join("master.key")).unwrap();

    let hex = std::fs::read_to_string(dir.path().join("master.key")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stmt = format!(
        "INSERT INTO settings (key, value) VALUES ('backup', 'key={}')",
        hex.trim().to_uppercase()
    );
    rt.block_on(sql(dir.path(), &[&stmt]));
    let (out, v) = doctor(&config, false);
    assert_eq!(out.status.code(), Some(1));
    let (status, detail, _) = check(&v, "master_key_in_database");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("settings.value"), "{detail}");
    assert!(!detail.to_lowercase().contains(hex.trim()), "{detail}");
    // The full search names the row too.
    let (_, v) = doctor(&config, true);
    let (status, detail, _) = check(&v, "master_key_in_database");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("settings.value:"), "{detail}");
}

#[tokio::test]
async fn an_old_data_key_and_an_unfinished_rotation_warn() {
    let (dir, config) = init_shop();
    let day = 86_400_000i64;
    sql(
        dir.path(),
        &[&format!(
            "UPDATE keyring SET created_at = created_at - {} WHERE purpose = 'data'",
            400 * day
        )],
    )
    .await;
    let (out, v) = doctor(&config, false);
    let (status, detail, fix) = check(&v, "data_key_age");
    assert_eq!(status, "warn", "{detail}");
    assert!(detail.contains("400 days old"), "{detail}");
    assert!(fix.contains("storefort keys rotate"), "{fix}");
    assert_eq!(check(&v, "key_rotation").0, "pass");
    assert_eq!(out.status.code(), Some(1), "the owner has no MFA yet: {v}");

    let db = open_db(dir.path()).await;
    add_customers(&db, 2).await;
    db.begin_rotation().await.unwrap();
    db.pool.close().await;
    let (_, v) = doctor(&config, false);
    let (status, detail, fix) = check(&v, "key_rotation");
    assert_eq!(status, "warn", "{detail}");
    assert!(detail.contains("unfinished rotation"), "{detail}");
    assert!(fix.contains("storefort keys rotate"), "{fix}");
    assert_eq!(check(&v, "data_key_age").0, "pass", "the new key is young");
}

#[tokio::test]
async fn plaintext_personal_data_fails() {
    let (dir, config) = init_shop();
    let db = open_db(dir.path()).await;
    let ids = add_customers(&db, 2).await;
    db.pool.close().await;
    let (_, v) = doctor(&config, true);
    assert_eq!(check(&v, "personal_data_encrypted").0, "pass", "{v}");

    let stmt = format!(
        "UPDATE customers SET name = 'Jane Doe' WHERE id = '{}'",
        ids[1].as_str()
    );
    sql(dir.path(), &[&stmt]).await;
    let (out, v) = doctor(&config, false);
    assert_eq!(out.status.code(), Some(1));
    let (status, detail, _) = check(&v, "personal_data_encrypted");
    assert_eq!(status, "fail", "{detail}");
    assert!(
        detail.contains("1 unencrypted value(s) in customers.name"),
        "{detail}"
    );
    assert!(!detail.contains("Jane"), "{detail}");
}

#[tokio::test]
async fn scan_finds_card_numbers_and_emails_by_location_without_the_digits() {
    let (dir, config) = init_shop();
    let (_, v) = doctor(&config, true);
    assert_eq!(check(&v, "card_numbers_database").0, "pass", "{v}");
    assert_eq!(check(&v, "card_numbers_logs").0, "pass", "{v}");
    let (_, plain) = doctor(&config, false);
    assert!(
        plain["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != "card_numbers_database"),
        "only --scan searches every row"
    );

    let insert = format!(
        "INSERT INTO products (id, name, slug, description, tax_class_id, status, search_text, \
         created_at, updated_at) VALUES ('p1', 'Mug', 'mug', 'Paid by card {CARD}, ask jane@example.org', \
         't1', 'draft', 'mug', 0, 0)"
    );
    sql(
        dir.path(),
        &[
            "INSERT INTO tax_classes (id, name, rate_bp, created_at) VALUES ('t1', 'Standard', 2000, 0)",
            &insert,
        ],
    )
    .await;
    let log = dir.path().join("storefort-data/shop.log");
    std::fs::write(
        &log,
        format!("started\nok\norder note: {}\n", CARD.replace(' ', "-")),
    )
    .unwrap();

    let (out, v) = doctor(&config, true);
    assert_eq!(out.status.code(), Some(1));
    let (status, detail, _) = check(&v, "card_numbers_database");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("products.description:1"), "{detail}");
    let (status, detail, _) = check(&v, "card_numbers_logs");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains(&format!("{}:3", log.display())), "{detail}");
    let (status, detail, _) = check(&v, "personal_data_encrypted");
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("products.description:1"), "{detail}");
    let all = String::from_utf8_lossy(&out.stdout);
    assert!(!all.contains("1111") && !all.contains("jane@"), "{all}");

    // The text report too, and a log named by log.file.
    let named = dir.path().join("named.log");
    std::fs::write(&named, format!("{CARD}\n")).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("level = \"info\"", "level = \"info\"\nfile = \"named.log\""),
    )
    .unwrap();
    let out = storefort(&config)
        .args(["doctor", "--scan"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL  Card numbers in log files"), "{text}");
    assert!(text.contains(&format!("{}:1", named.display())), "{text}");
    assert!(!text.contains("1111"), "{text}");
}
