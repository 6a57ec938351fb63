//! Admin order list: newest first, 50 a page, filtered by status, dates, channel, payment
//! method and customer (the customer page links here with `?customer=`), plus a search by the
//! customer's email. The order page is in [`super::admin_orders_view`]; its actions in
//! [`super::admin_orders_actions`] and [`super::admin_orders_refund`].
//!
//! Every listing is recorded in the audit log (`orders.listed`) with the filters used, never
//! an email address. The email search is a posted form, so addresses stay out of browser
//! history and logs; it leads to the customer's orders by ID.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::ids::CustomerId;
use storefort_core::order_state::OrderStatus;
use storefort_store::order_read::{OrderFilter, OrderSummary};

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_orders_actions as actions;
use super::admin_orders_refund as refund;
use super::admin_orders_view as view;
use super::admin_staff::log as record;
use super::render::{page, seg, url_with, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Staff who may see orders (every role).
pub type Viewer = Admin<perm::OrdersView>;
/// Staff who may change orders: fulfil, cancel, mark paid, add notes (owners and managers).
pub type Manager = Admin<perm::OrdersManage>;
/// Staff who may refund (owners and managers).
pub type Refunder = Admin<perm::Refunds>;

/// Orders per list page.
const PER_PAGE: i64 = 50;
/// The list page.
const LIST: &str = "/admin/orders";
/// Channels an order can come from.
const CHANNELS: [(&str, &str); 3] = [("web", "Web shop"), ("api", "API"), ("pos", "Till (POS)")];
/// Payment methods an order may carry even when the gateway is not configured any more.
const KNOWN_METHODS: [&str; 4] = ["cash", "manual", "sandbox", "stripe"];

/// This module's routes (the list, the order page and its actions).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(search))
        .route("/admin/orders/{id}", get(view::show))
        .route("/admin/orders/{id}/fulfil", post(actions::fulfil))
        .route("/admin/orders/{id}/cancel", post(actions::cancel))
        .route("/admin/orders/{id}/mark-paid", post(actions::mark_paid))
        .route("/admin/orders/{id}/notes", post(actions::note))
        .route("/admin/orders/{id}/refund", post(refund::refund))
}

/// The page of order `id`, with a `done` notice (empty for none).
pub fn order_url(id: &str, done: &str) -> String {
    let path = format!("{LIST}/{}", seg(id));
    if done.is_empty() {
        path
    } else {
        url_with(&path, &[("done", done)])
    }
}

/// A choice in a filter's drop-down.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct Row {
    url: String,
    number: i64,
    placed: String,
    email: String,
    status: &'static str,
    total: String,
    method: String,
}

/// The filters as typed (kept in the form) and as the store takes them.
#[derive(Default)]
struct Filters {
    status: String,
    from: String,
    to: String,
    channel: String,
    payment: String,
    customer: String,
    store: OrderFilter,
}

impl Filters {
    /// The query parameters that reproduce these filters (for the next-page link).
    fn params(&self) -> Vec<(&'static str, &str)> {
        [
            ("status", self.status.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("channel", self.channel.as_str()),
            ("payment", self.payment.as_str()),
            ("customer", self.customer.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    /// Which filters are set, for the audit entry (status, channel and method values are not
    /// personal; the customer is only named as a filter).
    fn described(&self) -> String {
        let mut out = Vec::new();
        for (name, v) in [
            ("status", &self.status),
            ("channel", &self.channel),
            ("payment", &self.payment),
        ] {
            if !v.is_empty() {
                out.push(format!("{name}={v}"));
            }
        }
        for (name, v) in [("from", &self.from), ("to", &self.to)] {
            if !v.is_empty() {
                out.push(format!("{name}={v}"));
            }
        }
        if !self.customer.is_empty() {
            out.push("one customer".into());
        }
        if out.is_empty() {
            "no filters".into()
        } else {
            format!("filters: {}", out.join(", "))
        }
    }
}

/// A refused filter: the input's name and the sentence shown.
struct Refusal {
    field: &'static str,
    text: String,
}

fn refuse(field: &'static str, label: &str, message: &str) -> Refusal {
    Refusal {
        field,
        text: format!("{label}: {message}"),
    }
}

/// `YYYY-MM-DD` as the UTC midnight starting that day (ms).
pub fn day_start(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn known_methods(state: &AppState) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = state
        .gateways
        .all()
        .iter()
        .map(|g| (g.id().to_string(), g.label()))
        .collect();
    for id in KNOWN_METHODS {
        if !out.iter().any(|(i, _)| i == id) {
            out.push((id.to_string(), id.to_string()));
        }
    }
    out
}

fn read_filters(state: &AppState, q: &HashMap<String, String>) -> (Filters, Option<Refusal>) {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut f = Filters {
        status: get("status"),
        from: get("from"),
        to: get("to"),
        channel: get("channel"),
        payment: get("payment"),
        customer: get("customer"),
        store: OrderFilter {
            limit: Some(PER_PAGE),
            ..Default::default()
        },
    };
    let mut refusal = None;
    if !f.status.is_empty() {
        match OrderStatus::parse(&f.status) {
            Some(s) => f.store.status = Some(s.as_str().into()),
            None => refusal = Some(refuse("status", "Status", "choose one of the listed statuses")),
        }
    }
    if !f.channel.is_empty() {
        if CHANNELS.iter().any(|(c, _)| *c == f.channel) {
            f.store.channel = Some(f.channel.clone());
        } else {
            refusal = Some(refuse("channel", "Channel", "choose web shop, API or till"));
        }
    }
    if !f.payment.is_empty() {
        if known_methods(state).iter().any(|(id, _)| *id == f.payment) {
            f.store.payment_method = Some(f.payment.clone());
        } else {
            refusal = Some(refuse("payment", "Payment method", "choose one of the listed methods"));
        }
    }
    for (field, label) in [("from", "From date"), ("to", "To date")] {
        let text = if field == "from" { &f.from } else { &f.to };
        if text.is_empty() {
            continue;
        }
        match day_start(text) {
            // "To" includes the whole day.
            Some(ms) if field == "to" => f.store.to = Some(ms + DAY_MS),
            Some(ms) => f.store.from = Some(ms),
            None => {
                refusal = Some(refuse(field, label, "enter a date like 2025-03-31 (YYYY-MM-DD)"))
            }
        }
    }
    if let (Some(a), Some(b)) = (f.store.from, f.store.to) {
        if a >= b {
            refusal = Some(refuse("to", "To date", "must be on or after the from date"));
        }
    }
    if !f.customer.is_empty() {
        f.store.customer_id = Some(CustomerId(f.customer.clone()));
    }
    (f, refusal)
}

#[derive(Template)]
#[template(path = "admin_orders.html")]
struct ListPage {
    admin: AdminChrome,
    rows: Vec<Row>,
    statuses: Vec<Choice>,
    channels: Vec<Choice>,
    methods: Vec<Choice>,
    from: String,
    to: String,
    /// The customer filter's page, when one customer's orders are shown.
    customer_url: Option<String>,
    q: String,
    /// The email search found nobody.
    nobody: bool,
    error: Option<String>,
    /// The refused input's name (empty when none), to mark it.
    invalid: &'static str,
    next_url: Option<String>,
}

fn choices(all: Vec<(String, String)>, chosen: &str) -> Vec<Choice> {
    all.into_iter()
        .map(|(value, label)| Choice {
            selected: value == chosen,
            value,
            label,
        })
        .collect()
}

fn row(state: &AppState, o: &OrderSummary) -> Row {
    let method = state
        .gateways
        .get(&o.payment_method)
        .map(|g| g.label())
        .unwrap_or_else(|| o.payment_method.clone());
    Row {
        url: order_url(&o.id, ""),
        number: o.number,
        placed: utc(o.created_at),
        email: o.email.clone(),
        status: OrderStatus::parse(&o.status).map_or("Unknown", |s| s.label()),
        total: view::money(state, &o.currency, o.total_minor),
        method,
    }
}

struct Shown {
    rows: Vec<Row>,
    q: String,
    nobody: bool,
    refusal: Option<Refusal>,
    next_url: Option<String>,
}

fn list_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    f: &Filters,
    shown: Shown,
) -> Response {
    let statuses = OrderStatus::ALL
        .iter()
        .map(|st| (st.as_str().to_string(), st.label().to_string()))
        .collect();
    let channels = CHANNELS
        .iter()
        .map(|(c, l)| (c.to_string(), l.to_string()))
        .collect();
    let (error, invalid) = match shown.refusal {
        Some(r) => (Some(r.text), r.field),
        None => (None, ""),
    };
    page(
        status,
        &ListPage {
            admin: AdminChrome::new(state, s, "orders"),
            rows: shown.rows,
            statuses: choices(statuses, &f.status),
            channels: choices(channels, &f.channel),
            methods: choices(known_methods(state), &f.payment),
            from: f.from.clone(),
            to: f.to.clone(),
            customer_url: (!f.customer.is_empty())
                .then(|| format!("/admin/customers/{}", seg(&f.customer))),
            q: shown.q,
            nobody: shown.nobody,
            error,
            invalid,
            next_url: shown.next_url,
        },
    )
}

/// `GET /admin/orders?status=&from=&to=&channel=&payment=&customer=&cursor=` (audited as
/// `orders.listed`). A refused filter shows the form again with 422 and no orders.
pub async fn list(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (mut f, refusal) = read_filters(&state, &q);
    let cursor = q.get("cursor").map(|c| c.trim()).filter(|c| !c.is_empty());
    let broken = || {
        PageError::bad_request(
            "That page link is broken or out of date. Please start again from the first page.",
        )
    };
    if !f.customer.is_empty() && !storefort_store::db::looks_like_id(&f.customer) {
        return Err(broken());
    }
    if refusal.is_some() {
        let shown = Shown {
            rows: Vec::new(),
            q: String::new(),
            nobody: false,
            refusal,
            next_url: None,
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(list_page(&state, &s, status, &f, shown));
    }
    f.store.cursor = cursor.map(str::to_string);
    let found = state.db.orders_page(&f.store).await?;
    let details = format!(
        "{} shown, {} page, {}",
        found.items.len(),
        if cursor.is_some() { "a later" } else { "the first" },
        f.described()
    );
    record(&state, &s, &client, "orders.listed", "orders", details).await?;
    let next_url = found.next_cursor.as_deref().map(|c| {
        let mut params = f.params();
        params.push(("cursor", c));
        url_with(LIST, &params)
    });
    let shown = Shown {
        rows: found.items.iter().map(|o| row(&state, o)).collect(),
        q: String::new(),
        nobody: false,
        refusal: None,
        next_url,
    };
    Ok(list_page(&state, &s, StatusCode::OK, &f, shown))
}

/// `POST /admin/orders` (field `q`, a whole email address, any case): the customer's orders
/// (303 to the list filtered by their ID), or the list saying nobody has that email. Audited
/// as `orders.listed` without the address.
pub async fn search(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = checked_form(&s, &body)?;
    let q = form.text("q");
    let f = Filters::default();
    if !q.contains('@') || q.chars().count() > 254 {
        let shown = Shown {
            rows: Vec::new(),
            q,
            nobody: false,
            refusal: Some(refuse(
                "q",
                "Customer email",
                "type the customer's whole email address (with @)",
            )),
            next_url: None,
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(list_page(&state, &s, status, &f, shown));
    }
    match state.db.customer_by_email(&q).await? {
        Some(c) => Ok(see_other(&url_with(LIST, &[("customer", c.id.as_str())]))),
        None => {
            let details = "search by email: no customer found";
            record(&state, &s, &client, "orders.listed", "orders", details).await?;
            let shown = Shown {
                rows: Vec::new(),
                q,
                nobody: true,
                refusal: None,
                next_url: None,
            };
            Ok(list_page(&state, &s, StatusCode::OK, &f, shown))
        }
    }
}
