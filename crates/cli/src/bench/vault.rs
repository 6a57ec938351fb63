//! `storefort bench vault`: the customer data vault measured in-process, on a temporary SQLite
//! file (or a throw-away PostgreSQL schema): create customer, lookup by email from several tasks
//! at once, and list 100 customers decrypting every field. Prints the figures against the
//! issue's targets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use storefort_core::customer::{Address, NewCustomer};
use storefort_crypto::master_key::MasterKey;
use storefort_store::db::ConnectOptions;
use storefort_store::{Db, SystemClock};

use crate::cli::BenchVaultArgs;
use crate::setup::CliResult;

/// At least this many lookups by email a second.
const TARGET_LOOKUPS: f64 = 20_000.0;
/// Listing 100 customers (decrypted) takes at most this many milliseconds (median).
const TARGET_LIST_MS: f64 = 2.0;
/// Listings measured.
const LIST_RUNS: usize = 200;
/// Lookups before measuring (fills the key caches as a running shop's would be).
const WARMUP: Duration = Duration::from_millis(500);

/// Where the bench database lives; dropped at the end.
pub(crate) enum Scratch {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { url: String, schema: String },
}

fn customer(i: u64) -> NewCustomer {
    NewCustomer {
        name: format!("Bench Customer {i}"),
        email: format!("bench.customer.{i}@example.com"),
        phone: format!("+44 7700 9{:05}", i % 100_000),
        marketing_consent: i % 3 == 1,
        note: "Prefers delivery after 5pm".into(),
    }
}

fn address(i: u64) -> Address {
    Address {
        name: format!("Bench Customer {i}"),
        line1: format!("{} High Street", i % 500 + 1),
        line2: String::new(),
        city: "Bristol".into(),
        region: String::new(),
        postcode: "BS1 4DJ".into(),
        country: "GB".into(),
    }
}

pub(crate) async fn open(url: Option<&str>) -> CliResult<(Db, Scratch, String)> {
    let (db, scratch, about) = match url {
        None => {
            let dir = tempfile::Builder::new()
                .prefix("storefort-bench-vault-")
                .tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let db = Db::connect(&url).await?;
            (
                db,
                Scratch::Sqlite(dir),
                "a temporary SQLite file".to_string(),
            )
        }
        Some(url) => {
            let schema = format!("bench_vault_{}", &hex::encode(rand::random::<[u8; 6]>()));
            let opts = ConnectOptions {
                pg_schema: Some(schema.clone()),
                ..Default::default()
            };
            let db = Db::connect_with(url, opts, Arc::new(SystemClock)).await?;
            let about = format!("PostgreSQL, throw-away schema {schema}");
            let scratch = Scratch::Postgres {
                url: url.to_string(),
                schema,
            };
            (db, scratch, about)
        }
    };
    db.migrate().await?;
    let db = db.with_master_key(&MasterKey::generate()).await?;
    Ok((db, scratch, about))
}

pub(crate) async fn drop_scratch(scratch: Scratch) -> CliResult<()> {
    if let Scratch::Postgres { url, schema } = scratch {
        let admin = Db::connect(&url).await?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin.pool)
            .await?;
        admin.pool.close().await;
    }
    Ok(())
}

/// The `q` quantile (0..=1) of sorted durations, in milliseconds.
pub(crate) fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// Run the vault benchmark and print the figures.
pub async fn run(a: &BenchVaultArgs) -> CliResult<()> {
    let (db, scratch, about) = open(a.database_url.as_deref()).await?;
    let result = measure(&db, a).await;
    db.pool.close().await;
    drop_scratch(scratch).await?;
    let m = result?;
    print(a, &about, &m);
    Ok(())
}

struct Measured {
    create: Vec<Duration>,
    create_secs: f64,
    lookups: Vec<Duration>,
    lookup_secs: f64,
    list: Vec<Duration>,
}

async fn measure(db: &Db, a: &BenchVaultArgs) -> CliResult<Measured> {
    eprintln!("creating {} customers with an address each...", a.customers);
    let mut create = Vec::with_capacity(a.customers as usize);
    for i in 0..a.customers {
        let t = Instant::now();
        let c = db.create_customer(&customer(i), None).await?;
        create.push(t.elapsed());
        db.add_address(&c.id, "Home", &address(i)).await?;
    }
    let create_secs: f64 = create.iter().map(Duration::as_secs_f64).sum();

    eprintln!(
        "looking customers up by email from {} tasks for {} s...",
        a.tasks, a.seconds
    );
    lookups(db, a.customers, a.tasks, WARMUP).await?;
    let started = Instant::now();
    let mut lookups = lookups(db, a.customers, a.tasks, Duration::from_secs(a.seconds)).await?;
    let lookup_secs = started.elapsed().as_secs_f64();

    eprintln!("listing 100 customers {LIST_RUNS} times...");
    let mut list = Vec::with_capacity(LIST_RUNS);
    for _ in 0..LIST_RUNS {
        let t = Instant::now();
        let page = db.customers(100, None).await?;
        list.push(t.elapsed());
        if page.items.len() != 100 || page.items.iter().any(|c| c.email.is_empty()) {
            return Err("listing did not return 100 decrypted customers".into());
        }
    }
    create.sort();
    lookups.sort();
    list.sort();
    Ok(Measured {
        create,
        create_secs,
        lookups,
        lookup_secs,
        list,
    })
}

/// Look customers up by email from `tasks` tasks for `time`; every latency.
async fn lookups(db: &Db, customers: u64, tasks: u64, time: Duration) -> CliResult<Vec<Duration>> {
    let until = Instant::now() + time;
    let mut handles = Vec::new();
    for t in 0..tasks {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            while Instant::now() < until {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let i = x % customers;
                let email = format!("Bench.Customer.{i}@example.com");
                let at = Instant::now();
                let found = db.customer_by_email(&email).await?;
                seen.push(at.elapsed());
                if found.is_none() {
                    return Err(format!("customer {i} not found by email").into());
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(seen)
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await??);
    }
    Ok(all)
}

fn print(a: &BenchVaultArgs, about: &str, m: &Measured) {
    let creates = m.create.len() as f64 / m.create_secs.max(1e-9);
    let lookups = m.lookups.len() as f64 / m.lookup_secs.max(1e-9);
    let (list_p50, list_p99) = (quantile_ms(&m.list, 0.5), quantile_ms(&m.list, 0.99));
    println!("storefort bench vault: {about}, in-process");
    println!(
        "{} customers with an address each; {} lookup tasks for {} s; {LIST_RUNS} listings",
        a.customers, a.tasks, a.seconds
    );
    println!();
    println!(
        "{:<34} {:>12} {:>10} {:>10}",
        "", "per second", "p50 ms", "p99 ms"
    );
    println!(
        "{:<34} {creates:>12.0} {:>10.3} {:>10.3}",
        "create customer",
        quantile_ms(&m.create, 0.5),
        quantile_ms(&m.create, 0.99)
    );
    println!(
        "{:<34} {lookups:>12.0} {:>10.3} {:>10.3}",
        "lookup by email",
        quantile_ms(&m.lookups, 0.5),
        quantile_ms(&m.lookups, 0.99)
    );
    println!(
        "{:<34} {:>12.0} {list_p50:>10.3} {list_p99:>10.3}",
        "list 100 customers (decrypt all)",
        1000.0 / list_p50.max(1e-9)
    );
    println!();
    println!(
        "target: at least {TARGET_LOOKUPS:.0} lookups/s: {} ({lookups:.0}/s)",
        verdict(lookups >= TARGET_LOOKUPS)
    );
    println!(
        "target: list of 100 under {TARGET_LIST_MS} ms (median): {} ({list_p50:.3} ms; p99 {list_p99:.3} ms)",
        verdict(list_p50 < TARGET_LIST_MS)
    );
    println!(
        "{}",
        serde_json::json!({
            "bench": "vault",
            "customers": a.customers,
            "create_per_sec": creates.round(),
            "lookups_per_sec": lookups.round(),
            "lookup_p99_ms": quantile_ms(&m.lookups, 0.99),
            "list100_p50_ms": list_p50,
            "list100_p99_ms": list_p99,
        })
    );
}
