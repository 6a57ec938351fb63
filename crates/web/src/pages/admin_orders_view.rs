//! One order's admin page: status, timeline, lines with tax, totals, payments (gateway,
//! reference, card brand and last 4, the gateway's checks), refunds, the billing and shipping
//! addresses side by side, and the action forms the member's role and the order's state allow.
//! Every time the page is shown (including again after a refused form) an `order.viewed`
//! entry goes to the audit log, since it shows the customer's contact details.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::access::Permission;
use storefort_core::ids::OrderId;
use storefort_core::money::Currency;
use storefort_core::order_state::{self, OrderEvent, OrderStatus};
use storefort_store::order_read::{OrderDetail, OrderEventRow};
use storefort_store::payment_records::PaymentRow;

use super::admin::AdminChrome;
use super::admin_orders::Viewer;
use super::admin_orders_format::{address_lines, checks_text, event_label};
pub use super::admin_orders_format::{money, percent};
use super::admin_staff::log as record;
use super::render::{page, seg, utc, PageError};
use crate::auth::AdminSession;
use crate::middleware::ClientInfo;
use crate::AppState;

/// A refused action: the input at fault (to mark it) and the sentence shown.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The form input's id (`refund-amount`, `cancel-reason`, ...), or empty.
    pub input: String,
    /// What went wrong, in words a shop assistant understands.
    pub text: String,
}

impl Problem {
    /// A refusal of `input` saying `text`.
    pub fn new(input: &str, text: impl Into<String>) -> Self {
        Self {
            input: input.to_string(),
            text: text.into(),
        }
    }
}

/// What was typed into the action forms, shown again after a refusal.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    /// Fulfil: tracking number.
    pub tracking: String,
    /// Cancel: reason.
    pub cancel_reason: String,
    /// Refund: amount (decimal); `None` prefills what is left.
    pub refund_amount: Option<String>,
    /// Refund: reason.
    pub refund_reason: String,
    /// Refund: units to restock per line position.
    pub restock: HashMap<i64, String>,
    /// Note.
    pub note: String,
}

/// What the page shows besides the stored order.
#[derive(Debug, Default)]
pub struct Extras {
    /// A refused action.
    pub problem: Option<Problem>,
    /// A success notice.
    pub notice: Option<&'static str>,
    /// The forms' values.
    pub typed: Typed,
}

struct LineRow {
    position: i64,
    sku: String,
    name: String,
    unit: String,
    quantity: i64,
    discount: String,
    tax_rate: String,
    tax: String,
    total: String,
    refunded_quantity: i64,
    restock_left: i64,
    restock_typed: String,
}

struct EventRow {
    at: String,
    what: String,
    change: String,
    actor: String,
    note: String,
}

struct PaymentView {
    gateway: String,
    reference: String,
    status: String,
    amount: String,
    captured: String,
    refunded: String,
    card: String,
    checks: String,
    message: String,
}

struct RefundView {
    at: String,
    amount: String,
    restock: bool,
    reason: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "admin_order.html")]
struct OrderPage {
    admin: AdminChrome,
    id: String,
    d: OrderDetail,
    status: &'static str,
    placed: String,
    customer_url: String,
    method: String,
    /// Sold at a till: no addresses to show (a walk-in sale has none; it is not "erased").
    till: bool,
    billing: Vec<String>,
    shipping: Vec<String>,
    lines: Vec<LineRow>,
    events: Vec<EventRow>,
    payments: Vec<PaymentView>,
    refunds: Vec<RefundView>,
    subtotal: String,
    discount: String,
    shipping_cost: String,
    tax: String,
    total: String,
    refunded: String,
    left: String,
    reserved_until: Option<String>,
    problem: Option<Problem>,
    invalid: String,
    notice: Option<&'static str>,
    typed: Typed,
    refund_amount: String,
    refund_typed: String,
    can_fulfil: bool,
    can_cancel: bool,
    can_mark_paid: bool,
    can_refund: bool,
    can_note: bool,
    /// Fraud screening's score and outcome, with the review page's address.
    screening: Option<(i64, &'static str, String)>,
}

fn status_label(s: Option<&str>) -> Option<&'static str> {
    s.map(|s| OrderStatus::parse(s).map_or("Unknown", |st| st.label()))
}

fn event_row(e: &OrderEventRow) -> EventRow {
    let change = match (
        status_label(e.from_status.as_deref()),
        status_label(e.to_status.as_deref()),
    ) {
        (Some(a), Some(b)) => format!("{a} → {b}"),
        (None, Some(b)) => b.to_string(),
        _ => String::new(),
    };
    EventRow {
        at: utc(e.at),
        what: event_label(&e.kind),
        change,
        actor: e.actor.clone(),
        note: e.note.clone(),
    }
}

fn payment_view(state: &AppState, cur: &str, p: &PaymentRow) -> PaymentView {
    let card = match (&p.card_brand, &p.card_last4) {
        (Some(b), Some(l4)) => format!("{b} ending {l4}"),
        (Some(b), None) => b.clone(),
        _ => "-".into(),
    };
    PaymentView {
        gateway: state.gateways.get(&p.gateway).map_or_else(
            || p.gateway.clone(),
            |g| format!("{} ({})", g.label(), p.gateway),
        ),
        reference: p.reference.clone(),
        status: p.status.replace('_', " "),
        amount: money(state, cur, p.amount_minor),
        captured: money(state, cur, p.captured_minor),
        refunded: money(state, cur, p.refunded_minor),
        card,
        checks: checks_text(&p.checks),
        message: p.message.clone(),
    }
}

/// Whether the order has a payment waiting for offline money (bank transfer).
pub fn waits_for_offline_money(d: &OrderDetail) -> bool {
    d.payments.iter().any(|p| p.status == "pending")
}

/// Paid in, and what is left to refund.
pub fn paid_and_left(d: &OrderDetail) -> (i64, i64) {
    let paid: i64 = d.payments.iter().map(|p| p.captured_minor).sum();
    (paid, (paid - d.summary.refunded_minor).max(0))
}

/// Render order `id` with `status`, recording the view (`why` says which page showed it).
/// Screening's score and outcome for the summary ("62, held for a phone check").
async fn screening(
    state: &AppState,
    id: &storefort_core::ids::OrderId,
) -> Result<Option<(i64, &'static str, String)>, PageError> {
    let Some(r) = state.db.order_risk(id).await? else {
        return Ok(None);
    };
    let Some(score) = r.score else {
        return Ok(None);
    };
    let what = match (r.review.as_deref(), r.decision) {
        (Some("open"), _) => "held for a phone check",
        (Some("approved"), _) => "held, approved after a check",
        (Some("cancelled"), _) => "held, cancelled after a check",
        (Some("pay_again"), _) => "held, customer asked to pay again",
        (_, Some(storefort_core::fraud::Decision::Block)) => "payment blocked",
        _ if r.reasons.iter().any(|x| x.code == "screening_off") => {
            "not acted on (screening was off)"
        }
        _ => "passed",
    };
    Ok(Some((
        score,
        what,
        format!("/admin/reviews/{}", seg(id.as_str())),
    )))
}

pub async fn order_page(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    id: &OrderId,
    status: StatusCode,
    x: Extras,
    why: &str,
) -> Result<Response, PageError> {
    let d = state.db.order_detail(id).await?;
    let details = format!("order #{}, {why}", d.summary.number);
    record(state, s, client, "order.viewed", id.as_str(), details).await?;
    let cur = d.summary.currency.clone();
    let m = |minor: i64| money(state, &cur, minor);
    let st = d.status();
    let (_, left) = paid_and_left(&d);
    let allowed = |ev: OrderEvent| st.is_some_and(|st| order_state::next(st, &ev).is_ok());
    let manage = s.can(Permission::OrdersManage);
    let erased = d.record.billing.is_none() && d.record.email.is_empty();
    let t = OrderPage {
        admin: AdminChrome::new(state, s, "orders"),
        id: seg(id.as_str()),
        status: st.map_or("Unknown", |st| st.label()),
        placed: utc(d.summary.created_at),
        customer_url: format!("/admin/customers/{}", seg(&d.summary.customer_id)),
        method: state
            .gateways
            .get(&d.summary.payment_method)
            .map_or_else(|| d.summary.payment_method.clone(), |g| g.label()),
        till: d.summary.channel == "pos",
        billing: address_lines(
            d.record.billing.as_ref(),
            if erased { "erased" } else { "-" },
        ),
        shipping: address_lines(
            d.record.shipping.as_ref(),
            if erased {
                "erased"
            } else {
                "Collection: no delivery address"
            },
        ),
        lines: d
            .lines
            .iter()
            .map(|l| LineRow {
                position: l.position,
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit: m(l.unit_price_minor),
                quantity: l.quantity,
                discount: m(l.discount_minor),
                tax_rate: percent(l.tax_rate_bp),
                tax: m(l.tax_minor),
                total: m(l.total_minor),
                refunded_quantity: l.refunded_quantity,
                restock_left: (l.quantity - l.refunded_quantity).max(0),
                restock_typed: x
                    .typed
                    .restock
                    .get(&l.position)
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
        events: d.events.iter().map(event_row).collect(),
        payments: d
            .payments
            .iter()
            .map(|p| payment_view(state, &cur, p))
            .collect(),
        refunds: d
            .refunds
            .iter()
            .map(|r| RefundView {
                at: utc(r.created_at),
                amount: m(r.amount_minor),
                restock: r.restock,
                reason: r.reason.clone(),
                actor: r.actor.clone(),
            })
            .collect(),
        subtotal: m(d.subtotal_minor),
        discount: m(d.discount_minor),
        shipping_cost: m(d.shipping_minor),
        tax: m(d.tax_minor),
        total: m(d.summary.total_minor),
        refunded: m(d.summary.refunded_minor),
        left: m(left),
        reserved_until: d.reserved_until.map(utc),
        invalid: x
            .problem
            .as_ref()
            .map(|p| p.input.clone())
            .unwrap_or_default(),
        problem: x.problem,
        notice: x.notice,
        // The most that can be refunded is a hint, never a pre-filled value: one click must
        // not refund everything.
        refund_amount: Currency::from_code(&cur)
            .unwrap_or(state.cfg.currency)
            .to_decimal(left),
        refund_typed: x.typed.refund_amount.clone().unwrap_or_default(),
        typed: x.typed,
        can_fulfil: manage && st.is_some_and(|st| st.can_fulfil()),
        can_cancel: manage && allowed(OrderEvent::Cancel),
        can_mark_paid: manage && allowed(OrderEvent::MarkPaid) && waits_for_offline_money(&d),
        can_refund: s.can(Permission::Refunds)
            && left > 0
            && matches!(
                st,
                Some(OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::PartiallyRefunded)
            ),
        can_note: manage,
        screening: screening(state, id).await?,
        d,
    };
    Ok(page(status, &t))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "fulfilled" => "Order marked as fulfilled.",
        "cancelled" => "Order cancelled. Its stock is back on the shelf.",
        "marked-paid" => "Payment recorded as received. The order is paid.",
        "refunded" => "Refund made.",
        "noted" => "Note added.",
        "confirmed" => "Password confirmed. Fill in the refund and press Refund again to go on.",
        _ => return None,
    })
}

/// `GET /admin/orders/{id}` (audited as `order.viewed`; an unknown ID is 404).
pub async fn show(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let x = Extras {
        notice: q.get("done").and_then(|d| notice_for(d)),
        ..Default::default()
    };
    let id = OrderId(id);
    order_page(&state, &s, &client, &id, StatusCode::OK, x, "order page").await
}
