//! `storefort bench plugins`: the cost of one hook call for each example plugin, as the shop
//! pays it: a fresh sandbox instance (memory, fuel, deadline), the input written, the hook run,
//! the output read and parsed. Modules are compiled once beforehand, as the server does.

use std::time::{Duration, Instant};

use serde_json::json;
use storefort_plugins::{examples, Host, Limits, Manifest};

use crate::cli::BenchPluginsArgs;
use crate::setup::CliResult;

/// A realistic input for each example's hook (a 3-line cart; a 3-line order to France).
fn input_for(m: &Manifest) -> (&'static str, serde_json::Value) {
    let lines = json!([
        {"sku": "MUG-1", "name": "Blue mug", "unit_price_minor": 1200, "quantity": 4},
        {"sku": "TEA-2", "name": "Breakfast tea", "unit_price_minor": 650, "quantity": 6},
        {"sku": "CARD-9", "name": "Greeting card", "unit_price_minor": 300, "quantity": 1}
    ]);
    let currency = json!({"code": "GBP", "exponent": 2});
    let hook = m
        .hooks
        .first()
        .map(|h| h.export())
        .unwrap_or("cart_adjust_v1");
    let v = if hook == "cart_adjust_v1" {
        json!({"version": 1, "hook": "cart_adjust", "currency": currency,
               "cart": {"lines": lines, "goods_minor": 9000}})
    } else {
        json!({"version": 1, "hook": hook.trim_end_matches("_v1"), "currency": currency,
               "shipping_method": "standard", "billing_country": "GB", "shipping_country": "FR",
               "order_number": 1042, "channel": "web", "created_at": 1_790_000_000_000i64,
               "order": {"lines": lines, "goods_minor": 9000, "discount_minor": 0,
                         "total_minor": 60000}})
    };
    (hook, v)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// Run the benchmark and print one line per example.
pub fn run(a: &BenchPluginsArgs) -> CliResult<()> {
    let host = Host::new(Limits::default())?;
    println!(
        "plugin hook calls: {} per example, fresh instance each (limits: 11M fuel, 10 MB, 50 ms)",
        a.calls
    );
    let mut medians = Vec::new();
    for name in examples::names() {
        let (manifest, wasm) = examples::parts(name).ok_or("unknown example")??;
        let compiled = Instant::now();
        let plugin = host.load(&wasm, &manifest.permissions)?;
        let compile = compiled.elapsed();
        let (hook, input) = input_for(&manifest);
        // Warm up (page faults, caches), then measure.
        for _ in 0..200 {
            host.call(&plugin, hook, &input)?;
        }
        let mut times = Vec::with_capacity(a.calls as usize);
        let started = Instant::now();
        for _ in 0..a.calls {
            let t = Instant::now();
            host.call(&plugin, hook, &input)?;
            times.push(t.elapsed());
        }
        let total = started.elapsed();
        times.sort();
        let (p50, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
        medians.push(p50);
        println!(
            "  {name:<14} {hook:<18} median {:>6.1} us   p99 {:>6.1} us   {:>7.0} calls/s   (compiled once in {:.1} ms)",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            a.calls as f64 / total.as_secs_f64(),
            compile.as_secs_f64() * 1e3,
        );
    }
    let sum: Duration = medians.iter().sum();
    println!(
        "  all three at one checkout: {:.1} us of medians (target: each under 200 us, three under 1 ms)",
        sum.as_secs_f64() * 1e6
    );
    Ok(())
}
