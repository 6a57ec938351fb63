//! The load generator: HTTP/1.1 keep-alive connections over TLS, each a task sending requests
//! back to back and recording every latency.
//!
//! Certificates are NOT verified: the benchmark talks only to loopback (its own self-started
//! shop, with a throw-away self-signed certificate, or a shop on this machine), where there is
//! no network for anyone to sit on. Signatures in the handshake are still checked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::setup::CliResult;

/// Longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts any certificate; see the module docs for why that is acceptable here only.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Where and how to connect.
#[derive(Clone)]
pub struct Endpoint {
    /// Loopback address of the shop.
    pub addr: SocketAddr,
    /// Sent as SNI.
    pub server_name: ServerName<'static>,
    /// `Host` header value.
    pub authority: String,
    /// `Authorization` header value, if any.
    pub bearer: Option<String>,
    tls: TlsConnector,
}

impl Endpoint {
    /// An endpoint; `host` is the SNI name (a DNS name or an IP address).
    pub fn new(
        addr: SocketAddr,
        host: &str,
        authority: String,
        api_key: Option<&str>,
    ) -> CliResult<Self> {
        let provider = storefort_web::tls::provider();
        let mut cfg = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            addr,
            server_name: ServerName::try_from(host.to_string())?,
            authority,
            bearer: api_key.map(|k| format!("Bearer {k}")),
            tls: TlsConnector::from(Arc::new(cfg)),
        })
    }

    /// Open one keep-alive connection.
    pub async fn connect(&self) -> CliResult<SendRequest<Empty<Bytes>>> {
        self.open().await
    }

    /// Open one connection sending bodies of type `B`.
    async fn open<B>(&self) -> CliResult<SendRequest<B>>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = self.tls.connect(self.server_name.clone(), tcp).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Send one GET on `conn` and read the whole body; returns the status and the body.
    pub async fn get(
        &self,
        conn: &mut SendRequest<Empty<Bytes>>,
        path: &str,
    ) -> CliResult<(StatusCode, Bytes)> {
        let mut req = Request::get(path).header(header::HOST, &self.authority);
        if let Some(b) = &self.bearer {
            req = req.header(header::AUTHORIZATION, b);
        }
        let call = async {
            conn.ready().await?;
            let res = conn.send_request(req.body(Empty::new())?).await?;
            let status = res.status();
            let body = res.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, call)
            .await
            .map_err(|_| "request timed out")?
    }

    /// POST a form on a new connection, as a browser signing in does; returns the status and
    /// the headers.
    pub async fn post_form_once(
        &self,
        path: &str,
        form: String,
    ) -> CliResult<(StatusCode, HeaderMap)> {
        let call = async {
            let mut conn = self.open::<Full<Bytes>>().await?;
            let req = Request::post(path)
                .header(header::HOST, &self.authority)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::USER_AGENT, "storefort-bench")
                .body(Full::new(Bytes::from(form)))?;
            conn.ready().await?;
            let res = conn.send_request(req).await?;
            let (status, headers) = (res.status(), res.headers().clone());
            res.into_body().collect().await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, headers))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, call)
            .await
            .map_err(|_| "request timed out")?
    }

    /// One request on a new connection.
    pub async fn get_once(&self, path: &str) -> CliResult<(StatusCode, Bytes)> {
        let mut conn = self.connect().await?;
        self.get(&mut conn, path).await
    }
}

/// What one target's load produced.
#[derive(Debug, Default)]
pub struct Stats {
    /// Responses received in the measured window (any status).
    pub requests: u64,
    /// Non-2xx responses plus failed requests and connections.
    pub errors: u64,
    /// Length of the measured window.
    pub seconds: f64,
    /// Latencies in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl Stats {
    /// Responses per second.
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The `p`th percentile latency in milliseconds (0 when nothing was measured).
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() as f64 * p / 100.0) as usize)
            .min(self.latencies_us.len() - 1);
        f64::from(self.latencies_us[idx]) / 1000.0
    }
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

/// Load `path` with `connections` connections: warm up for `warmup`, then measure for `measure`.
/// Each connection sends back to back, or with `rate` (requests a second in all) on a fixed
/// schedule, the connections staggered.
pub async fn load(
    ep: &Endpoint,
    path: &str,
    connections: usize,
    warmup: Duration,
    measure: Duration,
    rate: Option<u32>,
) -> Stats {
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + measure);
    let connections = connections.max(1);
    let pace = rate.map(|r| Duration::from_secs_f64(connections as f64 / f64::from(r.max(1))));
    let mut tasks = Vec::with_capacity(connections);
    for i in 0..connections {
        let (ep, path) = (ep.clone(), path.to_string());
        let due = pace.map(|p| (start + p.mul_f64(i as f64 / connections as f64), p));
        tasks.push(tokio::spawn(async move {
            worker(&ep, &path, from, until, due).await
        }));
    }
    let mut stats = Stats {
        seconds: measure.as_secs_f64(),
        ..Stats::default()
    };
    for t in tasks {
        match t.await {
            Ok(t) => {
                stats.requests += t.requests;
                stats.errors += t.errors;
                stats.latencies_us.extend(t.latencies_us);
            }
            Err(_) => stats.errors += 1,
        }
    }
    stats.latencies_us.sort_unstable();
    stats
}

/// Send requests until `until`, back to back or, with `schedule` (first due time, interval),
/// on that schedule.
async fn worker(
    ep: &Endpoint,
    path: &str,
    from: Instant,
    until: Instant,
    mut schedule: Option<(Instant, Duration)>,
) -> Tally {
    let mut t = Tally::default();
    let mut conn = None;
    while Instant::now() < until {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match ep.connect().await {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    if Instant::now() >= from {
                        t.errors += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // On a schedule, a request that is late because the previous answer was slow counts
        // from when it was due (the server made it wait); one sent after a timer wake counts
        // from the wake (the timer's lateness is ours).
        let sent = match schedule.as_mut() {
            None => Instant::now(),
            Some((due, every)) => {
                let at = *due;
                *due += *every;
                if at > Instant::now() {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                    Instant::now()
                } else {
                    at
                }
            }
        };
        if sent >= until {
            break;
        }
        let res = ep.get(c, path).await;
        let measured = sent >= from && sent < until;
        match res {
            Ok((status, _)) => {
                if measured {
                    t.requests += 1;
                    t.latencies_us
                        .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    if !status.is_success() {
                        t.errors += 1;
                    }
                }
            }
            Err(_) => {
                if measured {
                    t.errors += 1;
                }
                conn = None;
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rate() {
        let s = Stats {
            requests: 100,
            errors: 0,
            seconds: 2.0,
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
        };
        assert_eq!(s.rps(), 50.0);
        assert_eq!(s.percentile_ms(50.0), 51.0);
        assert_eq!(s.percentile_ms(99.0), 100.0);
        assert_eq!(Stats::default().percentile_ms(99.0), 0.0);
    }
}
