//! What the tests look at: localstripe's own records, storefort's order, payments, processed
//! webhook events and outbox, and a snapshot to prove a request changed nothing.

use std::time::{Duration, Instant};

use serde_json::Value;
use storefort_store::order_read::OrderDetail;

use super::{Delivery, Placed, Shop, SECRET_KEY, WEBHOOK_WAIT};

impl Shop {
    /// A localstripe API object.
    pub async fn stripe_get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.ls.base))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// At localstripe: the intent's status, and its charge's captured flag, amount and amount
    /// refunded.
    pub async fn captured_at_stripe(&self, reference: &str) -> (String, bool, i64, i64) {
        let v = self
            .stripe_get(&format!(
                "/v1/payment_intents/{reference}?expand[]=latest_charge"
            ))
            .await;
        let c = &v["latest_charge"];
        (
            v["status"].as_str().unwrap_or("").to_string(),
            c["captured"].as_bool().unwrap_or(false),
            c["amount"].as_i64().unwrap_or(-1),
            c["amount_refunded"].as_i64().unwrap_or(-1),
        )
    }

    /// The `payment_intent.succeeded` events localstripe holds for `reference`.
    pub async fn succeeded_events(&self, reference: &str) -> usize {
        let v = self
            .stripe_get("/v1/events?type=payment_intent.succeeded&limit=100")
            .await;
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["data"]["object"]["id"] == reference)
            .count()
    }

    /// localstripe's refunds of `reference`.
    pub async fn stripe_refunds(&self, reference: &str) -> Vec<Value> {
        let v = self
            .stripe_get(&format!("/v1/refunds?payment_intent={reference}&limit=100"))
            .await;
        v["data"].as_array().unwrap().clone()
    }

    pub async fn detail(&self, p: &Placed) -> OrderDetail {
        self.t.db.order_detail(&p.id).await.unwrap()
    }

    /// Event IDs storefort has processed, per gateway.
    pub async fn processed_events(&self) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT event_id FROM webhook_events WHERE gateway = 'stripe' ORDER BY event_id",
        )
        .fetch_all(&self.t.db.pool)
        .await
        .unwrap()
    }

    /// Wait until localstripe has delivered a `kind` event about `reference` and storefort has
    /// recorded it as processed; returns the recorder's copy of the delivery.
    pub async fn webhook(&self, kind: &str, reference: &str) -> Delivery {
        let deadline = Instant::now() + WEBHOOK_WAIT;
        loop {
            let found = self
                .hooks
                .lock()
                .unwrap()
                .iter()
                .find(|d| {
                    let v = d.json();
                    v["type"] == kind && v["data"]["object"]["id"] == reference
                })
                .cloned();
            if let Some(d) = found {
                let id = d.json()["id"].as_str().unwrap().to_string();
                if self.processed_events().await.contains(&id) {
                    return d;
                }
            }
            if Instant::now() >= deadline {
                let recorded: Vec<Value> = self
                    .hooks
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|d| d.json()["type"].clone())
                    .collect();
                let processed = self.processed_events().await;
                panic!(
                    "no {kind} webhook for {reference} processed within {WEBHOOK_WAIT:?}; \
                     recorded: {recorded:?}, processed: {processed:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emails of `kind` in the outbox (counted without taking them, as a worker would).
    pub async fn emails(&self, kind: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = $1")
            .bind(kind)
            .fetch_one(&self.t.db.pool)
            .await
            .unwrap()
    }

    /// How often the order's timeline says its receipt was queued.
    pub async fn receipts_queued(&self, p: &Placed) -> usize {
        self.detail(p)
            .await
            .events
            .iter()
            .filter(|e| e.note == "order confirmation email queued")
            .count()
    }

    /// Everything about an order that a refused or repeated request must not change.
    pub async fn snapshot(&self, p: &Placed) -> String {
        let d = self.detail(p).await;
        let mut out = format!(
            "status {} refunded {} events {} refunds {} ",
            d.summary.status,
            d.summary.refunded_minor,
            d.events.len(),
            d.refunds.len()
        );
        for pay in &d.payments {
            out.push_str(&format!(
                "[{} {} {} {} {} {:?} {:?} {} {:?}] ",
                pay.reference,
                pay.status,
                pay.amount_minor,
                pay.captured_minor,
                pay.refunded_minor,
                pay.card_brand,
                pay.card_last4,
                pay.checks,
                pay.message
            ));
        }
        let mails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(&self.t.db.pool)
            .await
            .unwrap();
        out.push_str(&format!("emails {mails}"));
        out
    }
}
