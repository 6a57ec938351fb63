//! What the till sells: the catalog for its offline cache (paged), search by name / SKU /
//! barcode, a scanned code, and customers looked up by email or phone to attach to a sale
//! (never cached on the device; every lookup is audited).

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use storefort_store::audit::AuditEvent;

use super::error::{PosError, PosResult};
use super::till::Cashier;
use super::PosJson;
use crate::extract::ApiQuery;
use crate::AppState;

/// Largest page of `items`.
const MAX_PAGE: i64 = 2_000;
/// Most search results shown.
const MAX_RESULTS: i64 = 60;

/// `GET /pos/api/items` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    /// Continue after this variant ID.
    pub after: Option<String>,
    /// Page size (1-2000, default 500).
    pub limit: Option<i64>,
}

/// `GET /pos/api/items`: a page of the catalog at this till's location, for its offline cache.
pub async fn items(
    State(s): State<AppState>,
    c: Cashier,
    ApiQuery(q): ApiQuery<ItemsQuery>,
) -> PosResult<Json<Value>> {
    let limit = q.limit.unwrap_or(500);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(PosError::invalid(
            "limit",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let items =
        s.db.pos_items(&c.till.device.location_id, q.after.as_deref(), limit)
            .await?;
    let next = if items.len() as i64 == limit {
        items.last().map(|i| i.variant_id.clone())
    } else {
        None
    };
    let categories: Vec<Value> =
        s.db.categories()
            .await?
            .iter()
            .map(|c| json!({"id": c.id, "name": c.name}))
            .collect();
    Ok(Json(
        json!({"items": items, "next": next, "categories": categories}),
    ))
}

/// `GET /pos/api/search` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Part of a name, a SKU or a barcode (may be empty with a category).
    #[serde(default)]
    pub q: String,
    /// Only this category.
    pub category: Option<String>,
}

/// `GET /pos/api/search`: up to 60 items, exact code matches first.
pub async fn search(
    State(s): State<AppState>,
    c: Cashier,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> PosResult<Json<Value>> {
    if q.q.chars().count() > 100 {
        return Err(PosError::invalid("q", "must be at most 100 characters"));
    }
    let items =
        s.db.pos_search(
            &c.till.device.location_id,
            q.q.trim(),
            q.category.as_deref().filter(|c| !c.is_empty()),
            MAX_RESULTS,
        )
        .await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /pos/api/code/{code}`: the item with this barcode or SKU (a scanner's input).
pub async fn by_code(
    State(s): State<AppState>,
    c: Cashier,
    Path(code): Path<String>,
) -> PosResult<Json<Value>> {
    let code = code.trim();
    if code.is_empty() || code.chars().count() > 64 {
        return Err(PosError::invalid(
            "code",
            "a barcode or SKU of 1-64 characters",
        ));
    }
    // A card swiped on a keyboard-style reader types its number: refuse it, never echo it.
    // (Product barcodes that pass the Luhn check are GTINs and are looked up as usual.)
    if storefort_core::pan::find_card_number(code).is_some()
        && !storefort_core::text::gtin_valid(code)
    {
        return Err(PosError::invalid(
            "code",
            "That looks like a card number. Card numbers are never entered here; take card \
             payments on the terminal.",
        ));
    }
    match s
        .db
        .pos_item_by_code(&c.till.device.location_id, code)
        .await?
    {
        Some(item) => Ok(Json(json!({ "item": item }))),
        None => Err(PosError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("No product has the barcode or SKU {code:?}."),
        )
        .field("code")),
    }
}

/// `POST /pos/api/customers` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// A whole email address or phone number.
    pub q: String,
}

fn email_hint(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => String::new(),
    }
}

/// `POST /pos/api/customers`: find a customer by their whole email or phone number (no
/// browsing, no partial matches). Audited without the search term.
pub async fn customers(
    State(s): State<AppState>,
    c: Cashier,
    PosJson(b): PosJson<CustomerQuery>,
) -> PosResult<Json<Value>> {
    let q = b.q.trim();
    let by_email = q.contains('@');
    if q.is_empty() || q.chars().count() > 200 {
        return Err(PosError::invalid(
            "q",
            "Type the customer's email address or phone number.",
        ));
    }
    if !by_email && storefort_core::customer::validate_phone(q).is_err() {
        return Err(PosError::invalid(
            "q",
            "Type a whole email address (with @) or a phone number of 6 to 15 digits.",
        ));
    }
    let found = if by_email {
        s.db.customer_by_email(q).await?.into_iter().collect()
    } else {
        s.db.customers_by_phone(q).await?
    };
    let user = s.db.user(&c.user_id).await?;
    let ev = AuditEvent::new(
        "customers.listed",
        &user.email,
        &c.till.client.ip.to_string(),
    )
    .by(&c.user_id)
    .on("customers")
    .details(format!(
        "till {:?}: search by {}: {} found",
        c.till.device.name,
        if by_email { "email" } else { "phone" },
        found.len()
    ));
    s.db.audit(ev).await?;
    let list: Vec<Value> = found
        .iter()
        .take(10)
        .map(|cu| json!({"id": cu.id.0, "name": cu.name, "email_hint": email_hint(&cu.email)}))
        .collect();
    Ok(Json(json!({ "customers": list })))
}
