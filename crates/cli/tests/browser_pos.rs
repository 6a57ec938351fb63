//! The till in a real browser: headless Chromium against the real `storefort demo` binary.
//! Pair with the printed code, sign in with the printed PIN, open a shift, scan a barcode
//! (keystrokes ending in Enter, as a scanner types), take cash and give change, open the
//! receipt, see the idle lock hide the cart, sell while the shop is unreachable and see the
//! sale synced exactly once when it is back, then revoke the till from the command line and
//! see it wipe itself (IndexedDB and localStorage empty).
//!
//! Skipped with a notice when Chromium is missing, unless `CI=true` or
//! `STOREFORT_REQUIRE_BROWSER=1`. `STOREFORT_POS_SHOTS=DIR` saves a screenshot of each main
//! screen there (the README's come from `STOREFORT_POS_SHOTS=docs/screenshots`).

mod browser_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use browser_support::{Demo, Driver, Sink};
use fantoccini::{Client, Locator};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

async fn el(b: &Client, css: &str) -> fantoccini::elements::Element {
    match b.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let text = match b.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let _ = std::fs::write(
                "/tmp/storefort-browser-pos.png",
                b.screenshot().await.unwrap_or_default(),
            );
            panic!(
                "no {css} ({e}); the page says: {}",
                text.chars().take(800).collect::<String>()
            );
        }
    }
}

/// Wait until `js` (an expression) is true in the page.
async fn until(b: &Client, what: &str, js: &str) {
    let started = Instant::now();
    loop {
        let v = b
            .execute(&format!("return !!({js});"), vec![])
            .await
            .unwrap();
        if v == Value::Bool(true) {
            return;
        }
        if started.elapsed() > WAIT {
            let text = b
                .find(Locator::Css("body"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default();
            let _ = std::fs::write(
                "/tmp/storefort-browser-pos.png",
                b.screenshot().await.unwrap_or_default(),
            );
            panic!(
                "timed out waiting for {what}; the page says: {}",
                text.chars().take(800).collect::<String>()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn shot(b: &Client, name: &str) {
    let Some(dir) = std::env::var_os("STOREFORT_POS_SHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let png = b.screenshot().await.unwrap();
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}

async fn attr(b: &Client, css: &str, name: &str) -> String {
    el(b, css)
        .await
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn click(b: &Client, css: &str) {
    el(b, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(b: &Client, css: &str, text: &str) {
    let e = el(b, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Sign in at the lock screen as `name` with `pin`.
async fn sign_in(b: &Client, name: &str, pin: &str) {
    click(b, &format!("[data-test=cashier][data-name='{name}']")).await;
    type_into(b, "[data-test=pin-input]", pin).await;
    click(b, "[data-test=pin-ok]").await;
    el(b, "#sell-screen").await;
}

/// The barcode of the item the demo's High Street shop (where its till is) has most of.
async fn well_stocked_barcode(dir: &Path) -> String {
    let url = format!(
        "sqlite://{}?mode=ro",
        dir.join("data").join("storefort.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let code: String = sqlx::query_scalar(
        "SELECT v.barcode FROM variants v JOIN stock_levels s ON s.variant_id = v.id \
         JOIN locations l ON l.id = s.location_id \
         WHERE l.name = 'High Street shop' AND v.barcode IS NOT NULL \
         ORDER BY s.quantity DESC, v.barcode LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    code
}

/// Scan like a keyboard-wedge scanner: the digits and Enter, fast, to the page (not an input).
async fn scan(b: &Client, code: &str) {
    b.execute(
        "document.activeElement && document.activeElement.blur()",
        vec![],
    )
    .await
    .unwrap();
    let body = b.find(Locator::Css("body")).await.unwrap();
    body.send_keys(&format!("{code}\u{E007}")).await.unwrap();
}

/// The `storefort` binary without this test's own `STOREFORT_*` settings (which its config
/// loader would read as configuration).
fn storefort() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_storefort"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STOREFORT_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Count till sales in the demo's database (read beside the running shop).
async fn count_sales(dir: &Path, offline: bool) -> i64 {
    let url = format!(
        "sqlite://{}?mode=ro",
        dir.join("data").join("storefort.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pos_sales WHERE offline = ?")
        .bind(i64::from(offline))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n
}

async fn cash_sale(b: &Client) -> (i64, i64) {
    let total: i64 = attr(b, "[data-test=cart-total]", "data-minor")
        .await
        .parse()
        .unwrap();
    assert!(total > 0, "the cart has a total");
    click(b, "[data-test=pay-open]").await;
    let tendered = (total / 1_000 + 1) * 1_000;
    type_into(
        b,
        "[data-test=tendered]",
        &format!("{}.{:02}", tendered / 100, tendered % 100),
    )
    .await;
    shot(b, "pos-4-pay").await;
    click(b, "[data-test=pay-button]").await;
    el(b, "[data-test=sale-done]").await;
    (total, tendered)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_till_from_pairing_to_wipe() {
    let Some(tools) = browser_support::tools() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sink = Sink::start(&tmp.path().join("mail"));
    let dir = tmp.path().join("shop");
    let demo = Demo::start(&dir, sink.port);
    let code = demo
        .printed("Till pairing code:")
        .expect("the demo prints a pairing code");
    let code: String = code.split_whitespace().next().unwrap().to_string();
    let pin_line = demo
        .printed("Cashier PIN: Casey Cashier /")
        .expect("the demo prints a cashier PIN");
    let pin: String = pin_line.split_whitespace().next().unwrap().to_string();
    let barcode = well_stocked_barcode(&dir).await;
    let driver = Driver::start(&tools.chromedriver, &tmp.path().join("chromedriver.log"));
    let b = driver
        .browser(&tools.chromium, &tmp.path().join("profile"))
        .await;
    b.set_window_size(1024, 768).await.unwrap();

    // Pair.
    b.goto(&format!("{}/pos", demo.base)).await.unwrap();
    shot(&b, "pos-1-pair").await;
    type_into(&b, "[data-test=pair-code]", &code).await;
    click(&b, "[data-test=pair-submit]").await;
    el(&b, "[data-test=lock-screen]").await;
    shot(&b, "pos-2-cashiers").await;

    // PIN, shift, scan, cash with change.
    sign_in(&b, "Casey Cashier", &pin).await;
    if b.find(Locator::Css("[data-test=shift-float]"))
        .await
        .is_err()
    {
        click(&b, "[data-test=shift-open]").await;
    }
    type_into(&b, "[data-test=shift-float]", "100.00").await;
    click(&b, "[data-test=shift-open-submit]").await;
    until(
        &b,
        "the float dialog to close",
        "!document.querySelector('[data-test=shift-float]')",
    )
    .await;
    scan(&b, &barcode).await;
    el(&b, "[data-test=cart-line]").await;
    shot(&b, "pos-3-sell").await;
    let (total, tendered) = cash_sale(&b).await;
    let change: i64 = attr(&b, "[data-test=change-due]", "data-minor")
        .await
        .parse()
        .unwrap();
    assert_eq!(change, tendered - total, "change due = tendered - total");
    shot(&b, "pos-5-done").await;
    let receipt = attr(&b, "[data-test=receipt-link]", "href").await;
    let till = b.window().await.unwrap();
    b.new_window(true).await.unwrap();
    let windows = b.windows().await.unwrap();
    b.switch_to_window(windows.last().unwrap().clone())
        .await
        .unwrap();
    let receipt = if receipt.starts_with('/') {
        format!("{}{receipt}", demo.base)
    } else {
        receipt
    };
    b.goto(&receipt).await.unwrap();
    let text = el(&b, "[data-test=receipt]").await.text().await.unwrap();
    assert!(text.contains("Change"), "{text}");
    b.set_window_size(420, 900).await.unwrap();
    shot(&b, "pos-6-receipt").await;
    b.close_window().await.unwrap();
    b.switch_to_window(till).await.unwrap();
    b.set_window_size(1024, 768).await.unwrap();
    click(&b, "[data-test=new-sale]").await;

    // Idle lock: a short timeout for the test; the cart disappears with the lock.
    b.goto(&format!("{}/pos?idle_ms=2500", demo.base))
        .await
        .unwrap();
    el(&b, "[data-test=lock-screen]").await;
    sign_in(&b, "Casey Cashier", &pin).await;
    scan(&b, &barcode).await;
    el(&b, "[data-test=cart-line]").await;
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    el(&b, "[data-test=lock-screen]").await;
    until(&b, "the cart to be hidden", "!document.querySelector('[data-test=cart-line]') || document.querySelector('[data-test=cart-line]').offsetParent === null").await;
    shot(&b, "pos-7-locked").await;
    b.goto(&format!("{}/pos", demo.base)).await.unwrap();
    el(&b, "[data-test=lock-screen]").await;
    sign_in(&b, "Casey Cashier", &pin).await;

    // The shop goes away: a cash sale is queued on the device, then synced exactly once.
    let (port, smtp) = (demo.port(), sink.port);
    demo.stop();
    scan(&b, &barcode).await;
    el(&b, "[data-test=cart-line]").await;
    cash_sale(&b).await;
    until(
        &b,
        "the sale to be queued",
        "document.querySelector('[data-test=queued-count]')?.dataset.count === '1'",
    )
    .await;
    shot(&b, "pos-8-offline").await;
    click(&b, "[data-test=new-sale]").await;
    assert_eq!(count_sales(&dir, true).await, 0);
    let demo = Demo::start_on(&dir, smtp, port);
    let started = Instant::now();
    while count_sales(&dir, true).await == 0 {
        if let Ok(e) = b.find(Locator::Css("[data-test=sync-now]")).await {
            let _ = e.click().await;
        } else if let Ok(e) = b.find(Locator::Css("[data-test=queued-count]")).await {
            let _ = e.click().await;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the queued sale never synced"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    until(
        &b,
        "the queue to empty",
        "document.querySelector('[data-test=queued-count]')?.dataset.count === '0'",
    )
    .await;
    // Nudge the queue again: still one.
    if let Ok(e) = b.find(Locator::Css("[data-test=sync-now]")).await {
        let _ = e.click().await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(count_sales(&dir, true).await, 1, "synced exactly once");
    assert_eq!(count_sales(&dir, false).await, 1);

    // Revoke from the command line: the till's next request wipes it.
    let list = storefort()
        .arg("--config")
        .arg(dir.join("storefort.toml"))
        .args(["device", "list"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout).to_string();
    let id = listing
        .lines()
        .find(|l| l.contains("Demo till"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| {
            panic!(
                "device list: {listing} {}",
                String::from_utf8_lossy(&list.stderr)
            )
        })
        .to_string();
    let out = storefort()
        .arg("--config")
        .arg(dir.join("storefort.toml"))
        .args(["device", "revoke", &id])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    type_into(&b, "[data-test=search]", "shirt").await;
    let wiped = el(&b, "[data-test=wiped]").await.text().await.unwrap();
    assert!(
        wiped.contains("This device was removed from the shop. Ask a manager to pair it again."),
        "{wiped}"
    );
    shot(&b, "pos-9-wiped").await;
    let left = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             indexedDB.databases().then(dbs => done({dbs: dbs.length, ls: localStorage.length}));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(left["dbs"], 0, "IndexedDB emptied: {left}");
    assert_eq!(left["ls"], 0, "localStorage emptied: {left}");
    b.close().await.unwrap();
    drop(demo);
}
