//! Work `serve` does in the background: sending queued email, releasing the stock of orders
//! left unpaid past their 15-minute reservation, purging expired carts, counting orders held for
//! a phone check and warning staff before their authorizations run out, and checking that the
//! payment page has not changed (at start and daily).

use std::time::Duration;

use crate::AppState;

/// How often unpaid reservations are looked for.
pub const RELEASE_EVERY: Duration = Duration::from_secs(30);

/// Start every background task for this state.
pub fn spawn_all(state: &AppState) {
    crate::outbox_worker::spawn_outbox(state.db.clone(), state.cfg.smtp.clone());
    crate::payment_page::spawn_payment_page_check(state.clone());
    let s = state.clone();
    tokio::spawn(async move {
        // Load fraud screening's velocity index now rather than on the first order.
        let empty = storefort_store::velocity::RiskKeys::default();
        if let Err(e) = s.db.velocity_of(&empty, 0).await {
            tracing::warn!(error = %e, "loading the velocity index failed");
        }
        let mut tick = tokio::time::interval(RELEASE_EVERY);
        let mut rounds: u64 = 0;
        loop {
            tick.tick().await;
            match crate::payment_flow::release_expired(&s).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(orders = n, "released stock of unpaid orders"),
                Err(e) => tracing::warn!(error = %e.message, "releasing unpaid orders failed"),
            }
            // The admin badge's count, and warnings about held orders whose card
            // authorization is about to run out.
            if let Err(e) = s.db.open_review_count().await {
                tracing::warn!(error = %e, "counting held orders failed");
            }
            match crate::fraud_review::warn_expiring(&s).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(orders = n, "held orders' authorizations run out soon"),
                Err(e) => tracing::warn!(error = %e.message, "expiry warnings failed"),
            }
            // Expired carts once an hour.
            if rounds.is_multiple_of(120) {
                if let Err(e) = s.db.purge_expired_carts().await {
                    tracing::warn!(error = %e, "purging expired carts failed");
                }
            }
            rounds += 1;
        }
    });
}
