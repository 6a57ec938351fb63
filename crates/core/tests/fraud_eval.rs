//! Evaluation of fraud screening on labelled synthetic orders (issue 6, item 4).
//!
//! The orders are in `tests/data/fraud_eval.json`, written by `scripts/gen_fraud_eval.py`
//! (fixed seed; rerun it to regenerate). Run with `--nocapture` to see the figures:
//!
//! ```text
//! cargo test -p storefort-core --test fraud_eval -- --nocapture
//! ```
//!
//! "Held" means the decision is not pass (review or block): the order waits for a person.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Deserialize;
use storefort_core::fraud::{
    assess, Assessment, CompiledRule, Decision, DisposableDomains, FraudSettings, RiskInput, Rule,
    RuleSet,
};

#[derive(Deserialize)]
struct Record {
    id: String,
    label: String,
    pattern: String,
    input: RiskInput,
}

fn records() -> Vec<Record> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fraud_eval.json");
    let text = std::fs::read_to_string(path).expect("fraud_eval.json is in the repository");
    serde_json::from_str(&text).expect("fraud_eval.json holds records of RiskInput")
}

#[derive(Default)]
struct Tally {
    n: u32,
    held: u32,
    blocked: u32,
    score_sum: u32,
}

#[test]
fn screening_holds_fraud_and_lets_customers_through() {
    let records = records();
    assert!(
        records.len() >= 200,
        "the issue asks for at least 200 orders"
    );
    let settings = FraudSettings::default();
    let domains = DisposableDomains::new(&[], &[]);
    let rules = RuleSet::default();

    let mut per_pattern: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let (mut tp, mut fp, mut tn, mut fn_) = (0u32, 0u32, 0u32, 0u32);
    let mut held_loyal = Vec::new();
    let mut misses = Vec::new();
    let mut signals: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for r in &records {
        let a = assess(&r.input, &settings, &rules, &domains);
        let held = a.decision != Decision::Pass;
        let fraud = match r.label.as_str() {
            "fraud" => true,
            "legit" => false,
            other => panic!("{}: unknown label {other}", r.id),
        };
        match (fraud, held) {
            (true, true) => tp += 1,
            (true, false) => fn_ += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
        }
        if fraud != held {
            let what = if fraud { "missed fraud" } else { "held legit" };
            misses.push(format!(
                "  {what:<12} {:<28} {:>3} {:?}",
                r.id,
                a.score,
                codes(&a)
            ));
        }
        if r.pattern == "loyal_repeat" && held {
            held_loyal.push(format!("{} ({}): {:?}", r.id, a.score, codes(&a)));
        }
        for reason in &a.reasons {
            let e = signals.entry(reason.code.clone()).or_default();
            if fraud {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let t = per_pattern
            .entry((r.label.clone(), r.pattern.clone()))
            .or_default();
        t.n += 1;
        t.held += u32::from(held);
        t.blocked += u32::from(a.decision == Decision::Block);
        t.score_sum += u32::from(a.score);
    }

    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    println!(
        "\nfraud screening on {} labelled orders (default settings)",
        records.len()
    );
    println!("                 held   passed");
    println!("  fraud        {tp:>6} {fn_:>8}");
    println!("  legitimate   {fp:>6} {tn:>8}");
    println!("  hold precision {precision:.3}, recall {recall:.3}\n");
    println!(
        "  {:<6} {:<22} {:>4} {:>5} {:>6} {:>8} {:>10}",
        "label", "pattern", "n", "held", "block", "rate", "mean score"
    );
    for ((label, pattern), t) in &per_pattern {
        println!(
            "  {label:<6} {pattern:<22} {:>4} {:>5} {:>6} {:>8.2} {:>10.1}",
            t.n,
            t.held,
            t.blocked,
            f64::from(t.held) / f64::from(t.n),
            f64::from(t.score_sum) / f64::from(t.n)
        );
    }
    println!("\n  {:<26} {:>6} {:>6}", "fired on", "fraud", "legit");
    for (code, (f, l)) in &signals {
        println!("  {code:<26} {f:>6} {l:>6}");
    }

    misses.sort();
    println!("\n{}", misses.join("\n"));

    // Floors, with the reasons they are where they are (measured with the defaults when they
    // were set: precision 0.82, recall 0.85; the margin is about six orders either way):
    // - Recall 0.80: the seed's patterns (big orders sent elsewhere, many dear units, card
    //   testing, failed checks, throwaway emails) are nearly all held. What slips through is
    //   mostly account takeover (a good history and passing checks) and new customers' big
    //   orders to their own address, which look exactly like honest first orders; only a call
    //   or later evidence tells them apart. Below 0.80 a default moved the wrong way.
    // - Precision 0.75: a hold costs a phone call, not a sale (the authorization is kept), so
    //   some honest orders held is the price the seed accepts ("make a call!"): business
    //   orders of many dear units to an office look just like its fraud example. Below 0.75
    //   most calls would be to honest customers and staff would learn to approve unheard.
    // - Honest orders blocked at most 3%: a block voids the payment, so the judgement signals
    //   alone must not reach it; it takes them all plus a failed check.
    assert!(recall >= 0.80, "recall {recall:.3} below 0.80");
    assert!(precision >= 0.75, "precision {precision:.3} below 0.75");
    let legit = fp + tn;
    let legit_blocked: u32 = per_pattern
        .iter()
        .filter(|((label, _), _)| label == "legit")
        .map(|(_, t)| t.blocked)
        .sum();
    println!("  honest orders blocked: {legit_blocked} of {legit}");
    assert!(
        f64::from(legit_blocked) <= 0.03 * f64::from(legit),
        "{legit_blocked} honest orders blocked"
    );
    // Loyal customers (paid orders, no refunds) are never held, whatever else they do.
    assert!(
        held_loyal.is_empty(),
        "loyal customers held: {held_loyal:#?}"
    );
}

fn codes(a: &Assessment) -> Vec<&str> {
    a.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// Cost of one assessment, printed only (timed assertions are not tests here; the CLI's
/// `storefort bench fraud` is the benchmark). Meaningful with `--release`.
#[test]
fn assess_cost_is_printed() {
    let records = records();
    let settings = FraudSettings::default();
    let domains = DisposableDomains::new(&[], &[]);
    let rule = |name: &str, expression: &str| {
        CompiledRule::compile(&Rule {
            name: name.into(),
            expression: expression.into(),
            points: 10,
            reason: "Custom rule".into(),
        })
        .expect("rule compiles")
    };
    let with_rules = RuleSet::new(vec![
        rule(
            "abroad",
            "order.total > 50000 && billing.country != shipping.country",
        ),
        rule(
            "bulk",
            "order.lines.exists(l, l.quantity > 10 && l.price > 20000)",
        ),
        rule(
            "ip",
            "ip.country != '' && ip.country != billing.country && customer.new",
        ),
    ]);
    let inputs: Vec<&RiskInput> = records.iter().map(|r| &r.input).collect();
    for (label, rules) in [
        ("no custom rules", RuleSet::default()),
        ("3 custom rules", with_rules),
    ] {
        // Warm up (builds the bundled domain set and the CEL function table once).
        let mut held = 0usize;
        for i in &inputs {
            held += usize::from(assess(i, &settings, &rules, &domains).decision != Decision::Pass);
        }
        let rounds = 20;
        let start = Instant::now();
        for _ in 0..rounds {
            for i in &inputs {
                held += usize::from(assess(i, &settings, &rules, &domains).score > 200);
            }
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / (rounds * inputs.len()) as f64;
        println!("assess() with {label}: {per:.1} microseconds per order (held {held})");
    }
}
