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
use storefort_core::order_state::OrderStatus;
use storefort_store::order_read::OrderSummary;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_orders_actions as actions;
use super::admin_orders_filters::{
    known_methods, read_filters, refuse, Filters, Refusal, CHANNELS,
};
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
    let (mut f, refusal) = read_filters(&state, &q, PER_PAGE);
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
        if cursor.is_some() {
            "a later"
        } else {
            "the first"
        },
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
