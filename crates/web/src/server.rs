//! The listeners: HTTPS (the app), plain HTTP (redirects only) and metrics (loopback only).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use futures::StreamExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::LazyConfigAcceptor;
use tower::ServiceExt;

/// Where the certificate comes from at run time.
pub enum Certificates {
    /// A fixed certificate (PEM files or self-signed).
    Fixed(Arc<ServerConfig>),
    /// Let's Encrypt via ACME TLS-ALPN-01.
    Acme {
        /// Domains to certify.
        domains: Vec<String>,
        /// Contact email for the ACME account.
        email: String,
        /// Directory caching account and certificates.
        cache_dir: std::path::PathBuf,
        /// Use Let's Encrypt production (else staging).
        production: bool,
    },
}

/// What to listen on.
pub struct Listeners {
    /// HTTPS address.
    pub https: SocketAddr,
    /// Plain HTTP address that only redirects; `None` to disable.
    pub http: Option<SocketAddr>,
    /// Prometheus metrics address; must be loopback. `None` to disable.
    pub metrics: Option<SocketAddr>,
}

/// Bound listeners, running.
#[derive(Debug)]
pub struct Running {
    /// The HTTPS address actually bound (useful with port 0).
    pub https: SocketAddr,
    /// The redirect listener, if any.
    pub http: Option<SocketAddr>,
    /// The metrics listener, if any.
    pub metrics: Option<SocketAddr>,
}

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The metrics listener must not be reachable from the network.
    #[error("metrics_listen {0} is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT")]
    MetricsNotLoopback(SocketAddr),
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// Bind every listener and serve in background tasks.
pub async fn start(app: Router, certs: Certificates, on: Listeners) -> Result<Running, ServeError> {
    if let Some(m) = on.metrics {
        if !m.ip().is_loopback() {
            return Err(ServeError::MetricsNotLoopback(m));
        }
    }
    let https = bind(on.https).await?;
    let https_addr = https.local_addr().map_err(|source| ServeError::Bind {
        addr: on.https,
        source,
    })?;
    let http = match on.http {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let metrics = match on.metrics {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let running = Running {
        https: https_addr,
        http: http.as_ref().and_then(|l| l.local_addr().ok()),
        metrics: metrics.as_ref().and_then(|l| l.local_addr().ok()),
    };
    if let Some(l) = http {
        let port = https_addr.port();
        tokio::spawn(async move {
            let app =
                Router::new().fallback(move |req: Request| async move { redirect(&req, port) });
            if let Err(e) = axum::serve(l, app).await {
                tracing::error!(error = %e, "HTTP redirect listener stopped");
            }
        });
    }
    if let Some(l) = metrics {
        crate::metrics::handle();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(l, crate::metrics::router()).await {
                tracing::error!(error = %e, "metrics listener stopped");
            }
        });
    }
    let (default_cfg, challenge_cfg) = match certs {
        Certificates::Fixed(cfg) => (cfg, None),
        Certificates::Acme {
            domains,
            email,
            cache_dir,
            production,
        } => {
            let mut state = rustls_acme::AcmeConfig::new(domains)
                .contact_push(format!("mailto:{email}"))
                .cache(rustls_acme::caches::DirCache::new(cache_dir))
                .directory_lets_encrypt(production)
                .state();
            let provider = crate::tls::provider();
            let challenge = state.challenge_rustls_config_with_provider(provider.clone());
            let default = state.default_rustls_config_with_provider(provider);
            tokio::spawn(async move {
                while let Some(event) = state.next().await {
                    match event {
                        Ok(ok) => tracing::info!(event = ?ok, "ACME"),
                        Err(err) => tracing::error!(error = ?err, "ACME"),
                    }
                }
            });
            (default, Some(challenge))
        }
    };
    tokio::spawn(accept_loop(https, app, default_cfg, challenge_cfg));
    Ok(running)
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    cfg: Arc<ServerConfig>,
    challenge: Option<Arc<ServerConfig>>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (app, cfg, challenge) = (app.clone(), cfg.clone(), challenge.clone());
        tokio::spawn(async move {
            let handshake = async {
                let start =
                    LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
                if let Some(ch) =
                    challenge.filter(|_| rustls_acme::is_tls_alpn_challenge(&start.client_hello()))
                {
                    tracing::info!("answered a TLS-ALPN-01 challenge");
                    let mut s = start.into_stream(ch).await?;
                    tokio::io::AsyncWriteExt::shutdown(&mut s).await?;
                    return Ok::<_, std::io::Error>(None);
                }
                Ok(Some(start.into_stream(cfg).await?))
            };
            let stream = match tokio::time::timeout(Duration::from_secs(10), handshake).await {
                Ok(Ok(Some(s))) => s,
                Ok(Ok(None)) => return,
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, %peer, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
        });
    }
}

/// Answer a plain-HTTP request with a permanent redirect to the same path over HTTPS.
fn redirect(req: &Request, https_port: u16) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|a| a.host().to_string());
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "missing Host header\n").into_response();
    };
    let authority = if https_port == 443 {
        host
    } else {
        format!("{host}:{https_port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match format!("https://{authority}{path}").parse::<Uri>() {
        Ok(uri) => Redirect::permanent(&uri.to_string()).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad request\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_path_and_changes_scheme() {
        let req = Request::builder()
            .uri("/c/mugs?x=1")
            .header("host", "shop.example:8080")
            .body(Body::empty())
            .unwrap();
        let res = redirect(&req, 8443);
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            res.headers()["location"],
            "https://shop.example:8443/c/mugs?x=1"
        );
        let req = Request::builder()
            .uri("/")
            .header("host", "shop.example")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            redirect(&req, 443).headers()["location"],
            "https://shop.example/"
        );
        let req = Request::builder().uri("/").body(Body::empty()).unwrap();
        assert_eq!(redirect(&req, 443).status(), StatusCode::BAD_REQUEST);
    }
}
