//! One held order's review page: the score and every reason with its points, the customer's
//! phone (click to call) and email, billing and shipping side by side with the differing parts
//! marked, the customer's other orders, the card checks, the IP's country, the time left on
//! the authorization, the calls logged, and the forms to approve, cancel, log a call or ask the
//! customer to pay again. An order that is not (or no longer) waiting shows its screening
//! result read-only. Every showing is audited as `order.viewed` (it shows contact details).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::order_state::OrderStatus;
use storefort_store::order_read::{OrderDetail, OrderFilter};
use storefort_store::reviews::CallOutcome;

use super::admin::AdminChrome;
use super::admin_orders::order_url;
use super::admin_orders_format::money;
use super::admin_orders_view::Problem;
use super::admin_reviews::Reviewer;
use super::admin_reviews_format::{
    addresses, check_rows, decision_text, state_text, tel_of, time_left, AddressRow, CheckRow,
    TimeLeft,
};
use super::admin_staff::log as record;
use super::render::{page, seg, utc, PageError};
use crate::auth::AdminSession;
use crate::middleware::ClientInfo;
use crate::AppState;

/// Other orders of the customer shown at most.
const HISTORY: i64 = 20;

/// What was typed into the forms, shown again after a refusal.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    /// Cancel: reason.
    pub cancel_reason: String,
    /// Call: outcome (`no_answer`, ...).
    pub outcome: String,
    /// Call: note.
    pub note: String,
}

/// What the page shows besides what is stored.
#[derive(Debug, Default)]
pub struct Extras {
    /// A refused action.
    pub problem: Option<Problem>,
    /// A success notice.
    pub notice: Option<&'static str>,
    /// The forms' values.
    pub typed: Typed,
}

struct ReasonRow {
    points: String,
    text: String,
}

struct HistoryRow {
    url: String,
    number: i64,
    placed: String,
    status: &'static str,
    total: String,
}

struct CallRow {
    at: String,
    outcome: &'static str,
    note: String,
    actor: String,
}

struct LineRow {
    sku: String,
    name: String,
    quantity: i64,
    total: String,
}

struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin_review.html")]
struct ReviewPage {
    admin: AdminChrome,
    id: String,
    number: i64,
    status: &'static str,
    order_url: String,
    screened: bool,
    score: i64,
    decision: &'static str,
    state: Option<String>,
    open: bool,
    reasons: Vec<ReasonRow>,
    left: Option<TimeLeft>,
    expires: String,
    phone: String,
    tel: Option<String>,
    email: String,
    erased: bool,
    collection: bool,
    addresses: Vec<AddressRow>,
    history: Vec<HistoryRow>,
    checks: Vec<CheckRow>,
    card: String,
    ip_country: String,
    lines: Vec<LineRow>,
    total: String,
    calls: Vec<CallRow>,
    outcomes: Vec<Choice>,
    problem: Option<Problem>,
    invalid: String,
    notice: Option<&'static str>,
    typed: Typed,
}

async fn history(state: &AppState, d: &OrderDetail) -> Result<Vec<HistoryRow>, PageError> {
    let f = OrderFilter {
        customer_id: Some(CustomerId(d.summary.customer_id.clone())),
        limit: Some(HISTORY + 1),
        ..Default::default()
    };
    let found = state.db.orders_page(&f).await?;
    Ok(found
        .items
        .iter()
        .filter(|o| o.id != d.summary.id)
        .take(HISTORY as usize)
        .map(|o| HistoryRow {
            url: order_url(&o.id, ""),
            number: o.number,
            placed: utc(o.created_at),
            status: OrderStatus::parse(&o.status).map_or("Unknown", |s| s.label()),
            total: money(state, &o.currency, o.total_minor),
        })
        .collect())
}

/// Render the review page of order `id` with `status`, recording the view.
pub async fn review_page(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    id: &OrderId,
    status: StatusCode,
    x: Extras,
) -> Result<Response, PageError> {
    let d = state.db.order_detail(id).await?;
    let details = format!("order #{}, review page", d.summary.number);
    record(state, s, client, "order.viewed", id.as_str(), details).await?;
    let risk = state.db.order_risk(id).await?;
    let calls = state.db.review_calls(id).await?;
    let cur = d.summary.currency.clone();
    let now = state.db.now();
    let open = risk.as_ref().and_then(|r| r.review.as_deref()) == Some("open")
        && d.status() == Some(OrderStatus::OnHold);
    let rec = &d.record;
    let billing_country = rec.billing.as_ref().map_or("", |b| b.country.as_str());
    let (address_table, collection) = addresses(rec);
    let card = d
        .payments
        .iter()
        .rev()
        .find_map(|p| match (&p.card_brand, &p.card_last4) {
            (Some(b), Some(l4)) => Some(format!("{} ending {l4}", super::render::capitalize(b))),
            (Some(b), None) => Some(super::render::capitalize(b)),
            _ => None,
        })
        .unwrap_or_else(|| "-".into());
    let t = ReviewPage {
        admin: AdminChrome::new(state, s, "reviews"),
        id: seg(id.as_str()),
        number: d.summary.number,
        status: d.status().map_or("Unknown", |st| st.label()),
        order_url: order_url(id.as_str(), ""),
        screened: risk.as_ref().is_some_and(|r| r.score.is_some()),
        score: risk.as_ref().and_then(|r| r.score).unwrap_or(0),
        decision: if risk
            .as_ref()
            .is_some_and(|r| r.reasons.iter().any(|x| x.code == "screening_off"))
        {
            "Not acted on: screening was off, the payment was taken without a check"
        } else {
            decision_text(risk.as_ref().and_then(|r| r.decision))
        },
        state: risk.as_ref().and_then(state_text),
        open,
        reasons: risk
            .as_ref()
            .map(|r| {
                r.reasons
                    .iter()
                    .map(|x| ReasonRow {
                        points: format!("{:+}", x.points),
                        text: x.text.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        left: risk
            .as_ref()
            .and_then(|r| r.auth_expires_at)
            .map(|at| time_left(now, at)),
        expires: risk
            .as_ref()
            .and_then(|r| r.auth_expires_at)
            .map(utc)
            .unwrap_or_default(),
        tel: tel_of(&rec.phone, billing_country),
        phone: rec.phone.clone(),
        email: rec.email.clone(),
        erased: rec.billing.is_none() && rec.email.is_empty(),
        collection,
        addresses: address_table,
        history: history(state, &d).await?,
        checks: check_rows(&risk.as_ref().map(|r| r.checks).unwrap_or_default()),
        card,
        ip_country: risk
            .as_ref()
            .and_then(|r| r.ip_country.clone())
            .unwrap_or_default(),
        lines: d
            .lines
            .iter()
            .map(|l| LineRow {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                total: money(state, &cur, l.total_minor),
            })
            .collect(),
        total: money(state, &cur, d.summary.total_minor),
        calls: calls
            .iter()
            .map(|c| CallRow {
                at: utc(c.at),
                outcome: c.outcome.label(),
                note: c.note.clone(),
                actor: c.actor.clone(),
            })
            .collect(),
        outcomes: CallOutcome::ALL
            .iter()
            .map(|o| Choice {
                value: o.as_str(),
                label: o.label(),
                selected: o.as_str() == x.typed.outcome,
            })
            .collect(),
        invalid: x
            .problem
            .as_ref()
            .map(|p| p.input.clone())
            .unwrap_or_default(),
        problem: x.problem,
        notice: x.notice,
        typed: x.typed,
    };
    Ok(page(status, &t))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "approved" => "Approved: the payment was taken and the order can be fulfilled.",
        "cancelled" => {
            "Order cancelled: the card authorization was released, the stock put back and the \
             customer told."
        }
        "called" => "Call logged.",
        "pay-again" => {
            "The customer was emailed a link to pay again; the order waits for their payment \
             for 48 hours."
        }
        _ => return None,
    })
}

/// `GET /admin/reviews/{id}` (audited as `order.viewed`; an unknown ID is 404).
pub async fn show(
    s: Reviewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let x = Extras {
        notice: q.get("done").and_then(|d| notice_for(d)),
        ..Default::default()
    };
    review_page(&state, &s, &client, &OrderId(id), StatusCode::OK, x).await
}
