//! The customer form shared by the new-customer and detail pages: what was typed, and turning
//! a store refusal into a message that names the field.

use axum::http::StatusCode;
use storefort_core::customer::{Customer, NewCustomer};
use storefort_store::StoreError;

use super::render::{field_label, FormData, PageError};

/// A form field that was refused, and why, for showing the form again.
#[derive(Debug, Clone, Default)]
pub struct FieldError {
    /// The field's name as the store reports it (`email`, `address.country`, ...), to mark it.
    pub field: String,
    /// The sentence shown: the field's label, then the rule.
    pub text: String,
}

impl FieldError {
    /// A refusal of `field` with `message`.
    pub fn new(field: &str, message: &str) -> Self {
        Self {
            field: field.to_string(),
            text: format!("{}: {message}", label(field)),
        }
    }
}

/// The label a person sees for a customer or address field.
pub fn label(field: &str) -> String {
    let known = match field {
        "name" => "Name",
        "email" => "Email",
        "phone" => "Phone",
        "note" => "Note",
        "q" => "Search",
        "label" => "Label",
        "confirm" => "Confirmation",
        "address.name" => "Recipient",
        "address.line1" => "Address line 1",
        "address.line2" => "Address line 2",
        "address.city" => "Town or city",
        "address.region" => "Region",
        "address.postcode" => "Postcode",
        "address.country" => "Country",
        other => return field_label(other),
    };
    known.to_string()
}

/// A store refusal on a customer form as `(status, error)` to show the form again (422 for a
/// broken rule, 409 for an email another customer has, 410 for an erased customer), or a page
/// error for anything else (404, 500).
pub fn field_error(e: StoreError) -> Result<(StatusCode, FieldError), PageError> {
    match e {
        StoreError::Invalid(v) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FieldError::new(&v.field, &v.message),
        )),
        StoreError::Conflict { field } => Ok((
            StatusCode::CONFLICT,
            FieldError::new(
                &field,
                "another customer already uses this; look them up instead, or use a different one",
            ),
        )),
        StoreError::Erased => Err(erased()),
        other => Err(other.into()),
    }
}

/// 410: the customer's personal data was erased, so nothing can be added or changed.
pub fn erased() -> PageError {
    PageError {
        status: StatusCode::GONE,
        title: "Customer erased",
        message: "This customer's personal data was erased, so it cannot be changed. Their \
                  orders are kept for accounting without personal details."
            .into(),
    }
}

/// What was typed into the customer form (new or edit).
#[derive(Debug, Clone, Default)]
pub struct CustomerForm {
    /// Full name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Agreed to marketing email.
    pub marketing_consent: bool,
    /// Staff note.
    pub note: String,
}

impl CustomerForm {
    /// The values posted.
    pub fn read(f: &FormData) -> Self {
        Self {
            name: f.text("name"),
            email: f.text("email"),
            phone: f.text("phone"),
            marketing_consent: f.checked("marketing_consent"),
            note: f.get("note").trim_end().to_string(),
        }
    }

    /// A customer's current values.
    pub fn of(c: &Customer) -> Self {
        Self {
            name: c.name.clone(),
            email: c.email.clone(),
            phone: c.phone.clone(),
            marketing_consent: c.marketing_consent,
            note: c.note.clone(),
        }
    }

    /// What the store is asked to save.
    pub fn input(&self) -> NewCustomer {
        NewCustomer {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            marketing_consent: self.marketing_consent,
            note: self.note.clone(),
        }
    }
}
