//! Registering a shopper account: name, email, password (NIST 800-63B rules, see
//! [`storefort_crypto::shopper_password`]) and marketing consent.
//!
//! A guest who checked out before (a customer with that email but no password) gets the account
//! on that same customer record, so their later orders and the shop's view of them stay in one
//! place. The record is found with `customer_by_email`, and only after every field and the
//! password have passed their checks is anything written (`update_customer`, then
//! `set_customer_password`). Because the email address is not verified, whoever registers
//! with it could be someone else: so the claim replaces the name and the marketing consent with
//! what was typed, clears the phone number the guest gave, and the account page only shows
//! orders and addresses from after the account was opened (see [`super::shopper_account`]).

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use storefort_core::customer::NewCustomer;
use storefort_core::ValidationError;
use storefort_crypto::shopper_password;
use storefort_store::audit::AuditEvent;
use storefort_store::StoreError;

use super::render::{page, FormData, PageError};
use super::shopper::{current_shopper, refuse_cross_site, start_session};
use super::storefront::{shop, Shop};
use crate::login::{audit, hash_password};
use crate::middleware::ClientInfo;
use crate::AppState;

/// The answer when the email already has an account.
pub const EMAIL_TAKEN: &str =
    "An account with this email address already exists. Sign in instead, or use another address.";

/// This module's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/account/register", get(form).post(register))
}

/// What was typed, to show again (never the password).
#[derive(Debug, Default)]
struct Typed {
    name: String,
    email: String,
    marketing: bool,
}

/// Problems, one per field, in words for the shopper.
#[derive(Debug, Default)]
struct Errors {
    name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    form: Option<String>,
}

impl Errors {
    fn any_field(&self) -> bool {
        self.name.is_some() || self.email.is_some() || self.password.is_some()
    }
}

#[derive(Template)]
#[template(path = "account_register.html")]
struct RegisterPage {
    shop: Shop,
    form: Typed,
    errors: Errors,
}

async fn render(
    state: &AppState,
    status: StatusCode,
    form: Typed,
    errors: Errors,
) -> Result<Response, PageError> {
    let shop = shop(state, "", "").await?;
    Ok(page(status, &RegisterPage { shop, form, errors }))
}

/// `"Label: message"`, or `"Label is required."` for a missing value.
pub fn field_message(label: &str, message: &str) -> String {
    if message == "is required" {
        format!("{label} is required.")
    } else {
        format!("{label}: {message}.")
    }
}

fn validation_errors(v: &ValidationError) -> Errors {
    let mut e = Errors::default();
    match v.field.as_str() {
        "name" => e.name = Some(field_message("Your name", &v.message)),
        "email" => e.email = Some(field_message("Email", &v.message)),
        _ => e.form = Some(field_message(&v.field.replace('_', " "), &v.message)),
    }
    e
}

/// `GET /account/register`.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if current_shopper(&state, &headers).await?.is_some() {
        return Ok(Redirect::to("/account").into_response());
    }
    render(&state, StatusCode::OK, Typed::default(), Errors::default()).await
}

/// `POST /account/register`: check everything, then create the account (or give the guest
/// customer with this email a password), sign in and go to the account page.
pub async fn register(
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    refuse_cross_site(&headers)?;
    let f = FormData::parse(&body);
    let typed = Typed {
        name: f.text("name"),
        email: f.text("email"),
        marketing: f.checked("marketing"),
    };
    let new = NewCustomer {
        name: typed.name.clone(),
        email: typed.email.clone(),
        phone: String::new(),
        marketing_consent: typed.marketing,
        note: String::new(),
    };
    if let Err(v) = new.validate() {
        let errors = validation_errors(&v);
        return render(&state, StatusCode::UNPROCESSABLE_ENTITY, typed, errors).await;
    }
    if let Err(why) = shopper_password::check(f.get("password"), &typed.email) {
        let errors = Errors {
            password: Some(field_message("Password", &why.to_string())),
            ..Default::default()
        };
        return render(&state, StatusCode::UNPROCESSABLE_ENTITY, typed, errors).await;
    }
    let taken = || Errors {
        email: Some(EMAIL_TAKEN.to_string()),
        ..Default::default()
    };
    let db = &state.db;
    let existing = db.customer_by_email(&typed.email).await?;
    if existing.as_ref().is_some_and(|c| c.has_account) {
        return render(&state, StatusCode::CONFLICT, typed, taken()).await;
    }
    let hash = hash_password(f.get("password")).await?;
    let (id, claimed) = match existing {
        Some(guest) => {
            let claim = NewCustomer {
                email: guest.email.clone(),
                note: guest.note.clone(),
                ..new
            };
            // The opening date first: it is what hides the guest's earlier orders and
            // addresses, so it must exist before the account does.
            db.record_shopper_account_opened(&guest.id).await?;
            if !db.claim_guest_customer(&guest.id, &hash).await? {
                return render(&state, StatusCode::CONFLICT, typed, taken()).await;
            }
            db.update_customer(&guest.id, &claim).await?;
            (guest.id, true)
        }
        None => match db.create_customer(&new, Some(&hash)).await {
            Ok(c) => (c.id, false),
            Err(StoreError::Conflict { .. }) => {
                return render(&state, StatusCode::CONFLICT, typed, taken()).await;
            }
            Err(StoreError::Invalid(v)) => {
                let errors = validation_errors(&v);
                return render(&state, StatusCode::UNPROCESSABLE_ENTITY, typed, errors).await;
            }
            Err(e) => return Err(e.into()),
        },
    };
    db.record_shopper_account_opened(&id).await?;
    let details = if claimed {
        "guest customer"
    } else {
        "new customer"
    };
    audit(
        &state,
        AuditEvent::new("shopper.registered", "shopper", &client.ip.to_string())
            .on(id.as_str())
            .details(details),
    )
    .await?;
    start_session(&state, &headers, &id, "/account?done=welcome").await
}
