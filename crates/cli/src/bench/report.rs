//! Printing the catalog benchmark: a table per run, the sign-in figures, the comparison with and
//! without sign-ins, and one JSON line for scripts.

use std::time::Duration;

use super::client::Stats;
use super::{Target, WARMUP};
use crate::cli::BenchCatalogArgs;

/// The catalog p99 may grow by at most this much with sign-ins running (issue 3).
const BUDGET_PCT: f64 = 20.0;

/// One pass over the targets.
pub struct Run {
    /// Sign-ins a second alongside (0: none).
    pub logins_per_sec: u32,
    /// Each target's figures.
    pub results: Vec<(Target, Stats)>,
    /// The sign-ins' figures, if any ran.
    pub logins: Option<Stats>,
}

/// About the shop rather than a run.
pub struct Facts {
    /// What was benchmarked.
    pub about: String,
    /// Server RSS after the load, bytes.
    pub rss: Option<u64>,
    /// Server peak RSS, bytes.
    pub peak: Option<u64>,
    /// Time from start to first answered request.
    pub first: Option<Duration>,
    /// Products in the shop.
    pub products: Option<usize>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn label(t: &Target) -> &'static str {
    if t.label == "api" {
        "catalog"
    } else {
        "category page"
    }
}

/// Print everything.
pub fn print(a: &BenchCatalogArgs, runs: &[Run], f: &Facts) {
    println!("storefort bench catalog: {}", f.about);
    let pacing = match a.rate {
        Some(r) => format!("paced at {r} requests/s"),
        None => "back to back".to_string(),
    };
    println!(
        "{} keep-alive connections ({pacing}), {} s per target after {} s warm-up",
        a.connections,
        a.seconds,
        WARMUP.as_secs()
    );
    let mut summary = serde_json::Map::new();
    for (i, run) in runs.iter().enumerate() {
        println!();
        if run.logins_per_sec > 0 {
            println!("with {} sign-ins a second:", run.logins_per_sec);
        } else if runs.len() > 1 {
            println!("without sign-ins:");
        }
        let prefix = if i == 0 { "" } else { "with_logins_" };
        table(run, prefix, &mut summary);
    }
    if let [base, with] = runs {
        println!();
        for ((t, s0), (_, s1)) in base.results.iter().zip(&with.results) {
            let (x, y) = (s0.percentile_ms(99.0), s1.percentile_ms(99.0));
            let pct = if x > 0.0 { (y - x) / x * 100.0 } else { 0.0 };
            let verdict = if pct <= BUDGET_PCT { "within" } else { "OVER" };
            println!(
                "{} p99 without logins {x:.2} ms, with {} logins/s {y:.2} ms ({pct:+.1}%; {verdict} the {BUDGET_PCT:.0}% budget)",
                label(t),
                with.logins_per_sec
            );
            summary.insert(format!("{}_p99_change_pct", t.label), round(pct, 1).into());
        }
    }
    let na = || "n/a".to_string();
    println!();
    println!(
        "time to first request: {}",
        f.first
            .map(|d| format!("{} ms", d.as_millis()))
            .unwrap_or_else(na)
    );
    let mem = match (f.rss, f.peak) {
        (Some(r), Some(p)) => format!("{:.1} MiB (peak {:.1} MiB)", mib(r), mib(p)),
        _ => na(),
    };
    println!("server RSS after load: {mem}");
    println!(
        "products: {}",
        f.products.map(|n| n.to_string()).unwrap_or_else(na)
    );
    summary.insert(
        "first_request_ms".into(),
        f.first.map(|d| d.as_millis() as u64).into(),
    );
    summary.insert("rss_mib".into(), f.rss.map(|r| round(mib(r), 1)).into());
    summary.insert(
        "peak_rss_mib".into(),
        f.peak.map(|r| round(mib(r), 1)).into(),
    );
    summary.insert("products".into(), f.products.into());
    summary.insert("connections".into(), a.connections.into());
    summary.insert("seconds".into(), a.seconds.into());
    summary.insert("rate".into(), a.rate.into());
    println!("{}", serde_json::Value::Object(summary));
}

/// One run's table and sign-in line; its figures go into `summary` under `prefix`.
fn table(run: &Run, prefix: &str, summary: &mut serde_json::Map<String, serde_json::Value>) {
    println!(
        "{:<36} {:>10} {:>8} {:>11} {:>9} {:>9}",
        "target", "requests", "errors", "requests/s", "p50 ms", "p99 ms"
    );
    for (t, s) in &run.results {
        let path = format!("GET {}", t.path);
        let (p50, p99) = (s.percentile_ms(50.0), s.percentile_ms(99.0));
        println!(
            "{path:<36} {:>10} {:>8} {:>11.1} {p50:>9.2} {p99:>9.2}",
            s.requests,
            s.errors,
            s.rps()
        );
        let l = t.label;
        summary.insert(format!("{prefix}{l}_rps"), round(s.rps(), 1).into());
        summary.insert(format!("{prefix}{l}_p50_ms"), round(p50, 3).into());
        summary.insert(format!("{prefix}{l}_p99_ms"), round(p99, 3).into());
        summary.insert(format!("{prefix}{l}_requests"), s.requests.into());
        summary.insert(format!("{prefix}{l}_errors"), s.errors.into());
    }
    if let Some(s) = &run.logins {
        let (p50, p99) = (s.percentile_ms(50.0), s.percentile_ms(99.0));
        println!(
            "{:<36} {:>10} {:>8} {:>11.1} {p50:>9.2} {p99:>9.2}",
            "POST /admin/login (new connection)",
            s.requests,
            s.errors,
            s.rps()
        );
        summary.insert("logins_per_sec".into(), run.logins_per_sec.into());
        summary.insert("login_count".into(), s.requests.into());
        summary.insert("login_errors".into(), s.errors.into());
        summary.insert("login_p50_ms".into(), round(p50, 3).into());
        summary.insert("login_p99_ms".into(), round(p99, 3).into());
    }
}
