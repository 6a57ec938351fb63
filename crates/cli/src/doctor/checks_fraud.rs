//! Fraud screening: on, held orders looked at within two days, and no card authorization left
//! to run out (after which the money of a checked order can no longer be taken).

use futures::future::BoxFuture;

use super::{Ctx, Finding};

const QUEUE: &str = "/admin/reviews";
const HOUR_MS: i64 = 3_600_000;
/// Held longer than this: warn.
pub const STALE_MS: i64 = 48 * HOUR_MS;
/// Authorization runs out within this: fail.
pub const EXPIRING_MS: i64 = 24 * HOUR_MS;

fn no_db() -> Finding {
    Finding::warn(
        "not checked: the database is unreachable",
        "fix the database check first",
    )
}

/// Screening on (warn when an owner turned it off), and whether GeoIP is configured.
pub fn enabled<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let s = match db.fraud_settings().await {
            Ok(s) => s,
            Err(e) => {
                return Finding::warn(
                    format!("cannot read the screening settings: {e}"),
                    "run `storefort migrate`, then set them again at /admin/fraud-settings",
                )
            }
        };
        if !s.enabled {
            return Finding::warn(
                "fraud screening is off: every authorized card payment is taken at once, \
                 however risky the order",
                "turn it on at /admin/fraud-settings",
            );
        }
        let geoip = match &ctx.cfg.fraud.geoip_database {
            Some(p) => format!("GeoIP database {}", p.display()),
            None => "no GeoIP database (the IP country signal is off)".into(),
        };
        Finding::pass(format!(
            "on: orders scoring {}+ are held for a phone check, {}+ blocked; {geoip}",
            s.review_threshold, s.block_threshold
        ))
    })
}

/// Held orders: older than 48 hours warns; an authorization running out within 24 hours (or
/// already run out) fails.
pub fn held_orders<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let Ok(db) = &ctx.db else {
            return no_db();
        };
        let h = match db.review_health(STALE_MS, EXPIRING_MS).await {
            Ok(h) => h,
            Err(e) => {
                return Finding::warn(
                    format!("cannot read the review queue: {e}"),
                    "run `storefort migrate`",
                )
            }
        };
        if h.expiring > 0 {
            let gone = if h.expired > 0 {
                format!(" ({} already ran out)", h.expired)
            } else {
                String::new()
            };
            return Finding::fail(
                format!(
                    "{} held order(s) have a card authorization running out within 24 hours{gone}: \
                     after that the payment cannot be taken",
                    h.expiring
                ),
                format!(
                    "call the customers and approve or cancel at {QUEUE}; where it ran out, use \
                     \"Ask to pay again\""
                ),
            );
        }
        if h.stale > 0 {
            return Finding::warn(
                format!(
                    "{} order(s) have waited more than 48 hours for a phone check",
                    h.stale
                ),
                format!("call the customers and decide at {QUEUE}"),
            );
        }
        if h.open > 0 {
            return Finding::pass(format!("{} order(s) waiting for a phone check", h.open));
        }
        Finding::pass("no orders waiting for a phone check")
    })
}
