//! One customer's admin page: their details, saved addresses and orders, the edit form and the
//! address forms. Every time the page is shown (including again after a refused form) a
//! `customer.viewed` entry goes to the audit log; every change is audited too.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use storefort_core::access::Permission;
use storefort_core::customer::{normalize_email, Address, Customer, OrderRecord};
use storefort_core::ids::{AddressId, CustomerId};
use storefort_core::money::Currency;

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_customers::{customer_url, record, Editor, Viewer};
use super::admin_customers_form::{erased, field_error, CustomerForm, FieldError};
use super::render::{page, seg, utc, FormData, PageError};
use crate::auth::AdminSession;
use crate::middleware::ClientInfo;
use crate::AppState;

/// What was typed into the add-address form.
#[derive(Debug, Clone, Default)]
pub struct AddressForm {
    /// "Home", "Work" (may be empty).
    pub label: String,
    /// The address (country upper-cased).
    pub address: Address,
}

impl AddressForm {
    fn read(f: &FormData) -> Self {
        Self {
            label: f.text("label"),
            address: Address {
                name: f.text("name"),
                line1: f.text("line1"),
                line2: f.text("line2"),
                city: f.text("city"),
                region: f.text("region"),
                postcode: f.text("postcode"),
                country: f.text("country").to_uppercase(),
            },
        }
    }
}

/// What the page shows besides the stored customer.
#[derive(Debug, Default)]
pub struct Extras {
    /// The edit form's values (typed ones after an error).
    pub form: Option<CustomerForm>,
    /// The add-address form's values.
    pub address: AddressForm,
    /// A refused field.
    pub error: Option<FieldError>,
    /// A success notice.
    pub notice: Option<&'static str>,
}

struct AddressRow {
    id: String,
    label: String,
    text: String,
}

struct OrderRow {
    url: String,
    number: i64,
    placed: String,
    status: String,
    total: String,
    billing: String,
    shipping: String,
}

#[derive(Template)]
#[template(path = "admin_customer.html")]
struct DetailPage {
    admin: AdminChrome,
    id: String,
    c: Customer,
    kind: &'static str,
    created: String,
    updated: String,
    erased_on: Option<String>,
    form: CustomerForm,
    add: AddressForm,
    addresses: Vec<AddressRow>,
    orders: Vec<OrderRow>,
    error: Option<FieldError>,
    /// The refused field's name (empty when none), to mark its input.
    invalid: String,
    notice: Option<&'static str>,
    can_edit: bool,
    can_privacy: bool,
}

/// An address on one line; empty parts left out.
pub fn one_line(a: &Address) -> String {
    [
        &a.name,
        &a.line1,
        &a.line2,
        &a.city,
        &a.region,
        &a.postcode,
        &a.country,
    ]
    .iter()
    .map(|p| p.trim())
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

fn order_row(state: &AppState, o: &OrderRecord, erased: bool) -> OrderRow {
    let total = match Currency::from_code(&o.currency) {
        Ok(c) => c.format(o.total_minor),
        Err(_) => format!(
            "{} {}",
            state.cfg.currency.to_decimal(o.total_minor),
            o.currency
        ),
    };
    let gone = if erased { "erased" } else { "-" };
    OrderRow {
        url: format!("/admin/orders/{}", seg(o.id.as_str())),
        number: o.number,
        placed: utc(o.created_at),
        status: o.status.replace('_', " "),
        total,
        billing: o.billing.as_ref().map(one_line).unwrap_or(gone.into()),
        shipping: o
            .shipping
            .as_ref()
            .map(one_line)
            .unwrap_or(if erased { "erased" } else { "collection" }.into()),
    }
}

/// Render customer `c`'s page with `status`, recording the view (`why` says which page showed
/// it; it never holds personal data).
pub async fn detail_page(
    state: &AppState,
    s: &AdminSession,
    client: &ClientInfo,
    c: Customer,
    status: StatusCode,
    x: Extras,
    why: &str,
) -> Result<Response, PageError> {
    let orders = state.db.orders_of_customer(&c.id).await?;
    record(state, s, client, "customer.viewed", c.id.as_str(), why).await?;
    let erased = c.erased_at.is_some();
    let invalid = x
        .error
        .as_ref()
        .map(|e| e.field.clone())
        .unwrap_or_default();
    let t = DetailPage {
        admin: AdminChrome::new(state, s, "customers"),
        id: seg(c.id.as_str()),
        kind: if c.has_account {
            "Shopper account"
        } else {
            "Guest"
        },
        created: utc(c.created_at),
        updated: utc(c.updated_at),
        erased_on: c.erased_at.map(utc),
        form: x.form.unwrap_or_else(|| CustomerForm::of(&c)),
        add: x.address,
        addresses: c
            .addresses
            .iter()
            .map(|a| AddressRow {
                id: seg(a.id.as_str()),
                label: a.label.clone(),
                text: one_line(&a.address),
            })
            .collect(),
        orders: orders.iter().map(|o| order_row(state, o, erased)).collect(),
        error: x.error,
        invalid,
        notice: x.notice,
        can_edit: s.can(Permission::CustomersEdit) && !erased,
        can_privacy: s.can(Permission::CustomersPrivacy),
        c,
    };
    Ok(page(status, &t))
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "created" => "Customer created.",
        "saved" => "Changes saved.",
        "confirmed" => "Password confirmed. Press Download or Erase again to go on.",
        "address-added" => "Address saved.",
        "address-removed" => "Address removed.",
        "erased" => {
            "Personal data erased. The orders stay for accounting, without personal details."
        }
        _ => return None,
    })
}

/// `GET /admin/customers/{id}` (audited as `customer.viewed`; a malformed or unknown ID is 404).
pub async fn show(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let c = state.db.customer(&CustomerId(id)).await?;
    let x = Extras {
        notice: q.get("done").and_then(|d| notice_for(d)),
        ..Default::default()
    };
    detail_page(&state, &s, &client, c, StatusCode::OK, x, "detail page").await
}

/// The names (never the values) of the fields an edit changes, for the audit entry.
fn changed(old: &Customer, new: &CustomerForm) -> String {
    let mut out = Vec::new();
    if old.name != new.name.trim() {
        out.push("name");
    }
    if normalize_email(&old.email) != normalize_email(&new.email) {
        out.push("email");
    }
    if old.phone != new.phone.trim() {
        out.push("phone");
    }
    if old.marketing_consent != new.marketing_consent {
        out.push("marketing consent");
    }
    if old.note != new.note {
        out.push("note");
    }
    if out.is_empty() {
        "nothing changed".into()
    } else {
        format!("changed: {}", out.join(", "))
    }
}

/// `POST /admin/customers/{id}`: replace name, email, phone, consent and note (audited as
/// `customer.updated`, naming the fields changed).
pub async fn update(
    s: Editor,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let c = state.db.customer(&CustomerId(id)).await?;
    if c.erased_at.is_some() {
        return Err(erased());
    }
    let form = CustomerForm::read(&f);
    match state.db.update_customer(&c.id, &form.input()).await {
        Ok(_) => {
            let details = changed(&c, &form);
            record(
                &state,
                &s,
                &client,
                "customer.updated",
                c.id.as_str(),
                details,
            )
            .await?;
            Ok(see_other(&customer_url(c.id.as_str(), "saved")))
        }
        Err(e) => {
            let (status, error) = field_error(e)?;
            let x = Extras {
                form: Some(form),
                error: Some(error),
                ..Default::default()
            };
            detail_page(&state, &s, &client, c, status, x, "edit form shown again").await
        }
    }
}

/// `POST /admin/customers/{id}/addresses`: save an address on the customer (audited as
/// `customer.address_added`).
pub async fn add_address(
    s: Editor,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let c = state.db.customer(&CustomerId(id)).await?;
    if c.erased_at.is_some() {
        return Err(erased());
    }
    let form = AddressForm::read(&f);
    match state
        .db
        .add_address(&c.id, &form.label, &form.address)
        .await
    {
        Ok(a) => {
            let details = format!("address {}", a.id.as_str());
            let id = c.id.as_str();
            record(&state, &s, &client, "customer.address_added", id, details).await?;
            Ok(see_other(&customer_url(id, "address-added")))
        }
        Err(e) => {
            let (status, error) = field_error(e)?;
            let x = Extras {
                address: form,
                error: Some(error),
                ..Default::default()
            };
            detail_page(
                &state,
                &s,
                &client,
                c,
                status,
                x,
                "address form shown again",
            )
            .await
        }
    }
}

/// `POST /admin/customers/{id}/addresses/{address}/remove` (audited as
/// `customer.address_removed`; an address of another customer is 404).
pub async fn remove_address(
    s: Editor,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path((id, address)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let c = state.db.customer(&CustomerId(id)).await?;
    let address = AddressId(address);
    state.db.remove_address(&c.id, &address).await?;
    let details = format!("address {}", address.as_str());
    let id = c.id.as_str();
    record(&state, &s, &client, "customer.address_removed", id, details).await?;
    Ok(see_other(&customer_url(id, "address-removed")))
}
