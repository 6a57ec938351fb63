//! Refunds and returns at the till: chosen lines of a till sale back to cash or to how it was
//! paid, optionally back into stock, always with a manager's PIN, always audited.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use storefort_store::audit::AuditEvent;
use storefort_store::pos_refunds::PosRefundInput;

use super::approve::{approve, Approver};
use super::error::{PosError, PosResult};
use super::till::Cashier;
use super::PosJson;
use crate::AppState;

/// A line to refund.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    /// The line's position on the sale.
    pub position: i64,
    /// How many units come back.
    pub quantity: i64,
}

/// `POST /pos/api/sales/{number}/refund` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// The device's idempotency key for this refund.
    pub key: String,
    /// What comes back.
    pub lines: Vec<RefundLine>,
    /// `cash` or `original` (how the sale was paid).
    pub method: String,
    /// Put the items back into this till's stock.
    #[serde(default)]
    pub restock: bool,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The manager approving it.
    pub approver: Option<Approver>,
}

/// `POST /pos/api/sales/{number}/refund`.
pub async fn create(
    State(s): State<AppState>,
    c: Cashier,
    Path(number): Path<String>,
    PosJson(b): PosJson<RefundBody>,
) -> PosResult<Json<Value>> {
    let n = super::receipt::parse_number(&number)?;
    if b.lines.is_empty() {
        return Err(PosError::invalid("lines", "Choose what comes back."));
    }
    if !["cash", "original"].contains(&b.method.as_str()) {
        return Err(PosError::invalid("method", "use cash or original"));
    }
    // Check the sale exists before asking for a manager's PIN.
    s.db.pos_sale(n).await?;
    let Some(a) = &b.approver else {
        return Err(PosError::approval_required("Refunds need a manager's PIN."));
    };
    let approved_by = approve(&s, &c, a, &format!("a refund on sale #{n}")).await?;
    let input = PosRefundInput {
        refund_key: b.key.clone(),
        order_number: n,
        device_id: c.till.device.id.clone(),
        cashier_id: c.user_id.clone(),
        approved_by: approved_by.clone(),
        lines: b.lines.iter().map(|l| (l.position, l.quantity)).collect(),
        method: b.method.clone(),
        restock: b.restock,
        reason: b.reason.clone(),
    };
    let r = s.db.create_pos_refund(&input).await?;
    if !r.replayed {
        let user = s.db.user(&c.user_id).await?;
        let ev = AuditEvent::new("pos.refund", &user.email, &c.till.client.ip.to_string())
            .by(&c.user_id)
            .on(&format!("order #{n}"))
            .details(format!(
                "refunded {} ({}) at till {:?}, approved by {approved_by}{}",
                s.cfg.currency.format(r.amount_minor),
                r.by_method
                    .iter()
                    .map(|(m, a)| format!("{m} {}", s.cfg.currency.format(*a)))
                    .collect::<Vec<_>>()
                    .join(", "),
                c.till.device.name,
                if b.restock { ", restocked" } else { "" }
            ));
        s.db.audit(ev).await?;
    }
    Ok(Json(json!({
        "amount_minor": r.amount_minor,
        "amount": s.cfg.currency.format(r.amount_minor),
        "by_method": r.by_method.iter().map(|(m, a)| json!({"method": m, "amount_minor": a})).collect::<Vec<_>>(),
        "status": r.status.as_str(),
        "replayed": r.replayed,
    })))
}
