//! Middleware run on every request: client address (trusting `X-Forwarded-*` only from
//! configured proxies), security headers, `Cache-Control: no-store` on authenticated responses,
//! and request metrics.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// The content security policy for every page: nothing but our own scripts, styles and images.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
/// HSTS for two years, subdomains included.
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Where the request really came from.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    /// Client IP (the proxy's client when the proxy is trusted).
    pub ip: IpAddr,
    /// The client used HTTPS to reach us (or our trusted proxy).
    pub https: bool,
}

/// Work out the client's address. `X-Forwarded-For` and `X-Forwarded-Proto` count only when the
/// TCP peer is a trusted proxy; the client is then the right-most address that is not a proxy.
pub fn client_info(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
    direct_https: bool,
) -> ClientInfo {
    let peer_ip = peer
        .map(|p| p.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    if !trusted.contains(&peer_ip) {
        return ClientInfo {
            ip: peer_ip,
            https: direct_https,
        };
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ip = forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .copied()
        .unwrap_or(peer_ip);
    let https = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) => p.trim().eq_ignore_ascii_case("https"),
        None => direct_https,
    };
    ClientInfo { ip, https }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

/// The security middleware.
pub async fn security(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let info = client_info(
        peer,
        req.headers(),
        &state.cfg.trusted_proxies,
        state.cfg.https,
    );
    req.extensions_mut().insert(info);
    let authed = req.headers().contains_key(header::AUTHORIZATION)
        || crate::auth::session_token(req.headers()).is_some();
    let path = req.uri().path();
    // Static files are public and identical for everyone, so they may be cached even when the
    // request happens to carry a session cookie.
    let private = path.starts_with("/admin")
        || path.starts_with("/api/")
        || path.starts_with("/pos/api/")
        || path.starts_with("/pos/receipt/")
        || path.starts_with("/pos/z/")
        || (authed && !path.starts_with("/static/"));
    let method = req.method().clone();
    let mut res = next.run(req).await;

    let h = res.headers_mut();
    if info.https {
        set(h, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(h, header::CONTENT_SECURITY_POLICY, CSP);
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // A page may be stricter (an order page whose URL holds its access token: no-referrer).
    if !h.contains_key(header::REFERRER_POLICY) {
        set(
            h,
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        );
    }
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    h.remove(header::SERVER);
    if private {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    crate::metrics::record(method.as_str(), res.status().as_u16(), started.elapsed());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str, proto: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        h.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        h
    }

    #[test]
    fn forwarded_headers_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let h = headers("203.0.113.9, 198.51.100.7", "http");
        let untrusted = client_info(Some(SocketAddr::new(proxy, 1)), &h, &[], true);
        assert_eq!(
            untrusted.ip, proxy,
            "spoofed header from an untrusted peer is ignored"
        );
        assert!(untrusted.https);
        let trusted = client_info(Some(SocketAddr::new(proxy, 1)), &h, &[proxy], true);
        assert_eq!(
            trusted.ip.to_string(),
            "198.51.100.7",
            "right-most untrusted hop"
        );
        assert!(!trusted.https);
    }
}
