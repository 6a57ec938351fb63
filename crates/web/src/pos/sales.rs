//! Selling at the till: a sale priced by the server (the device's prices are only checked
//! against it), paid in cash, on the external card terminal, or split; a discount above the
//! cashier's limit needs a manager's PIN; the same sale key twice is one sale. Offline sales
//! arrive later from the device's queue with only the device's credential: cash only, within
//! the offline limit, and refused (and audited) when their totals do not match the shop's prices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use storefort_core::access::Role;
use storefort_core::ids::CustomerId;
use storefort_core::pos::{Discount, TenderInput};
use storefort_store::audit::{AuditEvent, Outcome};
use storefort_store::pos_sale_read::PosSale;
use storefort_store::pos_sales::{PosLineRequest, PosSaleInput};

use super::approve::{approve, Approver};
use super::error::{PosError, PosResult};
use super::till::{Cashier, Till};
use super::PosJson;
use crate::AppState;

/// A discount as the app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountBody {
    /// `none`, `percent` (value in basis points: 1000 = 10%) or `amount` (minor units).
    pub kind: String,
    /// The value.
    #[serde(default)]
    pub value: i64,
}

impl DiscountBody {
    pub(super) fn parse(&self, field: &str) -> PosResult<Discount> {
        match self.kind.as_str() {
            "none" => Ok(Discount::None),
            "percent" if (0..=10_000).contains(&self.value) => Ok(Discount::Percent(self.value)),
            "percent" => Err(PosError::invalid(
                &format!("{field}.value"),
                "a percentage discount is 0 to 10000 basis points (10000 = 100%)",
            )),
            "amount" if self.value >= 0 => Ok(Discount::Amount(self.value)),
            "amount" => Err(PosError::invalid(
                &format!("{field}.value"),
                "must not be negative",
            )),
            _ => Err(PosError::invalid(
                &format!("{field}.kind"),
                "use none, percent or amount",
            )),
        }
    }
}

/// A line as the app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    /// The variant sold.
    pub variant_id: String,
    /// How many (1-9999).
    pub quantity: i64,
    /// The unit price the till showed; a different shop price is refused (409).
    pub unit_price_minor: Option<i64>,
    /// The line's discount.
    pub discount: Option<DiscountBody>,
}

/// A payment as the app sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// `cash` or `card` (the external terminal).
    pub method: String,
    /// What this payment pays of the total.
    pub amount_minor: i64,
    /// Cash handed over (cash only; at least `amount_minor`).
    pub tendered_minor: Option<i64>,
    /// Card brand from the terminal slip (card only, optional).
    pub brand: Option<String>,
    /// Last 4 digits from the terminal slip (card only, optional). Never a full number.
    pub last4: Option<String>,
}

/// `POST /pos/api/sales` and `/pos/api/sales/offline` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaleBody {
    /// The device's idempotency key for this sale.
    pub key: String,
    /// What is sold.
    pub lines: Vec<LineBody>,
    /// A discount on the whole sale.
    pub order_discount: Option<DiscountBody>,
    /// An attached customer (online only).
    pub customer_id: Option<String>,
    /// Email the receipt to this address (or, when empty, to the attached customer).
    pub receipt_email: Option<String>,
    /// Send the receipt by email.
    #[serde(default)]
    pub email_receipt: bool,
    /// How it was paid.
    pub payments: Vec<PaymentBody>,
    /// The total the till showed; must equal the shop's.
    pub total_minor: Option<i64>,
    /// A manager approving a discount above the cashier's limit.
    pub approver: Option<Approver>,
    /// Offline sales only: who sold it.
    pub cashier_id: Option<String>,
    /// Offline sales only: when (device clock, UTC ms).
    pub sold_at: Option<i64>,
    /// Offline sales only: the shift it was sold in.
    pub shift_id: Option<String>,
    /// Offline sales only: the offline grant the cashier got when they unlocked the till.
    pub grant: Option<String>,
}

pub(super) fn tenders(b: &SaleBody) -> PosResult<Vec<TenderInput>> {
    if b.payments.is_empty() {
        return Err(PosError::invalid(
            "payments",
            "Take a payment: cash or card.",
        ));
    }
    b.payments
        .iter()
        .enumerate()
        .map(|(i, p)| match p.method.as_str() {
            "cash" => Ok(TenderInput::Cash {
                amount_minor: p.amount_minor,
                tendered_minor: p.tendered_minor.unwrap_or(p.amount_minor),
            }),
            "card" => Ok(TenderInput::Card {
                amount_minor: p.amount_minor,
                brand: p.brand.clone().unwrap_or_default(),
                last4: p.last4.clone().unwrap_or_default(),
            }),
            _ => Err(PosError::invalid(
                &format!("payments[{i}].method"),
                "use cash or card",
            )),
        })
        .collect()
}

pub(super) fn lines(b: &SaleBody) -> PosResult<Vec<PosLineRequest>> {
    if b.lines.is_empty() {
        return Err(PosError::invalid("lines", "The sale has no items."));
    }
    if b.lines.len() > 200 {
        return Err(PosError::invalid("lines", "At most 200 lines in one sale."));
    }
    b.lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(PosLineRequest {
                variant_id: l.variant_id.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                discount: match &l.discount {
                    Some(d) => d.parse(&format!("lines[{i}].discount"))?,
                    None => Discount::None,
                },
            })
        })
        .collect()
}

/// The biggest discount the sale asks for, in basis points, priced with the shop's prices.
pub(super) async fn requested_discount_bp(
    s: &AppState,
    ls: &[PosLineRequest],
    order: &Discount,
) -> PosResult<i64> {
    let mut inputs = Vec::with_capacity(ls.len());
    for (i, l) in ls.iter().enumerate() {
        let v = match s.db.variant(&l.variant_id).await {
            Ok(v) => v,
            Err(storefort_store::StoreError::NotFound { .. }) => {
                return Err(PosError::invalid(
                    &format!("lines[{i}].variant_id"),
                    "This item is not in the catalog any more.",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        inputs.push(storefort_core::pos::SaleLineInput {
            variant_id: l.variant_id.clone(),
            sku: v.sku.clone(),
            name: v.sku.clone(),
            unit_price_minor: v.price_minor,
            quantity: l.quantity,
            tax_rate_bp: 0,
            discount: l.discount,
        });
    }
    let totals = storefort_core::pos::price_sale(&inputs, order, true)?;
    Ok(storefort_core::pos::discount_bp(&totals))
}

fn sale_json(s: &AppState, sale: &PosSale) -> Value {
    json!({
        "order_id": sale.order_id.0,
        "number": sale.number,
        "subtotal_minor": sale.totals.subtotal_minor,
        "discount_minor": sale.totals.discount_minor,
        "tax_minor": sale.totals.tax_minor,
        "total_minor": sale.totals.total_minor,
        "tendered_minor": sale.tendered_minor,
        "change_minor": sale.change_minor,
        "total": s.cfg.currency.format(sale.totals.total_minor),
        "change": s.cfg.currency.format(sale.change_minor),
        "receipt_url": format!("/pos/receipt/{}", sale.number),
        "stock_alerts": sale.stock_alerts.iter().map(|a| json!({
            "sku": a.sku, "name": a.name, "short_by": a.short_by,
        })).collect::<Vec<_>>(),
        "replayed": sale.replayed,
    })
}

async fn receipt_address(
    s: &AppState,
    b: &SaleBody,
    customer: &Option<CustomerId>,
) -> PosResult<Option<String>> {
    if let Some(e) = b
        .receipt_email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        storefort_core::customer::validate_email(e)
            .map_err(|v| PosError::invalid("receipt_email", v.message))?;
        return Ok(Some(storefort_core::customer::normalize_email(e)));
    }
    if !b.email_receipt {
        return Ok(None);
    }
    match customer {
        Some(id) => {
            let c = s.db.customer(id).await?;
            if c.email.is_empty() {
                return Err(PosError::invalid(
                    "receipt_email",
                    "This customer has no email address; type one.",
                ));
            }
            Ok(Some(c.email))
        }
        None => Err(PosError::invalid(
            "receipt_email",
            "Type the email address for the receipt.",
        )),
    }
}

pub(super) async fn finish(s: &AppState, sale: PosSale, emailed: bool) -> PosResult<Response> {
    if emailed && !sale.replayed {
        if let Err(e) = crate::order_mail::confirmation(s, &sale.order_id).await {
            tracing::error!(error = %e.message, "could not queue a till receipt email");
        }
    }
    let status = if sale.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json({
            let mut v = sale_json(s, &sale);
            v["receipt_emailed"] = json!(emailed);
            v
        }),
    )
        .into_response())
}

pub(super) async fn refused_total(
    s: &AppState,
    till: &Till,
    e: PosError,
    who: &str,
    offline: bool,
) -> PosError {
    if e.field.as_deref() == Some("total_minor") {
        let ev = AuditEvent::new(
            if offline {
                "pos.offline_sale_refused"
            } else {
                "pos.sale_refused"
            },
            who,
            &till.client.ip.to_string(),
        )
        .on(&till.device.id)
        .outcome(Outcome::Denied)
        .details(format!("till {:?}: {}", till.device.name, e.message));
        if let Err(err) = s.db.audit(ev).await {
            tracing::error!(error = %err, "could not audit a refused till sale");
        }
        return PosError {
            code: "total_mismatch",
            ..e
        };
    }
    e
}

/// `POST /pos/api/sales`: a sale by the signed-in cashier.
pub async fn create(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<SaleBody>,
) -> PosResult<Response> {
    if b.cashier_id.is_some() || b.sold_at.is_some() {
        return Err(PosError::invalid(
            "cashier_id",
            "only offline sales carry cashier_id and sold_at",
        ));
    }
    let ls = lines(&b)?;
    let order_discount = match &b.order_discount {
        Some(d) => d.parse("order_discount")?,
        None => Discount::None,
    };
    let ts = tenders(&b)?;
    let settings = s.db.pos_settings().await?;
    let limit = match c.role {
        Role::Cashier => settings.cashier_discount_limit_bp,
        _ => 10_000,
    };
    let asked = requested_discount_bp(&s, &ls, &order_discount).await?;
    let approved_by = if asked > limit {
        let Some(a) = &b.approver else {
            return Err(PosError::approval_required(format!(
                "A discount of {} is above your limit of {}: a manager must approve it with their PIN.",
                percent(asked),
                percent(limit)
            )));
        };
        Some(approve(&s, &c, a, &format!("a {} discount", percent(asked))).await?)
    } else {
        None
    };
    let customer = b.customer_id.as_ref().map(|id| CustomerId(id.clone()));
    let email = receipt_address(&s, &b, &customer).await?;
    // Every sale belongs to a shift, so its cash is in a count and a Z report.
    let Some(shift) = s.db.open_shift_of(&c.till.device.id).await? else {
        return Err(PosError::new(
            StatusCode::CONFLICT,
            "no_shift",
            "No shift is open on this till. Open one with the float you counted, then take the payment.",
        ));
    };
    let input = PosSaleInput {
        sale_key: b.key.clone(),
        device_id: c.till.device.id.clone(),
        cashier_id: c.user_id.clone(),
        approved_by,
        customer_id: customer,
        receipt_email: email.clone(),
        lines: ls,
        order_discount,
        tenders: ts,
        expected_total_minor: b.total_minor,
        offline: false,
        sold_at: s.db.now(),
        shift_id: Some(shift.id),
    };
    let user = s.db.user(&c.user_id).await?;
    match s.db.create_pos_sale(&input).await {
        Ok(sale) => finish(&s, sale, email.is_some()).await,
        Err(e) => Err(refused_total(&s, &c.till, e.into(), &user.email, false).await),
    }
}

pub(super) fn percent(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}%", bp / 100)
    } else {
        format!("{}.{:02}%", bp / 100, bp % 100)
    }
}

/// `GET /pos/api/sales/{number}`: a till sale with what can still be refunded.
pub async fn show(
    State(s): State<AppState>,
    _c: Cashier,
    Path(number): Path<String>,
) -> PosResult<Json<Value>> {
    let n = super::receipt::parse_number(&number)?;
    let v = s.db.pos_sale(n).await?;
    Ok(Json(json!({
        "sale": sale_json(&s, &v.sale),
        "sold_at": v.sale.sold_at,
        "cashier": v.sale.cashier_name,
        "lines": v.lines.iter().map(|l| json!({
            "position": l.position, "variant_id": l.variant_id, "sku": l.sku, "name": l.name,
            "unit_price_minor": l.unit_price_minor, "quantity": l.quantity,
            "refundable_quantity": l.quantity - l.refunded_quantity,
            "discount_minor": l.discount_minor, "total_minor": l.total_minor,
        })).collect::<Vec<_>>(),
        "payments": v.sale.payments.iter().map(|p| json!({
            "method": if p.gateway == "cash" { "cash" } else { "card" },
            "amount_minor": p.amount_minor, "refunded_minor": p.refunded_minor,
            "brand": p.card_brand, "last4": p.card_last4,
        })).collect::<Vec<_>>(),
        "refunded_minor": v.refunds.iter().map(|r| r.amount_minor).sum::<i64>(),
    })))
}

/// `POST /pos/api/sales/{number}/email`: send the receipt again to the address taken at the sale.
pub async fn email(
    State(s): State<AppState>,
    _c: Cashier,
    Path(number): Path<String>,
) -> PosResult<StatusCode> {
    let n = super::receipt::parse_number(&number)?;
    let v = s.db.pos_sale(n).await?;
    let d = s.db.order_detail(&v.sale.order_id).await?;
    if d.record.email.is_empty() {
        return Err(PosError::new(
            StatusCode::CONFLICT,
            "no_email",
            "No email address was taken with this sale.",
        ));
    }
    crate::order_mail::confirmation(&s, &v.sale.order_id).await?;
    Ok(StatusCode::ACCEPTED)
}
