//! `storefort bench catalog`: load the catalog API and the storefront category page over HTTPS
//! and print requests/s, p50, p99, the server's memory and its time to first request.
//!
//! Without `--url` it starts its own shop (temp data dir, seeded catalog, a child
//! `storefort serve` on a loopback port) and throws it away afterwards. Each target is warmed up
//! for a second and then measured for `--seconds`, so the run always ends by itself.

mod client;
mod seed;
mod shop;

use std::net::SocketAddr;
use std::time::Duration;

use client::{Endpoint, Stats};

use crate::cli::BenchCatalogArgs;
use crate::setup::CliResult;

/// Warm-up before each measured target.
const WARMUP: Duration = Duration::from_secs(1);
/// Products per page when counting products through the API.
const COUNT_PAGE: usize = 100;

/// One thing to load.
struct Target {
    label: &'static str,
    path: String,
}

/// Run the catalog benchmark.
pub async fn catalog(a: &BenchCatalogArgs) -> CliResult<()> {
    if a.seconds == 0 || a.connections == 0 {
        return Err("--seconds and --connections must be at least 1".into());
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
    let ep = Endpoint::new(
        addr,
        "localhost",
        format!("localhost:{}", addr.port()),
        Some(&shop.seeded.api_key),
    )?;
    let slug = shop.seeded.category_slugs.first().cloned();
    let result = run_targets(a, &ep, slug.as_deref()).await;
    let memory = shop.memory();
    let first = shop.first_request;
    let products = shop.products;
    shop.stop()?;
    let results = result?;
    let about = format!("self-started shop on https://{addr}");
    report(
        a,
        &about,
        &results,
        memory.map(|m| m.0),
        memory.map(|m| m.1),
        Some(first),
        Some(products),
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
    let results = run_targets(a, &ep, slug.as_deref()).await?;
    report(
        a,
        &format!("{url} ({addr})"),
        &results,
        None,
        None,
        None,
        products,
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

async fn run_targets(
    a: &BenchCatalogArgs,
    ep: &Endpoint,
    slug: Option<&str>,
) -> CliResult<Vec<(Target, Stats)>> {
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
        )
        .await;
        results.push((t, stats));
    }
    Ok(results)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn report(
    a: &BenchCatalogArgs,
    about: &str,
    results: &[(Target, Stats)],
    rss: Option<u64>,
    peak: Option<u64>,
    first: Option<Duration>,
    products: Option<usize>,
) {
    println!("storefort bench catalog: {about}");
    println!(
        "{} keep-alive connections, {} s per target after {} s warm-up\n",
        a.connections,
        a.seconds,
        WARMUP.as_secs()
    );
    println!(
        "{:<36} {:>10} {:>8} {:>11} {:>9} {:>9}",
        "target", "requests", "errors", "requests/s", "p50 ms", "p99 ms"
    );
    let mut summary = serde_json::Map::new();
    for (t, s) in results {
        let path = format!("GET {}", t.path);
        let (p50, p99) = (s.percentile_ms(50.0), s.percentile_ms(99.0));
        println!(
            "{path:<36} {:>10} {:>8} {:>11.1} {p50:>9.2} {p99:>9.2}",
            s.requests,
            s.errors,
            s.rps()
        );
        summary.insert(format!("{}_rps", t.label), round(s.rps(), 1).into());
        summary.insert(format!("{}_p50_ms", t.label), round(p50, 3).into());
        summary.insert(format!("{}_p99_ms", t.label), round(p99, 3).into());
        summary.insert(format!("{}_requests", t.label), s.requests.into());
        summary.insert(format!("{}_errors", t.label), s.errors.into());
    }
    let na = || "n/a".to_string();
    println!();
    println!(
        "time to first request: {}",
        first
            .map(|d| format!("{} ms", d.as_millis()))
            .unwrap_or_else(na)
    );
    let mem = match (rss, peak) {
        (Some(r), Some(p)) => format!("{:.1} MiB (peak {:.1} MiB)", mib(r), mib(p)),
        _ => na(),
    };
    println!("server RSS after load: {mem}");
    println!(
        "products: {}",
        products.map(|n| n.to_string()).unwrap_or_else(na)
    );
    summary.insert(
        "first_request_ms".into(),
        first.map(|d| d.as_millis() as u64).into(),
    );
    summary.insert("rss_mib".into(), rss.map(|r| round(mib(r), 1)).into());
    summary.insert("peak_rss_mib".into(), peak.map(|r| round(mib(r), 1)).into());
    summary.insert("products".into(), products.into());
    summary.insert("connections".into(), a.connections.into());
    summary.insert("seconds".into(), a.seconds.into());
    println!("{}", serde_json::Value::Object(summary));
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
