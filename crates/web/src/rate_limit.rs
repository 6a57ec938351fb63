//! Per-address limits for anonymous storefront actions that cost the shop something: placing
//! orders (each reserves stock and sends an email), opening carts and trying discount codes.
//! Counted in memory per process (a sliding window); a refusal is 429 with a plain sentence.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use axum::http::StatusCode;

use crate::error::ApiError;

/// Orders one address may place in an hour.
pub const ORDERS_PER_HOUR: usize = 20;
/// Carts one address may open in an hour.
pub const CARTS_PER_HOUR: usize = 120;
/// Discount codes one address may try in 15 minutes.
pub const CODES_PER_15_MIN: usize = 30;
/// Till pairing codes one address may try in 15 minutes.
pub const PAIRINGS_PER_15_MIN: usize = 10;

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Placing an order.
    Order,
    /// Opening a cart.
    Cart,
    /// Trying a discount code.
    Code,
    /// Typing a till pairing code.
    Pair,
}

impl Action {
    fn limit(self) -> (usize, i64) {
        match self {
            Action::Order => (ORDERS_PER_HOUR, 3_600_000),
            Action::Cart => (CARTS_PER_HOUR, 3_600_000),
            Action::Code => (CODES_PER_15_MIN, 900_000),
            Action::Pair => (PAIRINGS_PER_15_MIN, 900_000),
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Action::Order => {
                "too many orders from your network in the last hour; please try again later"
            }
            Action::Cart => {
                "too many new carts from your network in the last hour; please try again later"
            }
            Action::Code => {
                "too many discount codes tried from your network; please wait 15 minutes"
            }
            Action::Pair => {
                "too many pairing codes tried from this network; please wait 15 minutes"
            }
        }
    }
}

/// Recent actions per (action, address).
#[derive(Debug, Default)]
pub struct Limits {
    seen: Mutex<HashMap<(Action, IpAddr), VecDeque<i64>>>,
    off: bool,
}

impl Limits {
    /// No limits: for load tests, whose every shopper comes from one address.
    pub fn unlimited() -> Self {
        Self {
            off: true,
            ..Default::default()
        }
    }

    /// Count one `action` from `ip` at `now_ms`, or refuse it (429) when the window is full.
    pub fn take(&self, action: Action, ip: IpAddr, now_ms: i64) -> Result<(), ApiError> {
        if self.off {
            return Ok(());
        }
        let (max, window) = action.limit();
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if seen.len() > 100_000 {
            // Forget addresses whose windows are over, so the map cannot grow without bound.
            seen.retain(|_, q| q.back().is_some_and(|t| now_ms - t < window));
        }
        let q = seen.entry((action, ip)).or_default();
        while q.front().is_some_and(|t| now_ms - t >= window) {
            q.pop_front();
        }
        if q.len() >= max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                action.refusal(),
            ));
        }
        q.push_back(now_ms);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_window_refuses_until_it_moves_on() {
        let l = Limits::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for i in 0..ORDERS_PER_HOUR {
            l.take(Action::Order, ip, 1_000 + i as i64).unwrap();
        }
        let e = l.take(Action::Order, ip, 2_000).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.message.contains("too many orders"));
        // Another address and another action are counted apart.
        l.take(Action::Order, other, 2_000).unwrap();
        l.take(Action::Cart, ip, 2_000).unwrap();
        // An hour after the first, one slot is free again.
        l.take(Action::Order, ip, 1_000 + 3_600_000).unwrap();
        assert!(l.take(Action::Order, ip, 1_000 + 3_600_000).is_err());
    }
}
