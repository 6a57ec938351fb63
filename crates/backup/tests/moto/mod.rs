//! Test support for S3 destinations: a moto server on a loopback port (one per test), a bucket
//! made through plain HTTP, and a TCP proxy that cuts the connection after N bytes to play an
//! endpoint going away mid-upload.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storefort_backup::settings::{DestinationConfig, DestinationKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The fake credentials moto accepts (any value works; these are never real).
pub const KEY_ID: &str = "testing-key-id";
pub const SECRET: &str = "testing-secret";

/// A running moto_server, killed on drop.
pub struct Moto {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when the environment says a missing moto must fail the test instead of skipping.
fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var("STOREFORT_REQUIRE_MOTO").is_ok_and(|v| v == "1")
}

/// Start moto on a free loopback port; `None` (with a notice) when it is not installed and
/// not required.
pub async fn start() -> Option<Moto> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let child = match child {
        Ok(c) => c,
        Err(e) if !required() => {
            eprintln!(
                "NOTICE: moto_server not available ({e}); S3 part skipped. Install: python3 -m pip install 'moto[server]'"
            );
            return None;
        }
        Err(e) => {
            panic!("moto_server is required (CI / STOREFORT_REQUIRE_MOTO=1) but cannot start: {e}")
        }
    };
    let moto = Moto {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(moto.addr).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on {}",
            moto.addr
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Some(moto)
}

impl Moto {
    /// Create a bucket (moto takes unsigned path-style requests).
    pub async fn bucket(&self, name: &str) {
        let (status, body) = http(self.addr, "PUT", &format!("/{name}")).await;
        assert!(
            status.contains(" 200"),
            "creating bucket {name}: {status} {body}"
        );
    }

    /// Keys in a bucket (the raw S3 listing, not through our code).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, body) = http(self.addr, "GET", &format!("/{bucket}?list-type=2")).await;
        assert!(status.contains(" 200"), "listing {bucket}: {status} {body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// An S3 destination config pointing at `endpoint` (moto or a proxy in front of it).
    pub fn dest(name: &str, bucket: &str, endpoint: SocketAddr) -> DestinationConfig {
        DestinationConfig {
            name: name.into(),
            kind: DestinationKind::S3 {
                bucket: bucket.into(),
                prefix: "shop1/".into(),
                region: Some("us-east-1".into()),
                endpoint: Some(format!("http://{endpoint}")),
                access_key_id: Some(KEY_ID.into()),
                allow_http: true,
            },
        }
    }
}

/// One HTTP/1.1 request with no body; the status line and the body.
async fn http(addr: SocketAddr, method: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A proxy in front of `upstream` that forwards until `cut_after` bytes went upstream in
/// total, then drops every connection and stops listening: the endpoint is gone.
pub struct CuttingProxy {
    pub addr: SocketAddr,
    /// Bytes forwarded upstream so far.
    pub forwarded: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CuttingProxy {
    pub async fn start(upstream: SocketAddr, cut_after: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (cut_tx, cut_rx) = tokio::sync::watch::channel(false);
        let count = forwarded.clone();
        let task = tokio::spawn(async move {
            let mut gone = cut_rx.clone();
            loop {
                tokio::select! {
                    acc = listener.accept() => {
                        let Ok((client, _)) = acc else { break };
                        tokio::spawn(pipe(client, upstream, count.clone(), cut_after, cut_tx.clone(), cut_rx.clone()));
                    }
                    _ = gone.wait_for(|c| *c) => break,
                }
            }
            // The listener drops here: new connections are refused from now on.
        });
        CuttingProxy {
            addr,
            forwarded,
            task,
        }
    }
}

async fn pipe(
    client: TcpStream,
    upstream: SocketAddr,
    count: Arc<AtomicUsize>,
    cut_after: usize,
    cut_tx: tokio::sync::watch::Sender<bool>,
    mut cut_rx: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let before = count.fetch_add(n, Ordering::SeqCst);
            if before + n > cut_after {
                // Forward up to the cut, then pull the plug on everything.
                let _ = sw.write_all(&buf[..cut_after.saturating_sub(before)]).await;
                let _ = cut_tx.send(true);
                return;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut_rx.wait_for(|c| *c) => {}
    }
    // Both sockets drop here, closing the client's and moto's side.
}
