//! The "done when", in a real browser: a shopper in headless Chromium buys from the
//! `storefort demo` shop (the real binary, over HTTPS with its self-signed certificate), pays
//! with the sandbox gateway, lands on "Thank you for your order", and the receipt arrives at
//! an SMTP sink as text + HTML with the order number.
//!
//! Needs Debian's `chromium` and `chromium-driver` (.ci/run installs them) and aiosmtpd. Without
//! the browser the test is skipped on a developer machine and fails under `CI=true`. The final
//! page is saved to /tmp/storefort-browser-purchase.png; set `STOREFORT_BROWSER_SHOTS=DIR` to
//! also keep a screenshot of every step there.

mod browser_support;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use browser_support::{Demo, Driver, Sink};
use fantoccini::{Client, Locator};
use futures::FutureExt;
use serde_json::Value;

const EMAIL: &str = "grace.shopper@example.com";
const SCREENSHOT: &str = "/tmp/storefort-browser-purchase.png";
const WAIT: Duration = Duration::from_secs(30);

/// The page's `<h1>` once it contains `text` (the page that a click or redirect led to).
async fn heading(b: &Client, text: &str) -> String {
    let xpath = format!("//h1[contains(normalize-space(), '{text}')]");
    let h1 = b
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&xpath))
        .await;
    match h1 {
        Ok(h1) => h1.text().await.unwrap(),
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let now = match b.find(Locator::Css("h1")).await {
                Ok(h) => h.text().await.unwrap_or_default(),
                Err(_) => "(no h1)".into(),
            };
            panic!("no heading {text:?} at {url} ({e}); the page says {now:?}");
        }
    }
}

/// Save a whole-page screenshot of this step when `STOREFORT_BROWSER_SHOTS` names a directory.
async fn step_shot(b: &Client, name: &str) {
    let Some(dir) = std::env::var_os("STOREFORT_BROWSER_SHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let (width, height) = (1280, 1600);
    let js = "return document.documentElement.scrollHeight";
    let page = b.execute(js, vec![]).await.unwrap().as_u64().unwrap_or(0);
    let page = u32::try_from(page).unwrap_or(height).clamp(height, 8000);
    b.set_window_size(width, page + 150).await.unwrap();
    let png = b.screenshot().await.unwrap();
    b.set_window_size(width, height).await.unwrap();
    std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
}

async fn fill(b: &Client, id: &str, value: &str) {
    let input = b.find(Locator::Id(id)).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(value).await.unwrap();
}

/// Click the label of a radio button or checkbox (as a person would) and check it took.
async fn choose(b: &Client, id: &str) -> String {
    let label = b
        .find(Locator::Css(&format!("label[for='{id}']")))
        .await
        .unwrap();
    let text = label.text().await.unwrap();
    let input = b.find(Locator::Id(id)).await.unwrap();
    if !input.is_selected().await.unwrap() {
        label.click().await.unwrap();
    }
    assert!(
        input.is_selected().await.unwrap(),
        "{id} ({text}) is chosen"
    );
    text
}

/// Home page -> a product that can be bought -> Add to cart. Returns the product's name.
async fn add_a_product(b: &Client, base: &str) -> String {
    b.goto(&format!("{base}/")).await.unwrap();
    step_shot(b, "1-home").await;
    let cards = b.find_all(Locator::Css("li.card")).await.unwrap();
    assert!(cards.len() >= 5, "the demo's products are on the home page");
    for i in 0..cards.len() {
        // Found again each time: going back loads the page anew.
        let cards = b.find_all(Locator::Css("li.card")).await.unwrap();
        let card = &cards[i];
        if card.find(Locator::Css(".stock-out")).await.is_ok() {
            continue;
        }
        card.find(Locator::Css("a"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let name = b
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let add =
            Locator::XPath("//form[@class='add-to-cart']//button[normalize-space()='Add to cart']");
        if let Ok(button) = b.find(add).await {
            step_shot(b, "2-product").await;
            button.click().await.unwrap();
            return name;
        }
        b.back().await.unwrap();
    }
    panic!("no product on the demo's home page can be added to the cart");
}

/// Cart -> checkout form -> sandbox TEST MODE page -> success -> order page. Returns the
/// product's name, the order number and the final page's screenshot.
async fn buy(b: &Client, base: &str) -> (String, String, Vec<u8>) {
    let product = add_a_product(b, base).await;
    heading(b, "Your cart").await;
    let lines = b.find(Locator::Css("table.cart-lines")).await.unwrap();
    let in_cart = lines.text().await.unwrap();
    assert!(
        in_cart.contains(&product),
        "{product} in the cart: {in_cart}"
    );
    step_shot(b, "3-cart").await;
    b.find(Locator::LinkText("Go to checkout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    heading(b, "Checkout").await;
    fill(b, "email", EMAIL).await;
    fill(b, "phone", "020 7946 0958").await;
    fill(b, "b-name", "Grace Shopper").await;
    fill(b, "b-line1", "12 Harbour Street").await;
    fill(b, "b-city", "Bristol").await;
    fill(b, "b-postcode", "BS1 4DJ").await;
    fill(b, "b-country", "GB").await;
    choose(b, "same").await;
    let delivery = choose(b, "ship-1").await;
    assert!(delivery.contains("Standard delivery"), "{delivery}");
    let sandbox = Locator::Css("input[name='payment_method'][value='sandbox']");
    let pay_id = b.find(sandbox).await.unwrap().attr("id").await.unwrap();
    let pay_label = choose(b, &pay_id.expect("the sandbox radio has an id")).await;
    step_shot(b, "4-checkout").await;
    let place = Locator::XPath("//button[normalize-space()='Place order and pay']");
    b.find(place).await.unwrap().click().await.unwrap();

    // The gateway's hosted page: no card inputs at all, just the outcome buttons.
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::Id("test-mode"))
        .await
        .unwrap_or_else(|e| panic!("no TEST MODE page after choosing {pay_label:?}: {e}"));
    let url = b.current_url().await.unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/sandbox/pay/")), "{url}");
    assert!(b
        .find_all(Locator::Css("input[autocomplete^='cc-']"))
        .await
        .unwrap()
        .is_empty());
    step_shot(b, "5-sandbox").await;
    let success = Locator::Css("button[name='outcome'][value='success']");
    b.find(success).await.unwrap().click().await.unwrap();

    let thanks = heading(b, "Thank you for your order").await;
    assert_eq!(thanks, "Thank you for your order");
    let url = b.current_url().await.unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/orders/")), "{url}");
    let number_line = b
        .find(Locator::Css(".order-number"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let number: String = number_line
        .split('#')
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(
        !number.is_empty(),
        "an order number on the page: {number_line}"
    );
    let page = b
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&product), "{page}");
    (product, number, b.screenshot().await.unwrap())
}

fn part(m: &Value, kind: &str) -> String {
    m["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} part in {m}"))["body"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_shopper_buys_in_chromium_and_receives_the_receipt_email() {
    let Some(tools) = browser_support::tools() else {
        return;
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let sink = Sink::start(&tmp.path().join("mail"));
    let demo = Demo::start(&tmp.path().join("demo"), sink.port);
    let demo_ready = started.elapsed();
    let driver = Driver::start(&tools.chromedriver, &tmp.path().join("chromedriver.log"));
    let b = driver
        .browser(&tools.chromium, &tmp.path().join("profile"))
        .await;
    let browsing = Instant::now();

    let outcome = AssertUnwindSafe(buy(&b, &demo.base)).catch_unwind().await;
    let (product, number, png) = match outcome {
        Ok(done) => done,
        Err(panic) => {
            // Keep the page the shopper was stuck on, then fail as the step did.
            if let Ok(png) = b.screenshot().await {
                let _ = std::fs::write("/tmp/storefort-browser-purchase-failed.png", png);
                eprintln!("the page at the failure: /tmp/storefort-browser-purchase-failed.png");
            }
            let _ = b.close().await;
            std::panic::resume_unwind(panic);
        }
    };
    let bought_in = browsing.elapsed();
    b.close().await.unwrap();
    let shot = tmp.path().join("thank-you.png");
    std::fs::write(&shot, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::copy(&shot, SCREENSHOT).unwrap();

    // The outbox worker (every 5 s) sends the receipt.
    let mailing = Instant::now();
    let subject = format!("order {number} received");
    let receipt = sink
        .wait_for(WAIT, |m| {
            m["to"][0] == EMAIL && m["subject"].as_str().is_some_and(|s| s.contains(&subject))
        })
        .await
        .unwrap_or_else(|| {
            panic!(
                "no receipt for order {number} to {EMAIL} within {WAIT:?}; received: {:?}",
                sink.messages()
            )
        });
    assert_eq!(receipt["type"], "multipart/alternative", "{receipt}");
    let (text, html) = (part(&receipt, "text/plain"), part(&receipt, "text/html"));
    eprintln!("the receipt's text part:\n{text}");
    for (kind, body) in [("text", &text), ("HTML", &html)] {
        assert!(
            body.contains(&number),
            "{kind} part names order {number}: {body}"
        );
        assert!(
            body.contains(&product),
            "{kind} part lists {product}: {body}"
        );
        assert!(body.contains("12 Harbour Street"), "{kind} part: {body}");
    }
    assert!(html.contains("</p>") && !text.contains("</p>"), "{receipt}");
    eprintln!(
        "browser purchase: demo ready in {demo_ready:?}, bought in {bought_in:?}, receipt after \
         {:?}, {:?} in all; screenshot {SCREENSHOT}",
        mailing.elapsed(),
        started.elapsed()
    );
    drop(driver);
    drop(demo);
    drop(sink);
}
