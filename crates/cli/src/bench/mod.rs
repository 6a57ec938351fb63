//! `storefort bench catalog`: load the catalog API and the storefront category page over HTTPS
//! and print requests/s, p50, p99, the server's memory and its time to first request.
//!
//! Without `--url` it starts its own shop (temp data dir, seeded catalog, a child
//! `storefort serve` on a loopback port) and throws it away afterwards. Each target is warmed up
//! for a second and then measured for `--seconds`, so the run always ends by itself.
//!
//! `--logins-per-sec N` signs in N times a second as a bench cashier throughout the load;
//! `--compare-logins N` runs the load without and then with N sign-ins a second and prints how
//! much the p99 moved (the budget is 20%). `--rate N` paces the catalog load at N
//! requests a second instead of saturating the machine.

pub mod backup;
pub mod checkout;
mod client;
pub mod fraud;
mod logins;
pub mod plugins;
pub mod pos;
mod report;
mod seed;
mod shop;
pub mod vault;

use std::net::SocketAddr;
use std::time::Duration;

use client::Endpoint;
use report::{Facts, Run};

use crate::cli::BenchCatalogArgs;
use crate::setup::CliResult;

/// Warm-up before each measured target.
const WARMUP: Duration = Duration::from_secs(1);
/// Products per page when counting products through the API.
const COUNT_PAGE: usize = 100;

/// One thing to load.
pub(crate) struct Target {
    label: &'static str,
    path: String,
}

/// Run the catalog benchmark.
pub async fn catalog(a: &BenchCatalogArgs) -> CliResult<()> {
    if a.seconds == 0 || a.connections == 0 || a.rate == Some(0) {
        return Err("--seconds, --connections and --rate must be at least 1".into());
    }
    match &a.url {
        None => self_started(a).await,
        Some(url) => {
            let key = a
                .api_key
                .as_deref()
                .ok_or("--url needs --api-key (a read-scope key)")?;
            remote(a, url, key).await
        }
    }
}

async fn self_started(a: &BenchCatalogArgs) -> CliResult<()> {
    eprintln!("starting a benchmark shop with {} products...", a.products);
    let shop = shop::start(a.products).await?;
    let addr = shop.addr;
    let authority = format!("localhost:{}", addr.port());
    let ep = Endpoint::new(
        addr,
        "localhost",
        authority.clone(),
        Some(&shop.seeded.api_key),
    )?;
    let login_ep = Endpoint::new(addr, "localhost", authority, None)?;
    let cashier = logins::Account {
        email: shop.seeded.cashier_email.clone(),
        password: shop.seeded.cashier_password.clone(),
    };
    let slug = shop.seeded.category_slugs.first().cloned();
    let rates = match a.compare_logins {
        Some(n) => vec![0, n],
        None => vec![a.logins_per_sec],
    };
    let mut runs = Vec::new();
    let mut failed = None;
    for rate in rates {
        let sign_ins = (rate > 0).then_some((&login_ep, &cashier));
        match run_targets(a, &ep, slug.as_deref(), rate, sign_ins).await {
            Ok(r) => runs.push(r),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let memory = shop.memory();
    let first = shop.first_request;
    let products = shop.products;
    shop.stop()?;
    if let Some(e) = failed {
        return Err(e);
    }
    report::print(
        a,
        &runs,
        &Facts {
            about: format!("self-started shop on https://{addr}"),
            rss: memory.map(|m| m.0),
            peak: memory.map(|m| m.1),
            first: Some(first),
            products: Some(products),
        },
    );
    Ok(())
}

async fn remote(a: &BenchCatalogArgs, url: &str, key: &str) -> CliResult<()> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("--url {url}: {e}"))?;
    if uri.scheme_str() != Some("https") {
        return Err(format!("--url {url}: use an https:// URL").into());
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("--url {url}: no host"))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = uri.port_u16().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .collect();
    // Certificates are not verified (see client.rs), so the API key must never leave the machine.
    let addr = match addrs.first() {
        Some(first) if addrs.iter().all(|a| a.ip().is_loopback()) => *first,
        _ => {
            return Err(format!(
            "--url {url}: bench only talks to loopback addresses (it does not verify certificates)"
        )
            .into())
        }
    };
    let authority = uri
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_else(|| host.clone());
    let ep = Endpoint::new(addr, &host, authority, Some(key))?;
    let (status, body) = ep.get_once("/api/v1/categories").await?;
    if !status.is_success() {
        return Err(
            format!("GET /api/v1/categories answered {status}: is --api-key a valid key?").into(),
        );
    }
    let cats: serde_json::Value = serde_json::from_slice(&body)?;
    let slug = cats
        .get(0)
        .and_then(|c| c.get("slug"))
        .and_then(|s| s.as_str())
        .map(str::to_string);
    if slug.is_none() {
        eprintln!("the shop has no categories: skipping the category page");
    }
    let products = count_products(&ep).await;
    let run = run_targets(a, &ep, slug.as_deref(), 0, None).await?;
    report::print(
        a,
        &[run],
        &Facts {
            about: format!("{url} ({addr})"),
            rss: None,
            peak: None,
            first: None,
            products,
        },
    );
    Ok(())
}

/// Count products through the API, a page at a time (bounded; `None` if it fails).
async fn count_products(ep: &Endpoint) -> Option<usize> {
    let mut conn = ep.connect().await.ok()?;
    let mut path = format!("/api/v1/products?limit={COUNT_PAGE}");
    let mut n = 0;
    for _ in 0..10_000 {
        let (status, body) = ep.get(&mut conn, &path).await.ok()?;
        if !status.is_success() {
            return None;
        }
        let page: serde_json::Value = serde_json::from_slice(&body).ok()?;
        n += page.get("items")?.as_array()?.len();
        match page.get("next_cursor").and_then(|c| c.as_str()) {
            Some(c) => path = format!("/api/v1/products?limit={COUNT_PAGE}&cursor={c}"),
            None => return Some(n),
        }
    }
    None
}

/// Load each target in turn; with `sign_ins`, sign in `rate` times a second throughout.
async fn run_targets(
    a: &BenchCatalogArgs,
    ep: &Endpoint,
    slug: Option<&str>,
    rate: u32,
    sign_ins: Option<(&Endpoint, &logins::Account)>,
) -> CliResult<Run> {
    let mut targets = vec![Target {
        label: "api",
        path: "/api/v1/products?limit=20".into(),
    }];
    if let Some(s) = slug {
        targets.push(Target {
            label: "page",
            path: format!("/c/{s}"),
        });
    }
    let load = sign_ins.map(|(login_ep, who)| {
        eprintln!("signing in {rate} times a second alongside the load...");
        logins::start(login_ep.clone(), who.clone(), rate)
    });
    let mut results = Vec::new();
    for t in targets {
        let (status, _) = ep.get_once(&t.path).await?;
        if !status.is_success() {
            return Err(
                format!("GET {} answered {status}; not benchmarking errors", t.path).into(),
            );
        }
        eprintln!(
            "loading GET {} for {} s (+{} s warm-up)...",
            t.path,
            a.seconds,
            WARMUP.as_secs()
        );
        let stats = client::load(
            ep,
            &t.path,
            a.connections,
            WARMUP,
            Duration::from_secs(a.seconds),
            a.rate,
        )
        .await;
        results.push((t, stats));
    }
    let logins = match load {
        Some(l) => Some(l.stop().await),
        None => None,
    };
    Ok(Run {
        logins_per_sec: rate,
        results,
        logins,
    })
}
