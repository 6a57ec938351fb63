//! Orders through the API. A shopper opens their own order with the `X-Order-Token` that
//! checkout returned (a wrong token is answered exactly like an unknown order: 404). Staff list
//! and open orders with the OrdersView permission; each listing and each opened order is
//! audited (`orders.listed`, `order.viewed`), as on the admin pages, since they show contact
//! details. Changes to orders are in [`super::order_actions`].

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use storefort_core::ids::{CustomerId, OrderId};
use storefort_core::model::Page;
use storefort_core::order_state::OrderStatus;
use storefort_store::audit::AuditEvent;
use storefort_store::db::looks_like_id;
use storefort_store::order_read::{OrderDetail, OrderFilter, OrderSummary};
use storefort_store::StoreError;
use utoipa::{IntoParams, ToSchema};

use super::cart::header;
use crate::auth::{perm, Api, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::middleware::ClientInfo;
use crate::AppState;

/// The header carrying an order's access token.
pub const ORDER_TOKEN_HEADER: &str = "X-Order-Token";

/// The `X-Order-Token` header. Missing: 401 naming it.
#[derive(Debug, Clone)]
pub struct OrderToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OrderToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        header(parts, ORDER_TOKEN_HEADER)?
            .map(OrderToken)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "send the order's access_token (from the checkout answer) in the \
                     X-Order-Token header",
                )
                .field(ORDER_TOKEN_HEADER)
            })
    }
}

/// Write an audit entry for a staff action through the API (`actor` is the staff email or the
/// key's name; `details` never hold personal data).
pub(crate) async fn record(
    state: &AppState,
    p: &Principal,
    client: &ClientInfo,
    action: &str,
    target: &str,
    details: String,
) -> ApiResult<()> {
    let mut ev = AuditEvent::new(action, &p.actor(), &client.ip.to_string())
        .on(target)
        .details(details);
    if let Some(id) = p.user_id() {
        ev = ev.by(id);
    }
    crate::login::audit(state, ev).await
}

/// The order `id` names, or 404 (also for IDs that cannot be ours).
pub(crate) fn order_id(id: &str) -> ApiResult<OrderId> {
    if looks_like_id(id) {
        Ok(OrderId(id.to_string()))
    } else {
        Err(StoreError::not_found("order", id).into())
    }
}

/// A line as the shopper sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShopperLine {
    /// Name at the time of the order.
    pub name: String,
    /// SKU.
    pub sku: String,
    /// Quantity.
    pub quantity: i64,
    /// Unit price (as entered in the catalog).
    pub unit_price_minor: i64,
    /// Discount on the line.
    pub discount_minor: i64,
    /// Tax on the line.
    pub tax_minor: i64,
    /// What the line cost, tax included.
    pub total_minor: i64,
}

/// A payment as the shopper sees it: no references, no checks.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShopperPayment {
    /// Payment method (gateway ID).
    pub method: String,
    /// `requires_action`, `pending`, `authorized`, `captured`, `voided` or `failed`.
    pub status: String,
    /// Card brand, when paid by card.
    pub card_brand: Option<String>,
    /// Last 4 digits of the card.
    pub card_last4: Option<String>,
}

/// The shopper's view of their order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShopperOrder {
    /// ID.
    pub id: String,
    /// Order number.
    pub number: i64,
    /// Status (`pending_payment`, `paid`, ...).
    pub status: String,
    /// The status in words ("Awaiting payment").
    pub status_label: String,
    /// Currency (ISO 4217).
    pub currency: String,
    /// Lines.
    pub lines: Vec<ShopperLine>,
    /// Goods before discount.
    pub subtotal_minor: i64,
    /// Discount.
    pub discount_minor: i64,
    /// Discount code used.
    pub discount_code: Option<String>,
    /// Delivery option.
    pub shipping_method: String,
    /// Shipping, tax included.
    pub shipping_minor: i64,
    /// All tax.
    pub tax_minor: i64,
    /// Total charged.
    pub total_minor: i64,
    /// Refunded so far.
    pub refunded_minor: i64,
    /// Prices were entered with tax included.
    pub prices_include_tax: bool,
    /// Tracking number, once sent.
    pub tracking: String,
    /// While awaiting payment, the items are kept until then (UTC ms).
    pub reserved_until: Option<i64>,
    /// Payments (brand and last 4 digits only).
    pub payments: Vec<ShopperPayment>,
    /// Why the last payment attempt failed, while the order still awaits payment.
    pub payment_problem: Option<String>,
    /// The shop's payment step, to pay (again) while the order awaits payment.
    pub pay_url: Option<String>,
    /// Placed (UTC ms).
    pub created_at: i64,
}

fn shopper_view(state: &AppState, d: OrderDetail, token: &str) -> ShopperOrder {
    let status = d.status();
    let pending = status == Some(OrderStatus::PendingPayment);
    let order = OrderId(d.summary.id.clone());
    ShopperOrder {
        status_label: status.map(|s| s.label().to_string()).unwrap_or_default(),
        payment_problem: d
            .payments
            .last()
            .filter(|p| pending && p.status == "failed")
            .map(|p| p.message.clone()),
        pay_url: pending.then(|| super::checkout::links(state, &order, token).1),
        lines: d
            .lines
            .iter()
            .map(|l| ShopperLine {
                name: l.name.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                discount_minor: l.discount_minor,
                tax_minor: l.tax_minor,
                total_minor: l.total_minor,
            })
            .collect(),
        payments: d
            .payments
            .iter()
            .map(|p| ShopperPayment {
                method: p.gateway.clone(),
                status: p.status.clone(),
                card_brand: p.card_brand.clone(),
                card_last4: p.card_last4.clone(),
            })
            .collect(),
        id: d.summary.id,
        number: d.summary.number,
        status: d.summary.status,
        currency: d.summary.currency,
        subtotal_minor: d.subtotal_minor,
        discount_minor: d.discount_minor,
        discount_code: d.discount_code,
        shipping_method: d.shipping_method,
        shipping_minor: d.shipping_minor,
        tax_minor: d.tax_minor,
        total_minor: d.summary.total_minor,
        refunded_minor: d.summary.refunded_minor,
        prices_include_tax: d.prices_include_tax,
        tracking: d.tracking,
        reserved_until: d.reserved_until,
        created_at: d.summary.created_at,
    }
}

/// The shopper's own order. While it awaits payment, the gateway is asked where any
/// unfinished payment stands first (as when the shopper comes back from its page), so the
/// answer is current. A wrong token is 404, like an unknown order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(()),
    params(("id" = String, Path), ("X-Order-Token" = String, Header, description = "The access_token from checkout")),
    responses((status = 200, body = ShopperOrder), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn shopper_order(
    State(s): State<AppState>,
    OrderToken(token): OrderToken,
    Path(id): Path<String>,
) -> ApiResult<Json<ShopperOrder>> {
    let order = order_id(&id)?;
    if !s.db.order_access_ok(&order, &token) {
        // The same answer as an unknown order: nothing tells a guesser that it exists.
        return Err(StoreError::not_found("order", &id).into());
    }
    let mut d = s.db.order_detail(&order).await?;
    if d.status() == Some(OrderStatus::PendingPayment) {
        let waiting: Vec<String> = d
            .payments
            .iter()
            .filter(|p| p.status == "requires_action")
            .map(|p| p.reference.clone())
            .collect();
        for reference in &waiting {
            if let Err(e) = crate::payment_flow::refresh(&s, &order, reference).await {
                tracing::warn!(order = %order.0, error = %e.message, "could not refresh a payment");
            }
        }
        if !waiting.is_empty() {
            d = s.db.order_detail(&order).await?;
        }
    }
    Ok(Json(shopper_view(&s, d, &token)))
}

/// Filters for the staff order list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only this status (`pending_payment`, `authorized`, `on_hold`, `paid`, `fulfilled`,
    /// `cancelled`, `partially_refunded`, `refunded`).
    pub status: Option<String>,
    /// Placed at or after (UTC ms).
    pub from: Option<i64>,
    /// Placed before (UTC ms).
    pub to: Option<i64>,
    /// Only this channel (`web`, `api`, `pos`).
    pub channel: Option<String>,
    /// Only this payment method (gateway ID).
    pub payment_method: Option<String>,
    /// Only this customer's orders.
    pub customer_id: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1-100 (default 50).
    pub limit: Option<i64>,
}

fn bad_param(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).field(field)
}

fn filter_of(q: ListParams) -> ApiResult<(OrderFilter, String)> {
    let mut described = Vec::new();
    if let Some(st) = &q.status {
        if OrderStatus::parse(st).is_none() {
            return Err(bad_param(
                "status",
                "not an order status (e.g. paid, on_hold)",
            ));
        }
        described.push(format!("status={st}"));
    }
    if let Some(c) = &q.channel {
        if !["web", "api", "pos"].contains(&c.as_str()) {
            return Err(bad_param("channel", "use web, api or pos"));
        }
        described.push(format!("channel={c}"));
    }
    if let Some(p) = &q.payment_method {
        if p.is_empty()
            || p.len() > 40
            || !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad_param(
                "payment_method",
                "use a payment method ID such as sandbox",
            ));
        }
        described.push(format!("payment_method={p}"));
    }
    if let (Some(f), Some(t)) = (q.from, q.to) {
        if f >= t {
            return Err(bad_param("to", "must be later than from"));
        }
    }
    for (name, v) in [("from", q.from), ("to", q.to)] {
        if let Some(v) = v {
            described.push(format!("{name}={v}"));
        }
    }
    if let Some(c) = &q.customer_id {
        if !looks_like_id(c) {
            return Err(bad_param("customer_id", "not a customer ID"));
        }
        described.push("one customer".into());
    }
    if let Some(l) = q.limit {
        if !(1..=100).contains(&l) {
            return Err(bad_param("limit", "choose a page size from 1 to 100"));
        }
    }
    let details = if described.is_empty() {
        "no filters".to_string()
    } else {
        format!("filters: {}", described.join(", "))
    };
    Ok((
        OrderFilter {
            status: q.status,
            from: q.from,
            to: q.to,
            channel: q.channel,
            payment_method: q.payment_method,
            customer_id: q.customer_id.map(CustomerId),
            limit: q.limit,
            cursor: q.cursor,
        },
        details,
    ))
}

/// Orders, newest first (audited as `orders.listed` with the filters used).
#[utoipa::path(get, path = "/api/v1/admin/orders", tag = "orders", params(ListParams),
    responses((status = 200, body = Page<OrderSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list(
    p: Api<perm::OrdersView>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<OrderSummary>>> {
    let later = q.cursor.is_some();
    let (f, filters) = filter_of(q)?;
    let page = s.db.orders_page(&f).await?;
    let details = format!(
        "{} shown, {} page, {filters}, via the API",
        page.items.len(),
        if later { "a later" } else { "the first" },
    );
    record(&s, &p, &client, "orders.listed", "orders", details).await?;
    Ok(Json(page))
}

/// Everything about one order (audited as `order.viewed`).
#[utoipa::path(get, path = "/api/v1/admin/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn detail(
    p: Api<perm::OrdersView>,
    State(s): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderDetail>> {
    let order = order_id(&id)?;
    let d = s.db.order_detail(&order).await?;
    let details = format!("order #{}, via the API", d.summary.number);
    record(&s, &p, &client, "order.viewed", &d.summary.id, details).await?;
    Ok(Json(d))
}
