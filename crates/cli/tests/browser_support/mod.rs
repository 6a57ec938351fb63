//! Shared by the browser tests: an SMTP sink (aiosmtpd), the real `storefort demo` binary, and
//! Debian's Chromium driven through chromedriver. Each child process sits in a guard that kills
//! it when dropped, so a failing test leaves nothing running.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

/// The browser and its driver, as Debian's `chromium` and `chromium-driver` install them.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Chromium and chromedriver, or `None` (with the reason printed) on a developer machine
/// without them. Under CI (`CI=true`) their absence fails the test instead.
pub fn tools() -> Option<Tools> {
    let found = (on_path("chromium"), on_path("chromedriver"));
    if let (Some(chromium), Some(chromedriver)) = found.clone() {
        return Some(Tools {
            chromium,
            chromedriver,
        });
    }
    let missing: Vec<&str> = [("chromium", &found.0), ("chromedriver", &found.1)]
        .into_iter()
        .filter(|(_, p)| p.is_none())
        .map(|(n, _)| n)
        .collect();
    let reason = format!(
        "{} not found on PATH; install them with `apt-get install chromium chromium-driver` \
         (.ci/run does)",
        missing.join(" and ")
    );
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("STOREFORT_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    if required {
        panic!("the browser tests must run here (CI or STOREFORT_REQUIRE_BROWSER=1): {reason}");
    }
    eprintln!("SKIPPED the browser test: {reason}");
    None
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, wait: Duration) {
    let until = Instant::now() + wait;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < until,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses each message with Python's email package and writes it as JSON (recipients,
/// subject, content type, and every leaf part's type and decoded text) to the directory given.
const SINK: &str = r#"
import email, json, os, sys, time
from email import policy
from aiosmtpd.controller import Controller
out, port = sys.argv[1], int(sys.argv[2])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        parts = [{"type": p.get_content_type(), "body": p.get_content()}
                 for p in msg.walk() if not p.is_multipart()]
        doc = {"to": envelope.rcpt_tos, "subject": str(msg["subject"]),
               "type": msg.get_content_type(), "parts": parts}
        n = len([f for f in os.listdir(out) if f.endswith(".json")])
        tmp = os.path.join(out, "%04d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(doc, f)
        os.rename(tmp, os.path.join(out, "%04d.json" % n))
        return "250 OK"
Controller(Handler(), hostname="127.0.0.1", port=port).start()
while True:
    time.sleep(3600)
"#;

/// The SMTP sink on 127.0.0.1; killed when dropped.
pub struct Sink {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sink {
    /// Start it on a free port, writing messages into `dir` (created).
    pub fn start(dir: &Path) -> Sink {
        let found = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "aiosmtpd is not installed: pip install aiosmtpd (see .ci/run)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let child = Command::new("python3")
            .args(["-c", SINK])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let sink = Sink {
            child,
            dir: dir.to_path_buf(),
            port,
        };
        wait_for_port(port, "the SMTP sink", Duration::from_secs(15));
        sink
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }

    /// The first message `wanted` accepts, polling for up to `wait`.
    pub async fn wait_for(&self, wait: Duration, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let until = Instant::now() + wait;
        loop {
            if let Some(m) = self.messages().into_iter().find(|m| wanted(m)) {
                return Some(m);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The real `storefort demo` binary, serving HTTPS on 127.0.0.1; killed when dropped.
pub struct Demo {
    child: Child,
    /// What it printed up to its "listening on" line.
    pub lines: Vec<String>,
    /// The shop's address, e.g. `https://localhost:41234`.
    pub base: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Stop it (the shop becomes unreachable, as when a till loses its connection).
    pub fn stop(self) {
        drop(self);
    }

    /// The first printed line containing `label`, with the label and what precedes it removed.
    pub fn printed(&self, label: &str) -> Option<String> {
        self.lines
            .iter()
            .find_map(|l| l.split_once(label).map(|(_, rest)| rest.trim().to_string()))
    }
}

impl Demo {
    /// Create and start a demo shop in `dir` that sends its email to the sink on `smtp_port`.
    /// The port is chosen here rather than with `--listen 127.0.0.1:0`, because the shop's
    /// links (the sandbox gateway's redirect and return address) are made from the configured
    /// address, not the bound one.
    pub fn start(dir: &Path, smtp_port: u16) -> Demo {
        Demo::start_on(dir, smtp_port, free_port())
    }

    /// Start (or start again: the data directory is reused) on a given port.
    pub fn start_on(dir: &Path, smtp_port: u16, port: u16) -> Demo {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storefort"));
        for (k, _) in std::env::vars() {
            if k.starts_with("STOREFORT_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["demo", "--data-dir"])
            .arg(dir)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--http-listen",
                "",
            ])
            .env("STOREFORT_SMTP__HOST", "127.0.0.1")
            .env("STOREFORT_SMTP__PORT", smtp_port.to_string())
            .env("STOREFORT_SMTP__SECURITY", "none")
            .env("STOREFORT_SMTP__FROM", "Demo Shop <shop@example.com>")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = channel();
        // Reads every line, so the demo never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut lines = Vec::new();
        let until = Instant::now() + Duration::from_secs(180);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = line.starts_with("listening on https://");
                    lines.push(line);
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    panic!("the demo did not say it was listening ({e}): {lines:?}");
                }
            }
        }
        let base = format!("https://localhost:{port}");
        let text = lines.join("\n");
        assert!(text.contains(&format!("Shop:     {base}/")), "{text}");
        Demo { child, lines, base }
    }
}

/// chromedriver on a free port, in its own process group so that the Chromium it starts can
/// be killed with it; the whole group is killed when dropped.
pub struct Driver {
    child: Child,
    /// The WebDriver address, `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Start `chromedriver`, logging to `log`.
    pub fn start(chromedriver: &Path, log: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for_port(port, "chromedriver", Duration::from_secs(30));
        driver
    }

    /// A headless Chromium session that accepts the demo's self-signed certificate.
    pub async fn browser(&self, chromium: &Path, profile: &Path) -> Client {
        let mut args = vec![
            "--headless=new".to_string(),
            "--ignore-certificate-errors".into(),
            "--window-size=1280,1600".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if running_as_root() {
            // Chromium refuses to start its sandbox as root (CI and containers run as root).
            args.push("--no-sandbox".into());
        }
        let caps = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium did not start through chromedriver: {e}"))
    }
}

/// Whether this process runs as root (`/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
