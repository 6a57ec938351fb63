//! Offline sales: cash sales a till made while it could not reach the shop, sent later by its
//! queue with only the device's credential. Each must carry the offline grant of the cashier who
//! unlocked the till, have been sold while that grant was valid, stay within the offline limit
//! and the cashiers' discount limit (no manager can approve offline), and match the shop's
//! prices. Every refusal is audited.

use axum::extract::State;
use axum::response::Response;
use storefort_core::pos::Discount;
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::pos_sales::PosSaleInput;

use super::error::{PosError, PosResult};
use super::sales::{
    finish, lines, percent, refused_total, requested_discount_bp, tenders, SaleBody,
};
use super::till::Till;
use super::PosJson;
use crate::AppState;

/// How far a till's clock may be from the shop's.
const CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// Refuse an offline sale (422 naming `field`, or 403 for a discount needing approval) and audit
/// it: offline sales arrive with the device's credential only, so every refusal is worth a look.
async fn offline_refusal(
    s: &AppState,
    till: &Till,
    cashier: Option<&str>,
    field: &str,
    message: &str,
) -> PosError {
    let mut ev = AuditEvent::new(
        "pos.offline_sale_refused",
        "device",
        &till.client.ip.to_string(),
    )
    .on(&till.device.id)
    .outcome(Outcome::Denied)
    .details(format!("till {:?}: {field}: {message}", till.device.name));
    if let Some(c) = cashier {
        ev = ev.by(c);
    }
    if let Err(e) = s.db.audit(ev).await {
        tracing::error!(error = %e, "could not audit a refused offline sale");
    }
    if field == "approver" {
        return PosError::approval_required(message);
    }
    PosError::invalid(field, message)
}

/// `POST /pos/api/sales/offline`: a cash sale made while the till could not reach the shop,
/// sent by its queue. Only the device credential is needed (the cashier may have gone home).
pub async fn create(
    State(s): State<AppState>,
    till: Till,
    PosJson(b): PosJson<SaleBody>,
) -> PosResult<Response> {
    let settings = s.db.pos_settings().await?;
    let now = s.db.now();
    let sold_at = b.sold_at.unwrap_or(now);
    // Who sold it is what the grant says, not what the body claims: a device credential alone
    // (a locked or stolen till) cannot make sales.
    let grant = match b
        .grant
        .as_deref()
        .filter(|g| !g.is_empty() && g.len() <= 100)
    {
        Some(g) => s.db.offline_grant(&till.device.id, g).await?,
        None => None,
    };
    let Some(grant) = grant else {
        let why =
            "This offline sale has no valid offline grant from a cashier who unlocked this till.";
        return Err(offline_refusal(&s, &till, None, "grant", why).await);
    };
    if b.cashier_id
        .as_deref()
        .is_some_and(|c| c != grant.cashier_id)
    {
        let why = "The sale names another cashier than the one who unlocked the till.";
        return Err(offline_refusal(&s, &till, Some(&grant.cashier_id), "cashier_id", why).await);
    }
    let grace = settings.offline_grace_ms();
    if !grant.covers(sold_at, CLOCK_SKEW_MS)
        || sold_at < now - grace
        || sold_at > now + CLOCK_SKEW_MS
    {
        let why = "This offline sale was not made while its cashier's offline grant was valid.";
        return Err(offline_refusal(&s, &till, Some(&grant.cashier_id), "sold_at", why).await);
    }
    let cashier_id = grant.cashier_id.clone();
    let cashiers = s.db.pos_cashiers().await?;
    if !cashiers
        .iter()
        .any(|p| p.user_id == cashier_id && p.has_pin)
    {
        let why = "The cashier who made this sale can no longer sell.";
        return Err(offline_refusal(&s, &till, Some(&cashier_id), "cashier_id", why).await);
    }
    if b.customer_id.is_some() || b.email_receipt || b.receipt_email.is_some() {
        return Err(PosError::invalid(
            "customer_id",
            "customers and email receipts are not available offline",
        ));
    }
    if b.approver.is_some() {
        return Err(PosError::invalid(
            "approver",
            "manager approvals are not available offline",
        ));
    }
    if b.payments.iter().any(|p| p.method != "cash") {
        return Err(PosError::invalid(
            "payments",
            "Only cash sales can be made offline.",
        ));
    }
    let ls = lines(&b)?;
    let order_discount = match &b.order_discount {
        Some(d) => d.parse("order_discount")?,
        None => Discount::None,
    };
    let ts = tenders(&b)?;
    let total = b
        .total_minor
        .ok_or_else(|| PosError::invalid("total_minor", "an offline sale states its total"))?;
    if total > settings.offline_sale_limit_minor {
        return Err(PosError::invalid(
            "total_minor",
            format!(
                "Offline sales are limited to {} each.",
                s.cfg.currency.format(settings.offline_sale_limit_minor)
            ),
        ));
    }
    // No manager can approve anything offline, whoever sold it: the cashiers' limit applies.
    let limit = settings.cashier_discount_limit_bp;
    let asked = requested_discount_bp(&s, &ls, &order_discount).await?;
    if asked > limit {
        let why = format!(
            "This offline sale has a {} discount, above the limit of {} for sales made offline.",
            percent(asked),
            percent(limit)
        );
        return Err(offline_refusal(&s, &till, Some(&cashier_id), "approver", &why).await);
    }
    let input = PosSaleInput {
        sale_key: b.key.clone(),
        device_id: till.device.id.clone(),
        cashier_id,
        approved_by: None,
        customer_id: None,
        receipt_email: None,
        lines: ls,
        order_discount,
        tenders: ts,
        expected_total_minor: Some(total),
        offline: true,
        sold_at,
        shift_id: b.shift_id.clone(),
    };
    match s.db.create_pos_sale(&input).await {
        Ok(sale) => {
            if !sale.replayed {
                let ev = AuditEvent::new(
                    "pos.offline_sale_synced",
                    "device",
                    &till.client.ip.to_string(),
                )
                .by(&grant.cashier_id)
                .on(&sale.order_id.0)
                .details(format!(
                    "sale #{} from till {:?}, sold at {} (till clock), discount {}{}",
                    sale.number,
                    till.device.name,
                    crate::pages::render::utc(sale.sold_at),
                    percent(asked),
                    if sale.stock_alerts.is_empty() {
                        String::new()
                    } else {
                        format!(", {} stock alert(s)", sale.stock_alerts.len())
                    }
                ));
                s.db.audit(ev).await?;
            }
            finish(&s, sale, false).await
        }
        Err(e) => Err(refused_total(&s, &till, e.into(), "device", true).await),
    }
}
