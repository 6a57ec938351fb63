//! Fraud screening between a card's authorization and its capture: gathers what is known about
//! the order (history, velocity, the gateway's checks, the IP's country), asks the engine in
//! core, keeps its answer, and says whether to capture, hold for a phone check, or block.

use std::net::IpAddr;

use storefort_core::checkout::CheckoutInput;
use storefort_core::fraud::{
    assess, Assessment, CheckResult, Decision, PaymentChecks, RiskInput, RiskLine,
};
use storefort_core::ids::OrderId;
use storefort_payments::{Check, Checks, PaymentState};
use storefort_store::risk::Placement;
use storefort_store::velocity::EventKind;

use crate::error::ApiError;
use crate::AppState;

/// Name of the long-lived device cookie used to count orders per device.
pub const DEVICE_COOKIE: &str = "__Host-sf_device";

fn check(c: Check) -> CheckResult {
    match c {
        Check::Pass => CheckResult::Pass,
        Check::Fail => CheckResult::Fail,
        Check::Unavailable => CheckResult::Unavailable,
        Check::NotChecked => CheckResult::NotChecked,
    }
}

/// The gateway's checks as screening sees them.
pub fn checks_of(c: &Checks) -> PaymentChecks {
    PaymentChecks {
        cvc: check(c.cvc),
        postcode: check(c.postcode),
        three_d_secure: check(c.three_d_secure),
    }
}

/// Record how an order was placed (hashed IP, device and email, the IP's country) so that
/// velocity counts it. A failure here is logged, never stops the order.
pub async fn note_placement(
    state: &AppState,
    order: &OrderId,
    checkout: &CheckoutInput,
    ip: Option<IpAddr>,
    device: Option<String>,
) {
    let ip_country = match (&state.cfg.geoip, ip.map(network_of)) {
        (Some(g), Some(ip)) => g.country(ip),
        _ => None,
    };
    let address = checkout.shipping.as_ref().unwrap_or(&checkout.billing);
    // Loopback and private addresses are a proxy's or a test's, not the shopper's network:
    // counting them would lump every shopper together.
    let ip = ip.map(network_of).filter(|i| is_public(*i));
    let p = Placement {
        ip: ip.map(|i| i.to_string()),
        device,
        ip_country,
    };
    if let Err(e) = state
        .db
        .record_placement(order, &checkout.email, Some(address), &p)
        .await
    {
        tracing::warn!(order = %order.0, error = %e, "placement not recorded for screening");
    }
}

/// The address counted for velocity: IPv4 as is, IPv6 by its /64 (one household or phone
/// usually holds a whole /64 and can pick any address in it).
fn network_of(ip: IpAddr) -> IpAddr {
    // An IPv4 shopper reaching a dual-stack listener arrives as ::ffff:a.b.c.d.
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// An address on the public internet (not loopback, private, link-local or unspecified).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified())
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            // fc00::/7 unique local, fe80::/10 link-local.
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    }
}

/// Count a failed payment attempt for velocity (never fails the caller).
pub async fn note_failed_payment(state: &AppState, order: &OrderId, st: &PaymentState) {
    if let Err(e) = state
        .db
        .record_risk_event(
            order,
            EventKind::FailedPayment,
            st.card_fingerprint.as_deref(),
        )
        .await
    {
        tracing::warn!(order = %order.0, error = %e, "failed payment not counted");
    }
}

/// Score an authorized order and keep the answer; a review opens a hold that lasts as long as
/// the authorization does (`again`: the customer pays again after a phone check, which opens no
/// new review). Also says whether this answer was kept (false: another screening of the same
/// order decided first).
pub async fn screen(
    state: &AppState,
    order: &OrderId,
    st: &PaymentState,
    again: bool,
) -> Result<(Assessment, bool), ApiError> {
    let db = &state.db;
    let cfg = db.fraud_config().await?;
    let detail = db.order_detail(order).await?;
    if st.card_fingerprint.is_some() {
        db.record_risk_event(order, EventKind::Card, st.card_fingerprint.as_deref())
            .await?;
    }
    let (keys, ip_country) = db.order_risk_keys(order).await?.unwrap_or_default();
    let velocity = db
        .velocity_of(&keys, cfg.settings.velocity_window_ms())
        .await?;
    let customer = storefort_core::ids::CustomerId(detail.summary.customer_id.clone());
    let history = db
        .customer_history(
            &customer,
            detail.summary.created_at,
            keys.address.as_deref(),
        )
        .await?;
    let shop = db.shop_stats().await?;
    let r = &detail.record;
    let input = RiskInput {
        total_minor: detail.summary.total_minor,
        currency: detail.summary.currency.clone(),
        channel: detail.summary.channel.clone(),
        lines: detail
            .lines
            .iter()
            .map(|l| RiskLine {
                sku: l.sku.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
            })
            .collect(),
        email: r.email.clone(),
        phone: r.phone.clone(),
        billing: r.billing.clone().unwrap_or_default(),
        shipping: r.shipping.clone(),
        checks: checks_of(&st.checks),
        ip_country,
        history,
        velocity,
        shop,
    };
    let a = assess(&input, &cfg.settings, &cfg.rules, &cfg.domains);
    let a = storefort_core::fraud::with_extra(
        a,
        crate::plugin_hooks::fraud_reasons(state, &detail),
        &cfg.settings,
    );
    // The authorization's life is counted from when the payment began (minutes before the card
    // was authorized, so it errs early), not from now: a late webhook would make warnings late.
    let claimed = db.order_payment_id(order).await?;
    let authorized_at = detail
        .payments
        .iter()
        .find(|p| Some(&p.id) == claimed.as_ref())
        .map_or_else(|| db.now(), |p| p.created_at);
    let hold_until = (a.decision == Decision::Review && !again)
        .then(|| authorized_at + cfg.settings.authorization_ms());
    let checks = serde_json::to_string(&input.checks).unwrap_or_else(|_| "{}".into());
    let kept = db.save_assessment(order, &a, &checks, hold_until).await?;
    metrics::counter!("storefort_fraud_screened_total", "decision" => a.decision.as_str())
        .increment(1);
    Ok((a, kept))
}

/// Staff's sentence for the order timeline: "screening: score 62, held for a phone check".
pub fn timeline_note(a: &Assessment) -> String {
    let what = match a.decision {
        Decision::Pass => "passed",
        Decision::Review => "held for a phone check",
        Decision::Block => "payment blocked",
    };
    let top: Vec<&str> = a.reasons.iter().take(3).map(|r| r.text.as_str()).collect();
    if top.is_empty() {
        format!("screening: score {}, {what}", a.score)
    } else {
        format!("screening: score {}, {what} ({})", a.score, top.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shoppers_are_counted_by_their_public_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // IPv4 through a dual-stack listener is the IPv4 address, not "::".
        assert_eq!(network_of(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
        // IPv6 by its /64.
        assert_eq!(
            network_of(ip("2a02:8010:1:2:3:4:5:6")),
            ip("2a02:8010:1:2::")
        );
        for local in [
            "127.0.0.1",
            "10.0.0.8",
            "192.168.1.2",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!is_public(network_of(ip(local))), "{local}");
        }
        assert!(is_public(ip("203.0.113.7")) && is_public(ip("2a02:8010::")));
    }
}
