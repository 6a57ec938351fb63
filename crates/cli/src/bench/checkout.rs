//! `storefort bench checkout`: whole shopper journeys against the real router, in-process (no
//! sockets, no TLS: what is measured is the shop and its database). Each journey is what a
//! browser does: open a product page, add to cart, submit checkout, go to the sandbox gateway,
//! press "success", come back (the payment is captured and the receipt queued) and open the
//! confirmation page. Prints completed orders/s and journey p50/p99 against the target,
//! then checks every acknowledged order is stored as paid.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use storefort_core::catalog::{LocationInput, LocationKind, ProductInput, VariantInput};
use storefort_core::pricing::{ShippingKind, ShippingMethod};
use storefort_core::stock::Reason;
use storefort_store::stock::Change;
use storefort_store::Db;
use storefort_web::{AppState, WebConfig};
use tower::ServiceExt;

use super::vault::{drop_scratch, open, quantile_ms, verdict};
use crate::cli::BenchCheckoutArgs;
use crate::setup::CliResult;

/// Completed orders a second the issue asks for (SQLite, 32 shoppers).
const TARGET_ORDERS: f64 = 1500.0;
/// Journey p99 the issue allows, in milliseconds.
const TARGET_P99_MS: f64 = 50.0;
/// Products in the bench catalog.
const PRODUCTS: usize = 20;
const BASE: &str = "https://bench.storefort.test";

struct Seeded {
    slugs: Vec<String>,
    variants: Vec<String>,
    shipping: String,
}

async fn seed(db: &Db) -> CliResult<Seeded> {
    let loc = db
        .create_location(LocationInput {
            name: "Bench warehouse".into(),
            kind: LocationKind::Warehouse,
        })
        .await?;
    let mut slugs = Vec::new();
    let mut variants = Vec::new();
    for i in 0..PRODUCTS {
        let p = db
            .create_product(ProductInput {
                name: format!("Bench product {i}"),
                variants: vec![VariantInput {
                    sku: format!("BENCH-{i}"),
                    barcode: None,
                    options: Default::default(),
                    price_minor: 500 + i as i64 * 125,
                }],
                ..Default::default()
            })
            .await?;
        let v = p.variants[0].id.0.clone();
        let c = Change {
            variant_id: &v,
            location_id: loc.id.as_str(),
            note: "",
            actor: "bench",
        };
        db.adjust_stock(&c, 1_000_000_000, Reason::Received).await?;
        slugs.push(p.slug);
        variants.push(v);
    }
    let shipping = db
        .create_shipping_method(&ShippingMethod {
            id: String::new(),
            name: "Standard".into(),
            kind: ShippingKind::Flat,
            amount_minor: 395,
            threshold_minor: None,
            enabled: true,
        })
        .await?
        .id;
    Ok(Seeded {
        slugs,
        variants,
        shipping,
    })
}

/// One request; returns status, Location (made relative) and body text.
async fn send(
    app: &Router,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<String>,
) -> CliResult<(StatusCode, String, String, Option<String>)> {
    let mut b = Request::builder().method(method).uri(path);
    if !cookie.is_empty() {
        b = b.header(header::COOKIE, cookie);
    }
    let body = match form {
        Some(f) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(f)
        }
        None => Body::empty(),
    };
    let res = app.clone().oneshot(b.body(body)?).await?;
    let status = res.status();
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| l.trim_start_matches(BASE).to_string())
        .unwrap_or_default();
    let set_cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_string);
    let bytes = res.into_body().collect().await?.to_bytes();
    Ok((
        status,
        location,
        String::from_utf8_lossy(&bytes).into(),
        set_cookie,
    ))
}

fn expect(what: &str, got: StatusCode, want: StatusCode, body: &str) -> CliResult<()> {
    if got != want {
        let snippet: String = body
            .split("<main")
            .nth(1)
            .unwrap_or(body)
            .chars()
            .take(600)
            .collect();
        return Err(format!("{what}: expected {want}, got {got}: {snippet}").into());
    }
    Ok(())
}

/// One whole journey; returns the order page's path.
async fn journey(app: &Router, s: &Seeded, n: usize) -> CliResult<String> {
    let i = n % s.slugs.len();
    let (st, _, body, _) = send(app, "GET", &format!("/p/{}", s.slugs[i]), "", None).await?;
    expect("product page", st, StatusCode::OK, &body)?;
    let form = format!("variant_id={}&quantity=1", s.variants[i]);
    let (st, _, body, cookie) = send(app, "POST", "/cart/add", "", Some(form)).await?;
    expect("add to cart", st, StatusCode::SEE_OTHER, &body)?;
    let cookie = cookie.ok_or("add to cart set no cart cookie")?;
    let form = format!(
        "idempotency_key=bench-{n}&email=shopper{n}%40example.com&phone=020+7946+0958\
         &billing.name=Bench+Shopper&billing.line1=1+High+Street&billing.city=Bristol\
         &billing.postcode=BS1+4DJ&billing.country=GB&same_as_billing=on\
         &shipping_method={}&payment_method=sandbox",
        s.shipping
    );
    let (st, pay, body, _) = send(app, "POST", "/checkout", &cookie, Some(form)).await?;
    expect("checkout", st, StatusCode::SEE_OTHER, &body)?;
    let (st, sandbox, body, _) = send(app, "GET", &pay, &cookie, None).await?;
    expect("payment step", st, StatusCode::SEE_OTHER, &body)?;
    let form = "outcome=success".to_string();
    let (st, back, body, _) = send(app, "POST", &sandbox, "", Some(form)).await?;
    expect("sandbox pay", st, StatusCode::SEE_OTHER, &body)?;
    let (st, order, body, _) = send(app, "GET", &back, &cookie, None).await?;
    expect("return from gateway", st, StatusCode::SEE_OTHER, &body)?;
    let (st, _, body, _) = send(app, "GET", &order, &cookie, None).await?;
    expect("confirmation", st, StatusCode::OK, &body)?;
    if !body.contains("Thank you for your order") {
        return Err("the confirmation page does not say the order is paid".into());
    }
    Ok(order)
}

/// Run the checkout benchmark.
pub async fn run(a: &BenchCheckoutArgs) -> CliResult<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(std::env::var("STOREFORT_BENCH_LOG").unwrap_or_else(|_| "error".into()))
        .try_init();
    let (db, scratch, about) = open(a.database_url.as_deref()).await?;
    let seeded = Arc::new(seed(&db).await?);
    if a.no_screening {
        db.save_fraud_settings(&storefort_core::fraud::FraudSettings {
            enabled: false,
            ..Default::default()
        })
        .await?;
    }
    let cfg = WebConfig {
        public_url: BASE.into(),
        ..Default::default()
    };
    let mut state = AppState::new(db.clone(), cfg);
    // Every bench shopper comes from the same address.
    state.limits = Arc::new(storefort_web::rate_limit::Limits::unlimited());
    let app = storefort_web::router(state);
    eprintln!(
        "bench checkout on {about}: {} shoppers for {} s...",
        a.shoppers, a.seconds
    );
    // Warm-up journeys (caches, prepared statements).
    for n in 0..a.shoppers as usize {
        journey(&app, &seeded, 1_000_000 + n).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..a.shoppers as usize {
        let (app, s, stop) = (app.clone(), seeded.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut n = t;
            while !stop.load(Ordering::Relaxed) {
                let at = Instant::now();
                journey(&app, &s, n).await.map_err(|e| e.to_string())?;
                times.push(at.elapsed());
                n += 10_000;
            }
            Ok::<_, String>(times)
        }));
    }
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let rate = times.len() as f64 / elapsed;
    let (p50, p99) = (quantile_ms(&times, 0.50), quantile_ms(&times, 0.99));
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
        .fetch_one(&db.pool)
        .await?;
    let expected = times.len() as i64 + a.shoppers as i64;
    println!(
        "storefort bench checkout ({about}, {} shoppers, {:.1} s, fraud screening {})",
        a.shoppers,
        elapsed,
        if a.no_screening { "off" } else { "on" }
    );
    println!("  journey: product page, add to cart, checkout, sandbox pay, return, confirmation");
    println!(
        "  completed orders:  {:>8}  ({rate:.0} orders/s; target {TARGET_ORDERS:.0}: {})",
        times.len(),
        verdict(rate >= TARGET_ORDERS)
    );
    println!("  journey p50:       {p50:>8.2} ms");
    println!(
        "  journey p99:       {p99:>8.2} ms  (target < {TARGET_P99_MS:.0} ms: {})",
        verdict(p99 < TARGET_P99_MS)
    );
    println!(
        "  paid orders stored: {paid} of {expected} acknowledged (warm-up included): {}",
        if paid == expected {
            "none lost"
        } else {
            "MISMATCH"
        }
    );
    db.pool.close().await;
    drop_scratch(scratch).await?;
    if paid != expected {
        return Err("acknowledged orders are missing from the database".into());
    }
    Ok(())
}
