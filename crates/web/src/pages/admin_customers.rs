//! Admin customer pages: the list (50 a page), search by email or phone, and the new-customer
//! form. Every page that shows customers' personal data is recorded in the audit log: who,
//! from where and which customer, never the data itself. One customer's page and its forms are
//! in [`super::admin_customers_detail`]; export and erasure in [`super::admin_customers_privacy`];
//! the shared form in [`super::admin_customers_form`].
//!
//! The search is a posted form, not a `?q=` link, so email addresses and phone numbers stay out
//! of browser history, proxy logs and `Referer` headers.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use storefort_core::access::Permission;
use storefort_core::customer::{validate_phone, Customer};

use super::admin::{checked_form, see_other, AdminChrome};
use super::admin_customers_detail as detail;
use super::admin_customers_form::{field_error, CustomerForm, FieldError};
use super::admin_customers_privacy as privacy;
use super::render::{page, seg, url_with, utc, PageError};
use crate::auth::{perm, Admin, AdminSession};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Staff who may look customers up (every role).
pub type Viewer = Admin<perm::CustomersView>;
/// Staff who may create and change customers (owners and managers).
pub type Editor = Admin<perm::CustomersEdit>;

/// Customers per list page.
const PER_PAGE: i64 = 50;
/// The list page.
const LIST: &str = "/admin/customers";

/// This module's routes (and those of the detail and privacy pages).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(list).post(search))
        .route("/admin/customers/new", get(new_form).post(create))
        .route(
            "/admin/customers/{id}",
            get(detail::show).post(detail::update),
        )
        .route("/admin/customers/{id}/addresses", post(detail::add_address))
        .route(
            "/admin/customers/{id}/addresses/{address}/remove",
            post(detail::remove_address),
        )
        .route("/admin/customers/{id}/export", post(privacy::export))
        .route("/admin/customers/{id}/erase", post(privacy::erase))
}

/// Write an audit entry for something the signed-in staff member did to or saw of `target`
/// (a customer ID, or `customers` for the list). `details` must hold no personal data.
pub use super::admin_staff::log as record;

/// The detail page of customer `id`, with a `done` notice.
pub fn customer_url(id: &str, done: &str) -> String {
    url_with(&format!("/admin/customers/{}", seg(id)), &[("done", done)])
}

struct Row {
    url: String,
    name: String,
    email: String,
    phone: String,
    kind: &'static str,
    created: String,
    erased: Option<String>,
}

fn row(c: &Customer) -> Row {
    Row {
        url: format!("/admin/customers/{}", seg(c.id.as_str())),
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        kind: if c.has_account { "account" } else { "guest" },
        created: utc(c.created_at),
        erased: c.erased_at.map(utc),
    }
}

#[derive(Template)]
#[template(path = "admin_customers.html")]
struct ListPage {
    admin: AdminChrome,
    rows: Vec<Row>,
    q: String,
    /// Showing search results (not the whole list).
    searched: bool,
    error: Option<FieldError>,
    next_url: Option<String>,
    can_edit: bool,
}

struct Listing {
    rows: Vec<Row>,
    q: String,
    searched: bool,
    error: Option<FieldError>,
    next_url: Option<String>,
}

fn list_page(state: &AppState, s: &AdminSession, status: StatusCode, l: Listing) -> Response {
    page(
        status,
        &ListPage {
            admin: AdminChrome::new(state, s, "customers"),
            rows: l.rows,
            q: l.q,
            searched: l.searched,
            error: l.error,
            next_url: l.next_url,
            can_edit: s.can(Permission::CustomersEdit),
        },
    )
}

/// `GET /admin/customers?cursor=`: newest first, 50 a page (audited as `customers.listed`).
pub async fn list(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let cursor = q.get("cursor").map(|c| c.trim()).filter(|c| !c.is_empty());
    if cursor.is_some_and(|c| !storefort_store::db::looks_like_id(c)) {
        return Err(PageError::bad_request(
            "That page link is broken or out of date. Please start again from the first page.",
        ));
    }
    // Cashiers look a customer up to attach them to a sale; browsing everyone is for
    // managers and owners.
    if !s.can(Permission::CustomersEdit) {
        let listing = Listing {
            rows: Vec::new(),
            q: String::new(),
            searched: false,
            error: None,
            next_url: None,
        };
        return Ok(list_page(&state, &s, StatusCode::OK, listing));
    }
    let found = state.db.customers(PER_PAGE, cursor).await?;
    let details = format!(
        "{} shown, {} page",
        found.items.len(),
        if cursor.is_some() {
            "a later"
        } else {
            "the first"
        }
    );
    record(
        &state,
        &s,
        &client,
        "customers.listed",
        "customers",
        details,
    )
    .await?;
    let next_url = found
        .next_cursor
        .as_deref()
        .map(|c| url_with(LIST, &[("cursor", c)]));
    let listing = Listing {
        rows: found.items.iter().map(row).collect(),
        q: String::new(),
        searched: false,
        error: None,
        next_url,
    };
    Ok(list_page(&state, &s, StatusCode::OK, listing))
}

/// `POST /admin/customers` (field `q`): find customers by email (anything with an `@`, any
/// case) or by phone (spaces, dashes and brackets ignored). Audited as `customers.listed`
/// without the search term.
pub async fn search(
    s: Viewer,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let q = f.text("q");
    let by_email = q.contains('@');
    let refused = if q.is_empty() {
        Some("type an email address or a phone number")
    } else if q.chars().count() > 200 {
        Some("must be at most 200 characters")
    } else if !by_email && validate_phone(&q).is_err() {
        Some("type a whole email address (with @) or a phone number of 6 to 15 digits")
    } else {
        None
    };
    if let Some(message) = refused {
        let listing = Listing {
            rows: Vec::new(),
            q,
            searched: false,
            error: Some(FieldError::new("q", message)),
            next_url: None,
        };
        return Ok(list_page(
            &state,
            &s,
            StatusCode::UNPROCESSABLE_ENTITY,
            listing,
        ));
    }
    let found: Vec<Customer> = if by_email {
        state.db.customer_by_email(&q).await?.into_iter().collect()
    } else {
        state.db.customers_by_phone(&q).await?
    };
    let details = format!(
        "search by {}: {} found",
        if by_email { "email" } else { "phone" },
        found.len()
    );
    record(
        &state,
        &s,
        &client,
        "customers.listed",
        "customers",
        details,
    )
    .await?;
    let listing = Listing {
        rows: found.iter().map(row).collect(),
        q,
        searched: true,
        error: None,
        next_url: None,
    };
    Ok(list_page(&state, &s, StatusCode::OK, listing))
}

#[derive(Template)]
#[template(path = "admin_customer_new.html")]
struct NewPage {
    admin: AdminChrome,
    form: CustomerForm,
    error: Option<FieldError>,
    /// The refused field's name (empty when none), to mark its input.
    invalid: String,
}

fn new_page(
    state: &AppState,
    s: &AdminSession,
    status: StatusCode,
    form: CustomerForm,
    error: Option<FieldError>,
) -> Response {
    let invalid = error.as_ref().map(|e| e.field.clone()).unwrap_or_default();
    page(
        status,
        &NewPage {
            admin: AdminChrome::new(state, s, "customers"),
            form,
            error,
            invalid,
        },
    )
}

/// `GET /admin/customers/new`.
pub async fn new_form(s: Editor, State(state): State<AppState>) -> Result<Response, PageError> {
    Ok(new_page(
        &state,
        &s,
        StatusCode::OK,
        CustomerForm::default(),
        None,
    ))
}

/// `POST /admin/customers/new`: a guest customer (no shopper account); audited as
/// `customer.created`.
pub async fn create(
    s: Editor,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let form = CustomerForm::read(&f);
    match state.db.create_customer(&form.input(), None).await {
        Ok(c) => {
            let id = c.id.as_str();
            record(&state, &s, &client, "customer.created", id, "guest record").await?;
            Ok(see_other(&customer_url(id, "created")))
        }
        Err(e) => {
            let (status, error) = field_error(e)?;
            Ok(new_page(&state, &s, status, form, Some(error)))
        }
    }
}
