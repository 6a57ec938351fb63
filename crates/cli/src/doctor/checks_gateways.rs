//! Payment gateway checks: no test-mode gateway on a live shop, Stripe's secrets stored
//! encrypted (never in the config file) when Stripe is offered.

use futures::future::{BoxFuture, FutureExt};

use super::{ready, Ctx, Finding};
use crate::config_payments::{STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET};

/// The sandbox gateway lets anyone "pay" with a button: a live shop must not offer it.
pub fn sandbox<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    ready(
        if ctx.cfg.payments.gateways.iter().any(|g| g == "sandbox") {
            Finding::fail(
            "the sandbox (test mode) gateway is offered at checkout: anyone can mark an order \
             paid without paying",
            "remove \"sandbox\" from [payments] gateways in storefort.toml (the demo shop adds it \
             by itself)",
        )
        } else {
            Finding::pass(format!(
                "checkout offers: {}",
                ctx.cfg.payments.gateways.join(", ")
            ))
        },
    )
}

/// Stripe needs its secret key and webhook secret, stored encrypted in the database.
pub fn stripe_secrets<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    async move {
        if !ctx.cfg.payments.gateways.iter().any(|g| g == "stripe") {
            return Finding::pass("Stripe is not offered");
        }
        let db = match &ctx.db {
            Ok(db) => db,
            Err(e) => {
                return Finding::warn(format!("could not check: {e}"), "see the Database check")
            }
        };
        let names = match db.secret_names().await {
            Ok(names) => names,
            Err(e) => {
                return Finding::warn(
                    format!("could not list secrets: {e}"),
                    "see the Database check",
                )
            }
        };
        let missing: Vec<&str> = [STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET]
            .into_iter()
            .filter(|n| !names.iter().any(|have| have == n))
            .collect();
        if missing.is_empty() {
            Finding::pass("secret key and webhook secret stored encrypted")
        } else {
            Finding::fail(
                format!("Stripe is offered but {} not stored", missing.join(" and ")),
                format!(
                    "run `storefort secrets set {}` (reads it from standard input)",
                    missing[0]
                ),
            )
        }
    }
    .boxed()
}
