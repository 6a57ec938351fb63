//! A real server on port 0: HTTPS with TLS 1.2 and 1.3 only, HSTS over TLS, the plain-HTTP
//! listener only redirecting, metrics only on loopback.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use storefort_store::Db;
use storefort_web::server::{Certificates, Listeners, ServeError};
use storefort_web::{router, tls, AppState, WebConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    https: SocketAddr,
    http: SocketAddr,
    metrics: SocketAddr,
    roots: rustls::RootCertStore,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let (cert, key) = tls::self_signed(dir.path(), &["localhost".to_string()]).unwrap();
    let (chain, key) = tls::load_pem(&cert, &key).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(chain[0].clone()).unwrap();
    let app = router(AppState::new(db, WebConfig::default()));
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = storefort_web::server::start(
        app,
        Certificates::Fixed(tls::server_config(chain, key).unwrap()),
        Listeners {
            https: any,
            http: Some(any),
            metrics: Some(any),
        },
    )
    .await
    .unwrap();
    Server {
        https: running.https,
        http: running.http.unwrap(),
        metrics: running.metrics.unwrap(),
        roots,
        _dir: dir,
    }
}

/// One HTTP/1.1 request over TLS with the given protocol versions; returns the raw response.
async fn get(
    s: &Server,
    versions: &[&'static rustls::SupportedProtocolVersion],
    path: &str,
) -> Result<String, std::io::Error> {
    let cfg = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(s.roots.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(s.https).await?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    tls.read_to_string(&mut out).await?;
    Ok(out)
}

#[tokio::test]
async fn https_with_tls12_and_tls13_and_hsts() {
    let s = start().await;
    for v in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let res = get(&s, &[v], "/healthz").await.unwrap();
        assert!(res.starts_with("HTTP/1.1 200"), "{res}");
        let lower = res.to_lowercase();
        assert!(
            lower.contains("strict-transport-security: max-age=63072000; includesubdomains"),
            "{res}"
        );
        assert!(!lower.contains("\r\nserver:"), "no Server header: {res}");
    }
    let res = get(&s, &[&rustls::version::TLS13], "/api/v1/products")
        .await
        .unwrap();
    assert!(res.starts_with("HTTP/1.1 401"), "{res}");
}

#[tokio::test]
async fn plain_http_is_refused_on_the_tls_port_and_redirected_on_the_http_port() {
    let s = start().await;
    let mut tcp = tokio::net::TcpStream::connect(s.http).await.unwrap();
    tcp.write_all(
        b"GET /c/mugs?page=2 HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut res = String::new();
    tcp.read_to_string(&mut res).await.unwrap();
    assert!(res.starts_with("HTTP/1.1 308"), "{res}");
    assert!(
        res.contains(&format!(
            "location: https://localhost:{}/c/mugs?page=2",
            s.https.port()
        )),
        "{res}"
    );
    assert!(
        !res.contains("ok\n"),
        "the redirect listener serves no content"
    );

    let mut tcp = tokio::net::TcpStream::connect(s.https).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(
        !String::from_utf8_lossy(&buf).contains("200 OK"),
        "no plaintext HTTP on the TLS port"
    );
}

#[tokio::test]
async fn metrics_are_served_on_loopback_only() {
    let s = start().await;
    get(&s, &[&rustls::version::TLS13], "/healthz")
        .await
        .unwrap();
    let mut tcp = tokio::net::TcpStream::connect(s.metrics).await.unwrap();
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut res = String::new();
    tcp.read_to_string(&mut res).await.unwrap();
    assert!(res.contains("storefort_http_requests_total"), "{res}");

    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    let (cert, key) = tls::self_signed(dir.path(), &["localhost".to_string()]).unwrap();
    let (chain, key) = tls::load_pem(&cert, &key).unwrap();
    let err = storefort_web::server::start(
        router(AppState::new(db, WebConfig::default())),
        Certificates::Fixed(tls::server_config(chain, key).unwrap()),
        Listeners {
            https: "127.0.0.1:0".parse().unwrap(),
            http: None,
            metrics: Some("0.0.0.0:0".parse().unwrap()),
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ServeError::MetricsNotLoopback(_)), "{err}");
}
