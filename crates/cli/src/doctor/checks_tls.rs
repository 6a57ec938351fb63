//! HTTPS checks: the certificate, HSTS and the plain-HTTP redirect.

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use storefort_web::tls::{self, CertInfo};

use super::{ready, Ctx, Finding};
use crate::config::TlsMode;

/// Certificates with fewer days left than this get a warning.
pub const RENEW_WARN_DAYS: i64 = 21;

const PUBLIC_FIX: &str =
    "for a public shop set tls.mode = \"acme\" with tls.acme_domains and tls.acme_email, \
or tls.mode = \"files\" with tls.cert and tls.key";

/// The certificate the shop presents, by TLS mode.
pub fn tls<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    ready(match ctx.cfg.tls.mode {
        TlsMode::SelfSigned => self_signed(ctx),
        TlsMode::Files => files(ctx),
        TlsMode::Acme => acme(ctx),
    })
}

/// Validity of a parsed certificate: expired or not yet valid fail, nearly expired warns.
fn validity(info: &CertInfo, now: i64, what: &str, renew: &str) -> Finding {
    let days = info.days_left(now);
    if now > info.not_after {
        Finding::fail(format!("{what} expired {} day(s) ago", -days), renew)
    } else if now < info.not_before {
        Finding::fail(
            format!(
                "{what} is not valid yet (for {} more day(s)); check the system clock",
                (info.not_before - now) / 86_400
            ),
            renew,
        )
    } else if days < RENEW_WARN_DAYS {
        Finding::warn(format!("{what} expires in {days} day(s)"), renew)
    } else {
        let names = if info.names.is_empty() {
            "no DNS names".to_string()
        } else {
            info.names.join(", ")
        };
        Finding::pass(format!("{what} is valid for {days} more day(s) ({names})"))
    }
}

fn self_signed(ctx: &Ctx<'_>) -> Finding {
    let (cert, _) = tls::self_signed_paths(&ctx.cfg.data_dir);
    let base = "self-signed certificate: browsers warn, which is fine for localhost and trials";
    match std::fs::read(&cert) {
        Err(_) => Finding::warn(
            format!("{base}; it is generated on first start"),
            PUBLIC_FIX,
        ),
        Ok(pem) => match tls::cert_info(&pem) {
            Err(e) => Finding::warn(
                format!(
                    "{base}; {} does not parse ({e}) and is replaced on the next start",
                    cert.display()
                ),
                PUBLIC_FIX,
            ),
            Ok(info) => {
                let renew = format!(
                    "restart `storefort serve`: it renews {} on start (or delete it to force a new one)",
                    cert.display()
                );
                let v = validity(
                    &info,
                    ctx.now,
                    &format!("the self-signed certificate {}", cert.display()),
                    &renew,
                );
                match v.status {
                    super::Status::Fail => v,
                    _ => Finding::warn(format!("{base}; {}", v.detail), PUBLIC_FIX),
                }
            }
        },
    }
}

fn files(ctx: &Ctx<'_>) -> Finding {
    let cert = ctx.cfg.tls.cert.clone().unwrap_or_default();
    let key = ctx.cfg.tls.key.clone().unwrap_or_default();
    let pem = match std::fs::read(&cert) {
        Ok(p) => p,
        Err(e) => {
            return Finding::fail(
                format!("cannot read tls.cert {}: {e}", cert.display()),
                "set tls.cert to a readable PEM certificate chain (e.g. fullchain.pem)",
            )
        }
    };
    let info = match tls::cert_info(&pem) {
        Ok(i) => i,
        Err(e) => {
            return Finding::fail(
                format!("tls.cert {} is not a PEM certificate: {e}", cert.display()),
                "point tls.cert at the PEM certificate chain (BEGIN CERTIFICATE)",
            )
        }
    };
    if let Err(e) = tls::load_pem(&cert, &key).and_then(|(chain, k)| tls::server_config(chain, k)) {
        return Finding::fail(
            format!("the certificate and key cannot be used: {e}"),
            "set tls.key to the readable PEM private key that belongs to tls.cert",
        );
    }
    let renew = format!(
        "renew the certificate, replace {} and {}, then restart storefort",
        cert.display(),
        key.display()
    );
    let v = validity(
        &info,
        ctx.now,
        &format!("the certificate {}", cert.display()),
        &renew,
    );
    if v.status != super::Status::Pass {
        return v;
    }
    if info.self_signed {
        return Finding::warn(
            format!("{} but it is self-signed, so browsers warn", v.detail),
            PUBLIC_FIX,
        );
    }
    match super::checks_files::mode(&key) {
        Ok(Some(m)) if m & 0o077 != 0 => Finding::warn(
            format!(
                "{}; but the key {} is mode {m:04o}",
                v.detail,
                key.display()
            ),
            format!("chmod 600 {}", key.display()),
        ),
        _ => v,
    }
}

/// Certificates rustls-acme cached in `dir` (files named `cached_cert_*`, key and chain in PEM).
fn acme_cached(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("cached_cert"))
        })
        .collect();
    found.sort();
    found
}

fn acme(ctx: &Ctx<'_>) -> Finding {
    let t = &ctx.cfg.tls;
    if t.acme_domains.is_empty()
        || t.acme_email
            .as_deref()
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        return Finding::fail(
            "tls.mode = \"acme\" without domains or contact email",
            "set tls.acme_domains and tls.acme_email",
        );
    }
    if !t.acme_production {
        return Finding::warn(
            "ACME uses the Let's Encrypt staging service: its certificates are not trusted by browsers",
            "set tls.acme_production = true once the shop is reachable",
        );
    }
    let domains = t.acme_domains.join(", ");
    let dir = ctx.cfg.data_dir.join("acme");
    let cached = acme_cached(&dir);
    let mut best: Option<Finding> = None;
    for file in &cached {
        let Ok(info) = std::fs::read(file)
            .map_err(|_| ())
            .and_then(|pem| tls::cert_info(&pem).map_err(|_| ()))
        else {
            continue;
        };
        let renew = format!(
            "storefort renews ACME certificates while it runs; check that port 443 reaches it and see the logs (or delete {} to start over)",
            file.display()
        );
        let f = validity(
            &info,
            ctx.now,
            &format!("the ACME certificate for {domains}"),
            &renew,
        );
        // Keep the best cached certificate: an old expired one next to a fresh one is fine.
        if best.as_ref().is_none_or(|b| rank(&f) < rank(b)) {
            best = Some(f);
        }
    }
    best.unwrap_or_else(|| {
        Finding::warn(
            format!("no certificate for {domains} yet; it is obtained from Let's Encrypt on first start"),
            format!(
                "start `storefort serve` with {domains} pointing at this host and port 443 reaching {}",
                ctx.cfg.server.listen
            ),
        )
    })
}

fn rank(f: &Finding) -> u8 {
    match f.status {
        super::Status::Pass => 0,
        super::Status::Warn => 1,
        super::Status::Fail => 2,
    }
}

/// HSTS is always sent over HTTPS; behind a proxy it depends on `X-Forwarded-Proto`.
pub fn hsts<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let header = storefort_web::middleware::HSTS;
    let proxies = &ctx.cfg.server.trusted_proxies;
    ready(if proxies.is_empty() {
        Finding::pass(format!(
            "every HTTPS response carries Strict-Transport-Security: {header}"
        ))
    } else {
        let list: Vec<String> = proxies.iter().map(|p| p.to_string()).collect();
        Finding::pass(format!(
            "sent over HTTPS ({header}); requests through {} get it only when the proxy forwards X-Forwarded-Proto: https",
            list.join(", ")
        ))
    })
}

/// Plain HTTP should answer with a redirect, not silence.
pub fn http_redirect<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    ready(match ctx.cfg.http_listen() {
        Ok(Some(addr)) => Finding::pass(format!(
            "http://{addr} only redirects to https (port {})",
            ctx.cfg.server.listen.port()
        )),
        Ok(None) => Finding::warn(
            "no plain-HTTP listener: visitors who type http:// get no answer",
            "set server.http_listen = \"0.0.0.0:80\" (it only redirects to HTTPS)",
        ),
        Err(e) => Finding::fail(
            e.to_string(),
            "set server.http_listen to an address like 0.0.0.0:80, or empty",
        ),
    })
}
