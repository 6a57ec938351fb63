//! `storefort secrets`: the SMTP password goes into the database encrypted (never in clear),
//! bad names and empty input change nothing, and doctor warns while the password is still in
//! storefort.toml.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::{init_shop, open_db, run, stderr, stdout, storefort};

fn set(config: &std::path::Path, name: &str, input: &str) -> std::process::Output {
    let mut child = storefort(config)
        .args(["secrets", "set", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_smtp_password_is_stored_encrypted_and_doctor_warns_when_it_is_in_the_file() {
    let (dir, config) = init_shop();
    let out = set(&config, "smtp.password", "Mail-Pass-Zq81x\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&config, &["secrets", "list"]);
    assert_eq!(stdout(&out).trim(), "smtp.password");
    assert!(!stdout(&out).contains("Mail-Pass"));

    let db = open_db(dir.path()).await;
    assert_eq!(
        db.secret("smtp.password").await.unwrap().as_deref(),
        Some("Mail-Pass-Zq81x")
    );
    let raw: String = sqlx::query_scalar("SELECT value FROM secrets WHERE name = 'smtp.password'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(
        raw.starts_with("v2.dk-") && !raw.contains("Mail-Pass"),
        "{raw}"
    );
    let file = std::fs::read(dir.path().join("storefort-data/storefort.db")).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains("Mail-Pass-Zq81x"));

    // Bad input: an unknown name or no value changes nothing.
    let out = set(&config, "smtp.pasword", "x\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("smtp.password"), "{}", stderr(&out));
    let out = set(&config, "smtp.password", "\n");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("standard input"), "{}", stderr(&out));
    assert_eq!(
        db.secret("smtp.password").await.unwrap().as_deref(),
        Some("Mail-Pass-Zq81x")
    );

    // Doctor: passes with no password in the file, warns once one is written there.
    let doctor = |config: &std::path::Path| {
        let out = run(config, &["doctor", "--json"]);
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "smtp_password")
            .map(|c| c["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(doctor(&config), "pass");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = 2525\nsecurity = \"none\"\nusername = \"u\"\npassword = \"in-clear\"\nfrom = \"Shop <shop@example.com>\"\n",
    );
    std::fs::write(&config, text).unwrap();
    assert_eq!(doctor(&config), "warn");

    let out = run(&config, &["secrets", "remove", "smtp.password"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("removed"), "{}", stdout(&out));
    assert_eq!(
        stdout(&run(&config, &["secrets", "list"])),
        "no secrets stored\n"
    );
}
