//! The shopper's own account page: their details (edit name, phone and marketing consent),
//! saved addresses (add, remove) and orders. Everything shown is looked up from the session's
//! customer only; IDs in forms are checked against that customer.
//!
//! For an account opened on a guest's customer record (see [`super::shopper_register`]), orders
//! and saved addresses from before the account was opened stay hidden: the email address was
//! never verified, so they may belong to someone else.

use std::collections::HashMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use storefort_core::customer::{Address, NewCustomer, OrderRecord, SavedAddress};
use storefort_core::ids::AddressId;
use storefort_core::money::Currency;
use storefort_core::ValidationError;
use storefort_store::StoreError;

use super::render::{page, seg, utc, PageError};
use super::shopper::Shopper;
use super::shopper_register::field_message;
use super::storefront::{shop, Shop};
use crate::AppState;

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/details", post(save_details))
        .route("/account/addresses", post(add_address))
        .route("/account/addresses/{id}/remove", post(remove_address))
}

/// The details form as typed.
#[derive(Debug, Default)]
struct DetailsForm {
    name: String,
    phone: String,
    marketing: bool,
}

/// The new-address form as typed.
#[derive(Debug, Default)]
struct AddressForm {
    label: String,
    address: Address,
}

/// One problem on one form: which form, which field, what to say.
#[derive(Debug)]
struct FieldError {
    form: &'static str,
    field: String,
    message: String,
}

struct AddressView {
    url: String,
    label: String,
    lines: Vec<String>,
}

struct OrderView {
    number: i64,
    placed: String,
    status: String,
    total: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    shop: Shop,
    csrf: String,
    name: String,
    email: String,
    phone: String,
    marketing: bool,
    details: DetailsForm,
    new_address: AddressForm,
    addresses: Vec<AddressView>,
    orders: Vec<OrderView>,
    hidden_before_account: bool,
    error: Option<FieldError>,
    notice: Option<&'static str>,
}

impl AccountPage {
    /// The message for `field` on `form`, if that is where the problem is.
    fn err(&self, form: &str, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.form == form && e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// Whether something made at `at` may be shown on an account opened at `opened` (`None`: the
/// opening was not recorded, so everything is the shopper's own).
fn visible(opened: Option<i64>, at: i64) -> bool {
    opened.is_none_or(|o| at >= o)
}

/// The saved addresses the shopper may see.
async fn own_addresses(state: &AppState, s: &Shopper) -> Result<Vec<SavedAddress>, PageError> {
    let hidden = state
        .db
        .addresses_before_shopper_account(&s.customer.id)
        .await?;
    Ok(s.customer
        .addresses
        .iter()
        .filter(|a| !hidden.contains(&a.id))
        .cloned()
        .collect())
}

fn address_lines(a: &Address) -> Vec<String> {
    let town = [a.postcode.as_str(), a.city.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    [&a.name, &a.line1, &a.line2, &town, &a.region, &a.country]
        .into_iter()
        .filter(|l| !l.is_empty())
        .cloned()
        .collect()
}

fn order_view(o: &OrderRecord) -> OrderView {
    let total = match Currency::from_code(&o.currency) {
        Ok(c) => c.format(o.total_minor),
        Err(_) => format!("{} {}", o.currency, o.total_minor),
    };
    OrderView {
        number: o.number,
        placed: utc(o.created_at),
        status: o.status.replace('_', " "),
        total,
    }
}

async fn render(
    state: &AppState,
    s: &Shopper,
    status: StatusCode,
    details: Option<DetailsForm>,
    new_address: AddressForm,
    error: Option<FieldError>,
    notice: Option<&'static str>,
) -> Result<Response, PageError> {
    let c = &s.customer;
    let opened = state.db.shopper_account_opened_at(&c.id).await?;
    let all = state.db.orders_of_customer(&c.id).await?;
    let orders: Vec<OrderView> = all
        .iter()
        .filter(|o| visible(opened, o.created_at))
        .map(order_view)
        .collect();
    let shown = own_addresses(state, s).await?;
    let hidden_before_account = orders.len() < all.len() || shown.len() < c.addresses.len();
    let addresses = shown
        .iter()
        .map(|a| AddressView {
            url: format!("/account/addresses/{}/remove", seg(a.id.as_str())),
            label: a.label.clone(),
            lines: address_lines(&a.address),
        })
        .collect();
    let details = details.unwrap_or_else(|| DetailsForm {
        name: c.name.clone(),
        phone: c.phone.clone(),
        marketing: c.marketing_consent,
    });
    let p = AccountPage {
        shop: shop(state, "", "").await?,
        csrf: s.session.csrf_token.clone(),
        name: c.name.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        marketing: c.marketing_consent,
        details,
        new_address,
        addresses,
        orders,
        hidden_before_account,
        error,
        notice,
    };
    Ok(page(status, &p))
}

/// `GET /account` (`?done=` welcome, saved, address-added, address-removed).
pub async fn show(
    s: Shopper,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let notice = match q.get("done").map(String::as_str) {
        Some("welcome") => Some("Welcome! Your account is ready and you are signed in."),
        Some("saved") => Some("Your details are saved."),
        Some("address-added") => Some("Address saved."),
        Some("address-removed") => Some("Address removed."),
        _ => None,
    };
    render(
        &state,
        &s,
        StatusCode::OK,
        None,
        AddressForm::default(),
        None,
        notice,
    )
    .await
}

/// The address with its country code in capitals (`gb` is taken as `GB`).
fn upper_country(a: &Address) -> Address {
    Address {
        country: a.country.to_uppercase(),
        ..a.clone()
    }
}

/// Label of a field on the account page's forms, for messages.
fn label(field: &str) -> &str {
    match field.rsplit('.').next().unwrap_or(field) {
        "name" => "Name",
        "phone" => "Phone",
        "label" => "Label",
        "line1" => "Address line 1",
        "line2" => "Address line 2",
        "city" => "Town or city",
        "region" => "County, state or region",
        "postcode" => "Postcode",
        "country" => "Country",
        "email" => "Email",
        other => other,
    }
}

/// A validation problem on `form`, field named without its `address.` prefix.
fn field_error(form: &'static str, v: &ValidationError) -> FieldError {
    let field = v.field.rsplit('.').next().unwrap_or(&v.field).to_string();
    FieldError {
        form,
        message: field_message(label(&field), &v.message),
        field,
    }
}

/// `POST /account/details`: name, phone and marketing consent (the email stays as it is).
pub async fn save_details(
    s: Shopper,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = s.checked_form(&body)?;
    let typed = DetailsForm {
        name: f.text("name"),
        phone: f.text("phone"),
        marketing: f.checked("marketing"),
    };
    let c = &s.customer;
    let new = NewCustomer {
        name: typed.name.clone(),
        email: c.email.clone(),
        phone: typed.phone.clone(),
        marketing_consent: typed.marketing,
        note: c.note.clone(),
    };
    let problem = match new.validate() {
        Ok(()) => match state.db.update_customer(&c.id, &new).await {
            Ok(_) => return Ok(Redirect::to("/account?done=saved").into_response()),
            Err(StoreError::Invalid(v)) => v,
            Err(e) => return Err(e.into()),
        },
        Err(v) => v,
    };
    let error = Some(field_error("details", &problem));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render(
        &state,
        &s,
        status,
        Some(typed),
        AddressForm::default(),
        error,
        None,
    )
    .await
}

/// `POST /account/addresses`: save a new address.
pub async fn add_address(
    s: Shopper,
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = s.checked_form(&body)?;
    let typed = AddressForm {
        label: f.text("label"),
        address: Address {
            name: f.text("name"),
            line1: f.text("line1"),
            line2: f.text("line2"),
            city: f.text("city"),
            region: f.text("region"),
            postcode: f.text("postcode"),
            country: f.text("country"),
        },
    };
    let problem = match state
        .db
        .add_address(&s.customer.id, &typed.label, &upper_country(&typed.address))
        .await
    {
        Ok(_) => return Ok(Redirect::to("/account?done=address-added").into_response()),
        Err(StoreError::Invalid(v)) => v,
        Err(e) => return Err(e.into()),
    };
    let error = Some(field_error("address", &problem));
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    render(&state, &s, status, None, typed, error, None).await
}

/// `POST /account/addresses/{id}/remove`: only one of the shopper's own (visible) addresses;
/// any other ID is a 404 and removes nothing.
pub async fn remove_address(
    s: Shopper,
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    s.checked_form(&body)?;
    let own = own_addresses(&state, &s).await?;
    if !own.iter().any(|a| a.id.as_str() == id) {
        return Err(PageError::not_found());
    }
    state
        .db
        .remove_address(&s.customer.id, &AddressId(id))
        .await?;
    Ok(Redirect::to("/account?done=address-removed").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_came_after_the_account_opened_shows() {
        assert!(visible(None, 0));
        assert!(visible(Some(10), 10));
        assert!(visible(Some(10), 11));
        assert!(!visible(Some(10), 9));
    }

    #[test]
    fn labels_and_lines() {
        assert_eq!(label("address.line1"), "Address line 1");
        let a = Address {
            name: "Ann".into(),
            line1: "1 High St".into(),
            city: "Leeds".into(),
            postcode: "LS1 1AA".into(),
            country: "GB".into(),
            ..Default::default()
        };
        assert_eq!(
            address_lines(&a),
            ["Ann", "1 High St", "LS1 1AA Leeds", "GB"]
        );
    }
}
