//! `storefort bench backup`: a SQLite shop with a million orders (each with a line, a payment
//! and an event; encrypted-looking personal data, so it compresses like a real shop), backed up
//! to a local destination and restored into a fresh data dir. Prints times, throughput and the
//! peak memory (RSS) of each step.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storefort_backup::progress::NoProgress;
use storefort_backup::service::BackupService;
use storefort_backup::settings::{BackupConfig, DestinationConfig, DestinationKind};
use storefort_backup::{keys, restore};
use storefort_store::Db;

use crate::backup_cmd::human_bytes;
use crate::cli::BenchBackupArgs;
use crate::setup::CliResult;

/// Run the benchmark.
pub async fn run(a: &BenchBackupArgs) -> CliResult<()> {
    let tmp = tempfile::tempdir()?;
    let dir = a.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let shop = dir.join("shop");
    std::fs::create_dir_all(&shop)?;
    let url = format!("sqlite://{}", shop.join("storefort.db").display());
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let db = db
        .with_master_key(&storefort_crypto::master_key::MasterKey::generate())
        .await?;
    let t = Instant::now();
    generate(&db, a.orders).await?;
    let db_size = file_size(&shop.join("storefort.db"));
    println!(
        "generated {} orders in {:.1} s: database {}",
        a.orders,
        t.elapsed().as_secs_f64(),
        human_bytes(db_size)
    );

    let id = keys::new_identity();
    let cfg = BackupConfig {
        recipients: vec![id.recipient.clone()],
        destinations: vec![DestinationConfig {
            name: "local".into(),
            kind: DestinationKind::Local {
                path: dir.join("backups"),
            },
        }],
    };
    let svc = BackupService::new(
        db.clone(),
        url.clone(),
        "storefort bench".into(),
        shop.join(".backup-work"),
        &cfg,
        &dir,
    )
    .await?;
    let sampler = RssSampler::start();
    let t = Instant::now();
    let r = svc.create("bench", &NoProgress).await?;
    let backup_s = t.elapsed().as_secs_f64();
    let backup_peak = sampler.stop();
    if let Some((dest, Err(e))) = r.destinations.iter().find(|(_, o)| o.is_err()) {
        return Err(format!("destination {dest} failed: {e}").into());
    }
    println!(
        "backup:  {:>6.1} s  {} -> {} ({:.0} MB/s of database)  peak RSS {}",
        backup_s,
        human_bytes(db_size),
        human_bytes(r.size),
        db_size as f64 / 1e6 / backup_s,
        human_bytes(backup_peak)
    );
    let orders_before = count_orders(&db).await?;
    db.pool.close().await;

    let kit = dir.join("bench-kit.txt");
    std::fs::write(&kit, &id.identity)?;
    let identities = keys::read_identity_file(&kit)?;
    let target_dir = dir.join("restored");
    std::fs::create_dir_all(&target_dir)?;
    let target = restore::RestoreTarget {
        db_url: format!("sqlite://{}", target_dir.join("storefort.db").display()),
        pg_schema: String::new(),
        data_dir: target_dir.clone(),
    };
    let file = dir.join("backups").join(&r.name);
    let sampler = RssSampler::start();
    let t = Instant::now();
    restore::restore(
        &file,
        &identities,
        storefort_store::db::known_migrations(storefort_store::Backend::Sqlite),
        &target,
        &NoProgress,
    )
    .await?;
    let restored = Db::connect(&target.db_url).await?;
    restored.migrate().await?;
    let restore_s = t.elapsed().as_secs_f64();
    let restore_peak = sampler.stop();
    let orders_after = count_orders(&restored).await?;
    restored.pool.close().await;
    println!(
        "restore: {:>6.1} s  ({:.0} MB/s of database)  peak RSS {}  orders {} -> {}",
        restore_s,
        db_size as f64 / 1e6 / restore_s,
        human_bytes(restore_peak),
        orders_before,
        orders_after
    );
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    println!(
        "targets: backup < 60 s {}; restore < 120 s {}; memory < 200 MB {}; orders equal {}",
        ok(backup_s < 60.0),
        ok(restore_s < 120.0),
        ok(backup_peak.max(restore_peak) < 200 * 1024 * 1024),
        ok(orders_before == orders_after)
    );
    Ok(())
}

async fn count_orders(db: &Db) -> CliResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&db.pool)
        .await?)
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Customers, one product, and `orders` orders with a line, a payment and an event each, made
/// in SQL (a recursive sequence) in batches of 100,000. Personal data columns hold random hex
/// the length of real ciphertext: it does not compress, like the real thing.
async fn generate(db: &Db, orders: u64) -> CliResult<()> {
    // A few products: the order lines need a variant to point at.
    super::seed::seed(db, 10).await?;
    let variant: (String, String) = sqlx::query_as("SELECT id, sku FROM variants LIMIT 1")
        .fetch_one(&db.pool)
        .await?;
    let now = db.now();
    let customers = (orders / 10).max(1);
    sqlx::query(
        "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $1) \
         INSERT INTO customers (id, created_at, updated_at, last_activity_at) \
         SELECT printf('bench-customer-%08d', n), $2, $2, $2 FROM s",
    )
    .bind(customers as i64)
    .bind(now)
    .execute(&db.pool)
    .await?;
    const BATCH: u64 = 100_000;
    let mut start = 0;
    while start < orders {
        let end = (start + BATCH).min(orders);
        let mut tx = db.begin_write().await?;
        let seq =
            "WITH RECURSIVE s(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $2)";
        sqlx::query(&format!(
            "{seq} INSERT INTO orders (id, number, customer_id, status, currency, total_minor, \
             email, phone, billing, shipping, created_at, channel, subtotal_minor, tax_minor, \
             payment_method, updated_at) \
             SELECT printf('bench-order-%08d', n), 100000 + n, \
             printf('bench-customer-%08d', n % $3), 'fulfilled', 'GBP', 1000 + (n * 7919) % 20000, \
             'v1:' || hex(randomblob(48)), 'v1:' || hex(randomblob(32)), \
             'v1:' || hex(randomblob(96)), 'v1:' || hex(randomblob(96)), \
             $4 - n * 1000, 'web', 1000 + (n * 7919) % 20000, 0, 'sandbox', $4 - n * 1000 FROM s"
        ))
        .bind(start as i64)
        .bind(end as i64)
        .bind(customers as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "{seq} INSERT INTO order_lines (order_id, position, variant_id, sku, name, \
             unit_price_minor, quantity, tax_rate_bp, tax_minor, total_minor) \
             SELECT printf('bench-order-%08d', n), 0, $3, $4, 'Bench mug', \
             1000 + (n * 7919) % 20000, 1, 2000, 0, 1000 + (n * 7919) % 20000 FROM s"
        ))
        .bind(start as i64)
        .bind(end as i64)
        .bind(&variant.0)
        .bind(&variant.1)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "{seq} INSERT INTO payments (id, order_id, gateway, reference, status, amount_minor, \
             captured_minor, card_brand, card_last4, created_at, updated_at) \
             SELECT printf('bench-payment-%08d', n), printf('bench-order-%08d', n), 'sandbox', \
             lower(hex(randomblob(12))), 'captured', 1000 + (n * 7919) % 20000, \
             1000 + (n * 7919) % 20000, 'visa', '4242', $3 - n * 1000, $3 - n * 1000 FROM s"
        ))
        .bind(start as i64)
        .bind(end as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "{seq} INSERT INTO order_events (id, order_id, at, kind, from_status, to_status, actor) \
             SELECT printf('bench-event-%08d', n), printf('bench-order-%08d', n), $3 - n * 1000, \
             'status', 'paid', 'fulfilled', 'bench' FROM s"
        ))
        .bind(start as i64)
        .bind(end as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        start = end;
        eprint!(".");
    }
    eprintln!();
    Ok(())
}

/// Samples this process's resident memory every 20 ms and keeps the highest reading.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss()));
        let (s, p) = (stop.clone(), peak.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed).max(rss())
    }
}

/// VmRSS from /proc/self/status, in bytes (0 where there is no /proc).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}
