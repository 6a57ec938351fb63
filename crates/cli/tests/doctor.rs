//! `storefort doctor` against real shops made by `storefort init`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A `storefort` command with no `STOREFORT_*` settings leaking in from the environment.
fn storefort(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storefort"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STOREFORT_") {
            c.env_remove(k);
        }
    }
    c.arg("--config").arg(config);
    c
}

/// A fresh shop in a temp dir; returns the dir and the config path.
fn init_shop() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("storefort.toml");
    let out = storefort(&config)
        .args(["init", "--owner-email", "o@example.com"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, config)
}

fn doctor_json(config: &Path) -> (Output, Value) {
    let out = storefort(config)
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out, v)
}

fn check<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {v}"))
}

#[cfg(unix)]
fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

const IDS: [&str; 19] = [
    "tls",
    "hsts",
    "http_redirect",
    "config_file_permissions",
    "data_dir_permissions",
    "master_key_file",
    "master_key_location",
    "database",
    "master_key_in_database",
    "data_key_age",
    "key_rotation",
    "personal_data_encrypted",
    "owner_password",
    "mfa",
    "passwords",
    "unused_accounts",
    "audit_chain",
    "fraud_screening",
    "held_orders",
];

/// Enrol a user in TOTP through the store (the MFA page tests drive the real flow).
async fn enrol_mfa(dir: &Path, email: &str) {
    let db = common::open_db(dir).await;
    let u = db.user_by_email(email).await.unwrap().unwrap();
    db.begin_mfa_enrolment(u.id.as_str()).await.unwrap();
    db.confirm_mfa(u.id.as_str(), 0, &[]).await.unwrap();
    db.pool.close().await;
}

#[tokio::test]
async fn fresh_shop_fails_only_on_owner_mfa_until_enrolled() {
    let (dir, config) = init_shop();
    // `init` makes an owner without MFA: the one failure, naming them.
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1), "{v}");
    for id in IDS {
        let c = check(&v, id);
        assert_eq!(c["status"] == "fail", id == "mfa", "{c}");
    }
    let mfa = check(&v, "mfa");
    assert!(
        mfa["detail"]
            .as_str()
            .unwrap()
            .contains("o@example.com (owner)"),
        "{mfa}"
    );
    assert!(mfa["fix"].as_str().unwrap().contains("/admin"), "{mfa}");

    enrol_mfa(dir.path(), "o@example.com").await;
    let out = storefort(&config).arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "doctor failed on a fresh shop:\n{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("PASS"), "{text}");
    assert!(
        text.contains("WARN  TLS certificate"),
        "self-signed warns: {text}"
    );
    assert!(text.contains("0 failed"), "{text}");

    let (out, v) = doctor_json(&config);
    assert!(out.status.success());
    assert_eq!(v["ok"], true);
    for id in IDS {
        let c = check(&v, id);
        assert!(c["status"] == "pass" || c["status"] == "warn", "{c}");
        assert!(c["title"].is_string() && c["detail"].is_string(), "{c}");
    }
    for id in [
        "master_key_file",
        "master_key_location",
        "master_key_in_database",
        "data_key_age",
        "key_rotation",
        "personal_data_encrypted",
        "data_dir_permissions",
        "config_file_permissions",
        "database",
        "owner_password",
        "hsts",
        "mfa",
        "passwords",
        "unused_accounts",
        "audit_chain",
    ] {
        assert_eq!(check(&v, id)["status"], "pass", "{id}: {}", check(&v, id));
    }
    assert!(
        check(&v, "audit_chain")["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 entries"),
        "{v}"
    );
}

#[tokio::test]
async fn stale_staff_missing_mfa_and_a_broken_chain_are_reported() {
    let (dir, config) = init_shop();
    enrol_mfa(dir.path(), "o@example.com").await;
    for (email, role) in [
        ("m@example.com", "manager"),
        ("c@example.com", "cashier"),
        ("gone@example.com", "cashier"),
    ] {
        let out = storefort(&config)
            .args(["user", "add", email, "--name", "Staff", "--role", role])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let out = storefort(&config)
        .args(["user", "disable", "gone@example.com"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let db = common::open_db(dir.path()).await;
    let day = 86_400_000i64;
    let now = db.now() - 3_600_000; // an hour of slack: doctor counts whole days
    for stmt in [
        // The owner's password is 400 days old; they last signed in 95 days ago.
        format!("UPDATE users SET password_changed_at = {}, last_login_at = {} WHERE email = 'o@example.com'", now - 400 * day, now - 95 * day),
        // The cashier never signed in, created 100 days ago, with a weak password.
        format!("UPDATE users SET created_at = {}, password_score = 2 WHERE email = 'c@example.com'", now - 100 * day),
        // A disabled account is neither stale nor unused.
        format!("UPDATE users SET created_at = {0}, password_changed_at = {0}, password_score = 0 WHERE email = 'gone@example.com'", now - 900 * day),
    ] {
        sqlx::query(&stmt).execute(&db.pool).await.unwrap();
    }
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    let mfa = check(&v, "mfa");
    assert_eq!(mfa["status"], "fail");
    assert_eq!(
        mfa["detail"],
        "without two-step sign-in: m@example.com (manager)"
    );
    let pw = check(&v, "passwords");
    assert_eq!(pw["status"], "warn", "{pw}");
    let detail = pw["detail"].as_str().unwrap();
    assert!(
        detail.contains("o@example.com (unchanged for 400 days)"),
        "{detail}"
    );
    assert!(detail.contains("c@example.com (strength 2/4"), "{detail}");
    assert!(
        !detail.contains("gone@") && !detail.contains("m@example.com"),
        "{detail}"
    );
    assert!(pw["fix"]
        .as_str()
        .unwrap()
        .contains("storefort user reset-password"));
    let unused = check(&v, "unused_accounts");
    assert_eq!(unused["status"], "warn", "{unused}");
    let detail = unused["detail"].as_str().unwrap();
    assert!(
        detail.contains("o@example.com (last sign-in 95 days ago)"),
        "{detail}"
    );
    assert!(
        detail.contains("c@example.com (never signed in, created 100 days ago)"),
        "{detail}"
    );
    assert!(
        !detail.contains("gone@") && !detail.contains("m@example.com"),
        "{detail}"
    );
    assert_eq!(check(&v, "audit_chain")["status"], "pass");

    sqlx::query("DROP TRIGGER audit_log_no_update")
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET details = 'nothing to see' WHERE seq = 2")
        .execute(&db.pool)
        .await
        .unwrap();
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    let chain = check(&v, "audit_chain");
    assert_eq!(chain["status"], "fail", "{chain}");
    assert!(
        chain["detail"]
            .as_str()
            .unwrap()
            .contains("broken at entry #2"),
        "{chain}"
    );
}

#[cfg(unix)]
#[test]
fn loose_permissions_fail() {
    let (dir, config) = init_shop();
    let data = dir.path().join("storefort-data");
    let key = dir.path().join("master.key");
    chmod(&key, 0o644);
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["ok"], false);
    let c = check(&v, "master_key_file");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("chmod 600 {}", key.display())),
        "{c}"
    );
    chmod(&key, 0o600);

    chmod(&data, 0o755);
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    let c = check(&v, "data_dir_permissions");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["fix"].as_str().unwrap().contains("chmod 700"), "{c}");
    chmod(&data, 0o700);

    chmod(&config, 0o666);
    let out = storefort(&config).arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL  Config file permissions"), "{text}");
    assert!(text.contains("fix: chmod 600"), "{text}");
}

#[test]
fn missing_master_key_fails() {
    let (dir, config) = init_shop();
    std::fs::remove_file(dir.path().join("master.key")).unwrap();
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    let c = check(&v, "master_key_file");
    assert_eq!(c["status"], "fail");
    assert!(c["fix"].as_str().unwrap().contains("storefort init"), "{c}");
    let c = check(&v, "audit_chain");
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(c["detail"], "cannot verify without the master key");
}

/// Write a certificate for localhost valid between the two dates, and its key, as PEM files.
fn write_cert(dir: &Path, from: (i32, u8, u8), to: (i32, u8, u8)) -> (PathBuf, PathBuf) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
    params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    #[cfg(unix)]
    chmod(&k, 0o600);
    (c, k)
}

fn use_files(config: &Path, cert: &Path, key: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let files = format!(
        "mode = \"files\"\ncert = {:?}\nkey = {:?}",
        cert.display().to_string(),
        key.display().to_string()
    );
    assert!(text.contains("mode = \"self-signed\""));
    std::fs::write(config, text.replace("mode = \"self-signed\"", &files)).unwrap();
}

#[tokio::test]
async fn expired_certificate_fails_and_valid_one_passes() {
    let (dir, config) = init_shop();
    enrol_mfa(dir.path(), "o@example.com").await;
    let (cert, key) = write_cert(dir.path(), (2020, 1, 1), (2021, 1, 1));
    use_files(&config, &cert, &key);
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1), "{v}");
    let c = check(&v, "tls");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(c["detail"].as_str().unwrap().contains("expired"), "{c}");

    // A valid certificate (self-signed, so it warns rather than passes).
    write_cert(dir.path(), (2020, 1, 1), (2090, 1, 1));
    let (out, v) = doctor_json(&config);
    assert!(out.status.success(), "{v}");
    assert_eq!(check(&v, "tls")["status"], "warn");

    std::fs::remove_file(&cert).unwrap();
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        check(&v, "tls")["detail"]
            .as_str()
            .unwrap()
            .contains("cannot read"),
        "{v}"
    );
}

#[test]
fn missing_database_and_disabled_redirect_are_reported() {
    let (dir, config) = init_shop();
    std::fs::remove_file(dir.path().join("storefort-data/storefort.db")).unwrap();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("http_listen = \"0.0.0.0:8080\"", "http_listen = \"\""),
    )
    .unwrap();
    let (out, v) = doctor_json(&config);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(check(&v, "database")["status"], "fail");
    for id in [
        "owner_password",
        "mfa",
        "passwords",
        "unused_accounts",
        "audit_chain",
        "http_redirect",
    ] {
        assert_eq!(check(&v, id)["status"], "warn", "{id}");
    }
    assert!(
        !dir.path().join("storefort-data/storefort.db").exists(),
        "doctor must not create a database"
    );
}

#[test]
fn test_mode_gateway_and_missing_stripe_secrets_fail() {
    let (_dir, config) = init_shop();
    let (_, v) = doctor_json(&config);
    assert_eq!(check(&v, "payment_gateways")["status"], "pass", "{v}");
    assert_eq!(check(&v, "stripe_secrets")["status"], "pass");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[payments]\ngateways = [\"sandbox\", \"stripe\"]\n\n[payments.stripe]\npublishable_key = \"pk_test_1\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let (out, v) = doctor_json(&config);
    assert!(!out.status.success());
    let g = check(&v, "payment_gateways");
    assert_eq!(g["status"], "fail", "{v}");
    assert!(g["detail"].as_str().unwrap().contains("sandbox"));
    let s = check(&v, "stripe_secrets");
    assert_eq!(s["status"], "fail", "{v}");
    assert!(s["fix"]
        .as_str()
        .unwrap()
        .contains("storefort secrets set stripe.secret_key"));
}

#[tokio::test]
async fn screening_off_and_held_orders_are_reported() {
    use storefort_core::fraud::{Assessment, Decision, FraudSettings};
    let (dir, config) = init_shop();
    let (_, v) = doctor_json(&config);
    assert_eq!(check(&v, "fraud_screening")["status"], "pass", "{v}");
    assert_eq!(check(&v, "held_orders")["status"], "pass", "{v}");

    let db = common::open_db(dir.path()).await;
    db.save_fraud_settings(&FraudSettings {
        enabled: false,
        ..FraudSettings::default()
    })
    .await
    .unwrap();
    common::add_customers(&db, 1).await;
    let order: String = sqlx::query_scalar("SELECT id FROM orders")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let order = storefort_core::ids::OrderId(order);
    let held = Assessment {
        score: 60,
        reasons: vec![],
        decision: Decision::Review,
    };
    let week = 7 * 24 * 3_600_000;
    db.save_assessment(&order, &held, "{}", Some(db.now() + week))
        .await
        .unwrap();
    sqlx::query("UPDATE orders SET status = 'on_hold'")
        .execute(&db.pool)
        .await
        .unwrap();
    // Held three days ago.
    sqlx::query("UPDATE order_risk SET held_at = $1")
        .bind(db.now() - 72 * 3_600_000)
        .execute(&db.pool)
        .await
        .unwrap();
    let (_, v) = doctor_json(&config);
    let f = check(&v, "fraud_screening");
    assert_eq!(f["status"], "warn", "{f}");
    assert!(f["detail"].as_str().unwrap().contains("off"), "{f}");
    let h = check(&v, "held_orders");
    assert_eq!(h["status"], "warn", "{h}");
    assert!(h["detail"].as_str().unwrap().contains("48 hours"), "{h}");

    // The authorization runs out in an hour: that fails, with what to do.
    sqlx::query("UPDATE order_risk SET auth_expires_at = $1")
        .bind(db.now() + 3_600_000)
        .execute(&db.pool)
        .await
        .unwrap();
    db.pool.close().await;
    let (out, v) = doctor_json(&config);
    assert!(!out.status.success());
    let h = check(&v, "held_orders");
    assert_eq!(h["status"], "fail", "{h}");
    assert!(h["fix"].as_str().unwrap().contains("/admin/reviews"), "{h}");
}
