//! The self-started benchmark shop: a throw-away data dir with a seeded catalog, served by a
//! child `storefort serve` on a loopback port.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::io::BufRead;
use std::process::{Child, Command};
use storefort_crypto::master_key::MasterKey;

use super::client::Endpoint;
use super::seed::{self, Seeded};
use crate::config::{commented_toml, Config};
use crate::setup::{self, CliResult};

/// How long the child may take to start listening and to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running benchmark shop; dropping it kills the server and deletes its data.
pub struct Shop {
    /// The seeded catalog.
    pub seeded: Seeded,
    /// Products seeded.
    pub products: usize,
    /// The HTTPS address the child bound.
    pub addr: SocketAddr,
    /// From spawning the child to its first successful `GET /`.
    pub first_request: Duration,
    server: Server,
    // Declared last: removed after the child is killed.
    dir: tempfile::TempDir,
}

/// Create, seed and start the shop.
pub async fn start(products: usize) -> CliResult<Shop> {
    let dir = tempfile::Builder::new()
        .prefix("storefort-bench-")
        .tempdir()?;
    let data = dir.path().join("data");
    setup::ensure_data_dir(&data)?;
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let text = commented_toml(Path::new("data"), "storefort bench", loopback)
        .replace("http_listen = \"0.0.0.0:8080\"", "http_listen = \"\"")
        .replace(
            "metrics_listen = \"127.0.0.1:9464\"",
            "metrics_listen = \"\"",
        )
        .replace("level = \"info\"", "level = \"warn\"");
    let config_path = dir.path().join("storefort.toml");
    setup::write_private(&config_path, &text)?;
    MasterKey::write_new(&dir.path().join("master.key"))?;

    // Built by hand rather than loaded, so STOREFORT_* variables of the caller cannot redirect it.
    let cfg = Config {
        data_dir: data.clone(),
        base_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let db = setup::open_db(&cfg).await?;
    let seeded_at = Instant::now();
    let seeded = seed::seed(&db, products).await?;
    let count = db.count_products().await?;
    db.pool.close().await;
    eprintln!(
        "seeded {count} products in {:.1} s",
        seeded_at.elapsed().as_secs_f64()
    );

    let exe = std::env::current_exe()?;
    let log = std::fs::File::create(dir.path().join("serve.log"))?;
    let mut cmd = Command::new(exe);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("STOREFORT_") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("--config")
        .arg(&config_path)
        .arg("serve")
        .env("STOREFORT_SERVER__LISTEN", loopback.to_string())
        .env("STOREFORT_SERVER__HTTP_LISTEN", "")
        .env("STOREFORT_SERVER__METRICS_LISTEN", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    let spawned = Instant::now();
    let mut server = Server(cmd.spawn()?);
    let addr = match tokio::time::timeout(START_TIMEOUT, listening_addr(&mut server.0)).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return Err(failed_start(&dir, &e.to_string())),
        Err(_) => return Err(failed_start(&dir, "it did not print its address in time")),
    };
    let ep = Endpoint::new(
        addr,
        "localhost",
        format!("localhost:{}", addr.port()),
        None,
    )?;
    loop {
        if matches!(ep.get_once("/").await, Ok((s, _)) if s.is_success()) {
            break;
        }
        if spawned.elapsed() > START_TIMEOUT {
            return Err(failed_start(&dir, "GET / never succeeded"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_request = spawned.elapsed();
    Ok(Shop {
        seeded,
        products: count as usize,
        addr,
        first_request,
        server,
        dir,
    })
}

/// Read the child's stdout up to `listening on https://HOST:PORT` (on a thread: std pipes
/// block), then keep draining it so the child never stalls on a full pipe.
async fn listening_addr(child: &mut Child) -> CliResult<SocketAddr> {
    let out = child.stdout.take().ok_or("no stdout from the server")?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.trim().strip_prefix("listening on https://") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr.to_string());
                }
            }
        }
    });
    let addr = rx.await.map_err(|_| "the server exited before listening")?;
    Ok(addr.parse()?)
}

/// The child server; killed when dropped, whatever happened.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn failed_start(dir: &tempfile::TempDir, why: &str) -> Box<dyn std::error::Error + Send + Sync> {
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    let tail: Vec<&str> = log
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!(
        "the benchmark server did not start: {why}\n{}",
        tail.join("\n")
    )
    .into()
}

impl Shop {
    /// The server's resident and peak memory in bytes, from `/proc` (Linux only).
    pub fn memory(&self) -> Option<(u64, u64)> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.server.0.id())).ok()?;
        let kb = |key: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(key))?;
            line.split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
                .map(|k| k * 1024)
        };
        Some((kb("VmRSS:")?, kb("VmHWM:")?))
    }

    /// Stop the server and delete the data dir.
    pub fn stop(self) -> CliResult<()> {
        drop(self.server);
        let path = self.dir.path().to_path_buf();
        self.dir
            .close()
            .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
        Ok(())
    }
}
