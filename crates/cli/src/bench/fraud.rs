//! `storefort bench fraud`: the cost of screening one order in-process, with a shop that has
//! 100,000 prior orders (and their velocity events) behind it: the velocity look-ups, the
//! customer's history, and the engine itself, each timed and together.

use std::time::{Duration, Instant};

use storefort_core::customer::Address;
use storefort_core::fraud::{assess, RiskInput, RiskLine};
use storefort_core::ids::CustomerId;
use storefort_store::velocity::RiskKeys;
use storefort_store::Db;

use super::vault::{drop_scratch, open, quantile_ms, verdict};
use crate::cli::BenchFraudArgs;
use crate::setup::CliResult;

/// Median screening cost (velocity and history look-ups plus scoring), microseconds.
const TARGET_MEDIAN_US: f64 = 100.0;
/// Orders scored.
const SCORED: usize = 5_000;
/// Customers the prior orders belong to.
const CUSTOMERS_PER_ORDER: usize = 5;
const DAY_MS: i64 = 24 * 3_600_000;

fn key(db: &Db, kind: &str, i: usize) -> CliResult<String> {
    Ok(db.risk_key(kind, &format!("{kind}-{i}"))?)
}

fn keys_of(db: &Db, i: usize) -> CliResult<RiskKeys> {
    Ok(RiskKeys {
        email: Some(key(db, "email", i / CUSTOMERS_PER_ORDER)?),
        ip: Some(key(db, "ip", i % 30_011)?),
        device: Some(key(db, "device", i % 40_009)?),
        card: Some(key(db, "card", i % 25_013)?),
        address: Some(key(db, "address", i / CUSTOMERS_PER_ORDER)?),
    })
}

/// `orders` prior orders over the last 30 days, their customers and velocity events, written
/// straight into the tables in large transactions.
async fn seed(db: &Db, orders: usize) -> CliResult<()> {
    let now = db.now();
    let mut tx = db.pool.begin().await?;
    for c in 0..orders.div_ceil(CUSTOMERS_PER_ORDER) {
        sqlx::query(
            "INSERT INTO customers (id, created_at, updated_at, last_activity_at) \
             VALUES ($1, $2, $2, $2)",
        )
        .bind(format!("bench-customer-{c:07}"))
        .bind(now - 60 * DAY_MS)
        .execute(&mut *tx)
        .await?;
    }
    for i in 0..orders {
        let at = placed_at(i, orders, now);
        let id = format!("bench-order-{i:07}");
        let status = if i.is_multiple_of(20) {
            "refunded"
        } else {
            "paid"
        };
        sqlx::query(
            "INSERT INTO orders (id, number, customer_id, status, currency, total_minor, \
             created_at) VALUES ($1, $2, $3, $4, 'GBP', $5, $6)",
        )
        .bind(&id)
        .bind(100_000 + i as i64)
        .bind(format!("bench-customer-{:07}", i / CUSTOMERS_PER_ORDER))
        .bind(status)
        .bind(1_000 + (i as i64 * 7919) % 20_000)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let k = keys_of(db, i)?;
        sqlx::query(
            "INSERT INTO order_risk (order_id, email_key, address_key, decision, created_at) \
             VALUES ($1, $2, $3, 'pass', $4)",
        )
        .bind(&id)
        .bind(&k.email)
        .bind(&k.address)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO risk_events (at, order_id, kind, email_key, ip_key, device_key, \
             card_key, address_key) VALUES ($1, $2, 'order', $3, $4, $5, $6, $7)",
        )
        .bind(at)
        .bind(&id)
        .bind(&k.email)
        .bind(&k.ip)
        .bind(&k.device)
        .bind(&k.card)
        .bind(&k.address)
        .execute(&mut *tx)
        .await?;
        if i % 10_000 == 9_999 {
            tx.commit().await?;
            tx = db.pool.begin().await?;
            eprint!(".");
        }
    }
    tx.commit().await?;
    eprintln!();
    Ok(())
}

/// When prior order `i` of `orders` was placed: spread over the last 30 days.
fn placed_at(i: usize, orders: usize, now: i64) -> i64 {
    now - (i as i64 * 30 * DAY_MS) / orders as i64
}

fn input(i: usize) -> RiskInput {
    let address = Address {
        name: format!("Bench Customer {i}"),
        line1: format!("{} High Street", i % 500 + 1),
        line2: String::new(),
        city: "Bristol".into(),
        region: String::new(),
        postcode: "BS1 4DJ".into(),
        country: "GB".into(),
    };
    let abroad = i.is_multiple_of(7);
    RiskInput {
        total_minor: 4_500 + (i as i64 % 50) * 1_000,
        currency: "GBP".into(),
        channel: "web".into(),
        lines: vec![
            RiskLine {
                sku: "MUG-1".into(),
                unit_price_minor: 1_100,
                quantity: 2,
            },
            RiskLine {
                sku: "LAMP-9".into(),
                unit_price_minor: 45_000,
                quantity: (i % 13) as i64,
            },
        ],
        email: format!("bench.customer.{i}@example.com"),
        phone: "+442079460958".into(),
        billing: address.clone(),
        shipping: Some(Address {
            country: if abroad { "FR".into() } else { "GB".into() },
            ..address
        }),
        checks: Default::default(),
        ip_country: Some("GB".into()),
        history: Default::default(),
        velocity: Default::default(),
        shop: Default::default(),
    }
}

/// Run the fraud screening benchmark.
pub async fn run(a: &BenchFraudArgs) -> CliResult<()> {
    let (db, scratch, about) = open(a.database_url.as_deref()).await?;
    let result = measure(&db, a, &about).await;
    db.pool.close().await;
    drop_scratch(scratch).await?;
    result
}

async fn measure(db: &Db, a: &BenchFraudArgs, about: &str) -> CliResult<()> {
    let orders = a.orders as usize;
    eprintln!("bench fraud on {about}: writing {orders} prior orders...");
    let started = Instant::now();
    seed(db, orders).await?;
    eprintln!("  seeded in {:.1} s", started.elapsed().as_secs_f64());
    let cfg = db.fraud_config().await?;
    let window = cfg.settings.velocity_window_ms();
    let loading = Instant::now();
    db.velocity_of(&RiskKeys::default(), window).await?;
    let load = loading.elapsed();
    let shop = db.shop_stats().await?;
    let now = db.now();
    let (mut vel, mut hist, mut score, mut total) = (vec![], vec![], vec![], vec![]);
    let mut held = 0usize;
    for n in 0..SCORED {
        let i = (n * 7_919) % orders;
        let keys = keys_of(db, i)?;
        let customer = CustomerId(format!("bench-customer-{:07}", i / CUSTOMERS_PER_ORDER));
        let mut inp = input(i);
        let t0 = Instant::now();
        inp.velocity = db.velocity_of(&keys, window).await?;
        let t1 = Instant::now();
        inp.history = db
            .customer_history(
                &customer,
                placed_at(i, orders, now),
                keys.address.as_deref(),
            )
            .await?;
        let t2 = Instant::now();
        // The bench catalog is empty: the shop's figures are those of a small gift shop.
        inp.shop = storefort_core::fraud::ShopStats {
            typical_order_minor: shop.typical_order_minor,
            expensive_price_minor: 45_000,
        };
        let a = assess(&inp, &cfg.settings, &cfg.rules, &cfg.domains);
        let t3 = Instant::now();
        held += usize::from(a.decision != storefort_core::fraud::Decision::Pass);
        vel.push(t1 - t0);
        hist.push(t2 - t1);
        score.push(t3 - t2);
        total.push(t3 - t0);
    }
    for v in [&mut vel, &mut hist, &mut score, &mut total] {
        v.sort();
    }
    let us = |v: &[Duration], q: f64| quantile_ms(v, q) * 1000.0;
    println!("storefort bench fraud ({about}, {orders} prior orders, {SCORED} orders scored)");
    println!(
        "  velocity index loaded: {} events in {:.1} ms",
        orders,
        load.as_secs_f64() * 1000.0
    );
    for (label, v) in [
        ("velocity look-ups", &vel),
        ("customer history", &hist),
        ("scoring (engine)", &score),
    ] {
        println!(
            "  {label:<18} p50 {:>7.1} us   p99 {:>7.1} us",
            us(v, 0.5),
            us(v, 0.99)
        );
    }
    let median = us(&total, 0.5);
    println!(
        "  screening in all   p50 {median:>7.1} us   p99 {:>7.1} us  (target median < {TARGET_MEDIAN_US:.0} us: {})",
        us(&total, 0.99),
        verdict(median < TARGET_MEDIAN_US)
    );
    println!("  orders that would be held: {held} of {SCORED}");
    Ok(())
}
