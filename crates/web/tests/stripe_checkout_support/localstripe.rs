//! localstripe itself (started on a free loopback port, killed when dropped) and a recorder:
//! a second webhook endpoint that keeps a copy of every delivery, headers and exact body.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running localstripe, killed when dropped.
pub struct Localstripe {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Localstripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start localstripe on a free port, or `None` (test skipped, reason printed) when it is not
/// installed and this is not CI.
pub fn localstripe() -> Option<Localstripe> {
    let installed = Command::new("localstripe")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !installed {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("localstripe is not installed (pip install localstripe==1.15.10); CI needs it");
        }
        eprintln!(
            "SKIPPED: the `localstripe` executable is not on PATH \
             (pip install localstripe==1.15.10)"
        );
        return None;
    }
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("localstripe")
        .args(["--port", &port.to_string(), "--from-scratch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start localstripe");
    let ls = Localstripe {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "localstripe did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(ls)
}

/// One webhook delivery as received: headers (names lower-case) and the exact body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Read one HTTP/1.1 request (Content-Length body) from `sock`; answer 200.
async fn read_one(mut sock: tokio::net::TcpStream) -> Option<Delivery> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_len, length) = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0usize);
            break (at + 4, length);
        }
    };
    while buf.len() < head_len + length {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let _ = sock
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await;
    let head = String::from_utf8_lossy(&buf[..head_len]).to_string();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Delivery {
        headers,
        body: buf[head_len..head_len + length].to_vec(),
    })
}

/// A second webhook endpoint registered with the same secret: localstripe sends it the same
/// signed body it sends storefort, so the test can replay exactly what Stripe delivered.
pub async fn recorder() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                if let Some(d) = read_one(sock).await {
                    keep.lock().unwrap().push(d);
                }
            });
        }
    });
    (url, got)
}
