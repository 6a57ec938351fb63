//! `storefort demo` end to end: the built binary creates a demo shop, prints the URLs, the
//! one-time login and the listening line, serves the storefront over HTTPS, and reuses the shop
//! on the next start without printing the password again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Demo {
    child: Child,
    lines: Vec<String>,
    port: u16,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_storefort"))
        .args(["demo", "--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("STOREFORT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        lines.push(line.clone());
        if line.starts_with("listening on https://") {
            break;
        }
    }
    let last = lines.last().cloned().unwrap_or_default();
    let port = last
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no listening line: {lines:?}"));
    Demo { child, lines, port }
}

async fn get(dir: &std::path::Path, port: u16, path: &str) -> String {
    get_with_cert(&dir.join("data/tls/self-signed.crt"), port, path).await
}

async fn get_with_cert(cert: &std::path::Path, port: u16, path: &str) -> String {
    let pem = std::fs::read(cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    tls.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn demo_shop_starts_serves_and_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let first = start(&dir, &[]);
    let text = first.lines.join("\n");
    assert!(text.contains("(created)"), "{text}");
    assert!(
        text.contains(&format!("Shop:     https://localhost:{}/", first.port)),
        "{text}"
    );
    assert!(
        text.contains("/admin") && text.contains("/api/v1/openapi.json"),
        "{text}"
    );
    let login = first
        .lines
        .iter()
        .find(|l| l.contains("Owner login:"))
        .unwrap();
    let password = login
        .split(" / ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(
        storefort_crypto::password::check_policy(&password, &[]).is_ok(),
        "a strong generated password"
    );

    // No plugin is installed or on: the owner adds them from Admin > Plugins.
    assert!(text.contains("Plugins: none on"), "{text}");
    let plugins_dir = dir.join("data/plugins");
    assert!(plugins_dir.is_dir(), "the plugins folder is made");
    let wasm = std::fs::read_dir(&plugins_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "wasm")
        })
        .count();
    assert_eq!(wasm, 0, "no plugin module in a new demo");

    let home = get(&dir, first.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(
        home.contains("T-Shirts") && home.contains("Tote Bags"),
        "categories in the menu"
    );
    let tees = get(&dir, first.port, "/c/t-shirts").await;
    assert!(tees.contains("Harbour Tee"), "{tees}");
    let admin = get(&dir, first.port, "/admin").await;
    assert!(
        admin.starts_with("HTTP/1.1 303")
            || admin.starts_with("HTTP/1.1 302")
            || admin.starts_with("HTTP/1.1 307"),
        "{admin}"
    );
    drop(first);

    // The key sits beside the config, outside the data dir with the database.
    assert!(dir.join("data/storefort.db").is_file());
    assert!(!dir.join("data/master.key").exists());
    let key_mode = std::fs::metadata(dir.join("master.key")).unwrap();
    let dir_mode = std::fs::metadata(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(key_mode.permissions().mode() & 0o777, 0o600);
        assert_eq!(dir_mode.permissions().mode() & 0o777, 0o700);
    }

    // The demo's sample customers, readable with the key and sealed in the file.
    let db = storefort_store::Db::connect(&format!(
        "sqlite://{}",
        dir.join("data/storefort.db").display()
    ))
    .await
    .unwrap()
    .with_master_key(
        &storefort_crypto::master_key::MasterKey::load(&dir.join("master.key")).unwrap(),
    )
    .await
    .unwrap();
    let ada = db
        .customer_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.addresses.len(), 1);
    assert_eq!(db.orders_of_customer(&ada.id).await.unwrap().len(), 2);
    assert_eq!(db.count_customers().await.unwrap(), 4);
    db.pool.close().await;
    let file = std::fs::read(dir.join("data/storefort.db")).unwrap();
    assert!(!String::from_utf8_lossy(&file).contains("Lovelace"));

    let started = Instant::now();
    let second = start(&dir, &[]);
    let text = second.lines.join("\n");
    assert!(text.contains("(reused)"), "{text}");
    assert!(
        !text.contains(&password),
        "the password is printed only once"
    );
    let home = get(&dir, second.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"));
    eprintln!(
        "reused demo served its first request {:?} after start (debug build)",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(second);

    // `--new-password` gives the demo owner a fresh password, printed once.
    let third = start(&dir, &["--new-password"]);
    let login = third
        .lines
        .iter()
        .find(|l| l.contains("Owner login:"))
        .unwrap();
    assert!(login.contains("(new password, shown once)"), "{login}");
    let fresh = login
        .split(" / ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    assert_ne!(fresh, password);
    assert!(storefort_crypto::password::check_policy(fresh, &[]).is_ok());
}

#[tokio::test]
async fn a_demo_made_before_the_key_moved_out_keeps_working() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("storefort.toml"), "data_dir = \".\"\n").unwrap();
    storefort_crypto::master_key::MasterKey::write_new(&dir.join("master.key")).unwrap();
    let demo = start(&dir, &[]);
    assert!(demo.lines.join("\n").contains("(reused)"));
    let home = get_with_cert(&dir.join("tls/self-signed.crt"), demo.port, "/").await;
    assert!(home.starts_with("HTTP/1.1 200"), "{home}");
    assert!(dir.join("storefort.db").is_file());
    assert!(!dir.join("data").exists());
}
