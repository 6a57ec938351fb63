//! Shared page plumbing: rendering a template with a status, error pages, posted forms,
//! and small formatting helpers (money, availability, UTC times, URLs).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use storefort_core::model::Product;
use storefort_core::stock::availability;
use storefort_store::StoreError;

use crate::error::ApiError;
use crate::AppState;

/// Render a template as an HTML response with `status`.
pub fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => PageError::internal(&e).into_response(),
    }
}

/// Render a template with `200 OK`, as a handler result.
pub fn ok<T: Template>(t: &T) -> Result<Response, PageError> {
    Ok(page(StatusCode::OK, t))
}

/// A failure shown to a person as an HTML page: a status, a heading and a safe message.
#[derive(Debug, Clone)]
pub struct PageError {
    /// HTTP status.
    pub status: StatusCode,
    /// Page heading.
    pub title: &'static str,
    /// What the person should know (never internal details).
    pub message: String,
}

impl PageError {
    /// 404.
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Page not found",
            message: "We could not find that page. It may have moved or no longer exist.".into(),
        }
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "That did not work",
            message: message.into(),
        }
    }

    /// 403 with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "Not allowed",
            message: message.into(),
        }
    }

    /// 500; the cause is logged, not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "page error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "Something went wrong on our side; it has been logged. Please try again."
                .into(),
        }
    }
}

/// The error page template.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    /// Heading.
    pub title: &'a str,
    /// Message.
    pub message: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = ErrorPage {
            title: self.title,
            message: &self.message,
        };
        match t.render() {
            Ok(body) => (self.status, Html(body)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "error page failed to render");
                (self.status, self.message).into_response()
            }
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => PageError::not_found(),
            StoreError::Invalid(v) if v.field == "cursor" => PageError::bad_request(
                "That page link is broken or out of date. Please start again from the first page.",
            ),
            StoreError::Invalid(v) => {
                PageError::bad_request(format!("{}: {}", field_label(&v.field), v.message))
            }
            StoreError::Conflict { field } => Self {
                status: StatusCode::CONFLICT,
                title: "Already in use",
                message: format!(
                    "{} is already in use by another record.",
                    field_label(&field)
                ),
            },
            StoreError::Gone(message) => Self {
                status: StatusCode::GONE,
                title: "No longer available",
                message,
            },
            StoreError::State { message, .. } => Self {
                status: StatusCode::CONFLICT,
                title: "That did not work",
                message,
            },
            other => PageError::internal(&other),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        // ApiError messages are already user-safe (internal causes were logged when it was built).
        let title = match e.status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Page not found",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        Self {
            status: e.status,
            title,
            message: e.message,
        }
    }
}

/// A human name for a field named in a validation error (`variants[0].sku` -> `SKU`).
pub fn field_label(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    match last {
        "sku" => "SKU".into(),
        "barcode" => "Barcode".into(),
        "price" | "price_minor" => "Price".into(),
        "name" => "Name".into(),
        "slug" => "Name (web address)".into(),
        "description" => "Description".into(),
        "category_id" => "Category".into(),
        "status" => "Status".into(),
        "delta" => "Change".into(),
        "quantity" => "Quantity".into(),
        "counted" => "Counted".into(),
        "note" => "Note".into(),
        "reason" => "Reason".into(),
        "location_id" => "Location".into(),
        "to_location_id" => "To location".into(),
        "scope" => "Access".into(),
        other if other.starts_with("Size") || other.starts_with("Colour") => other.into(),
        "options" => "Options".into(),
        "line1" => "Address line 1".into(),
        "line2" => "Address line 2".into(),
        "city" => "Town or city".into(),
        "region" => "County, state or region".into(),
        "postcode" => "Postcode".into(),
        "country" => "Country".into(),
        "phone" => "Phone".into(),
        "email" => "Email".into(),
        "label" => "Label".into(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => spaced,
            }
        }
    }
}

/// Turn a store error on a form into `(status, message)` to re-render the form, or a page error.
pub fn form_error(e: StoreError) -> Result<(StatusCode, String), PageError> {
    match e {
        StoreError::Invalid(v) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{}: {}", field_label(&v.field), v.message),
        )),
        StoreError::Conflict { field } => Ok((
            StatusCode::CONFLICT,
            format!(
                "{} is already in use by another record; choose a different one.",
                field_label(&field)
            ),
        )),
        StoreError::State { message, .. } => Ok((StatusCode::CONFLICT, message)),
        other => Err(other.into()),
    }
}

/// A posted `application/x-www-form-urlencoded` body. Missing fields read as empty text, so an
/// unchecked checkbox or a stripped field is handled by validation, not by a parser error.
#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parse a body.
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The value of `name` as owned text, trimmed.
    pub fn text(&self, name: &str) -> String {
        self.get(name).trim().to_string()
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// `path?k=v&...` with each value URL-encoded.
pub fn url_with(path: &str, params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    format!("{path}?{}", s.finish())
}

/// Percent-encode one path segment (IDs and slugs are plain, but never trust that).
pub fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A product as a tile in a grid.
#[derive(Debug, Clone)]
pub struct Card {
    /// Name.
    pub name: String,
    /// Link to the product page.
    pub url: String,
    /// "£12.50" or "from £10.00".
    pub price: String,
    /// "In stock", "Only 3 left", ...
    pub availability: String,
    /// Whether it can be bought now (styles the label).
    pub purchasable: bool,
    /// First letter, for the placeholder tile.
    pub initial: String,
}

/// The shopper-facing price of a product: one price, or "from" the cheapest.
pub fn price_label(state: &AppState, p: &Product) -> String {
    match p.price_range() {
        Some((lo, hi)) if lo == hi => state.cfg.currency.format(lo),
        Some((lo, _)) => format!("from {}", state.cfg.currency.format(lo)),
        None => "Unavailable".into(),
    }
}

/// Build the tile for a product.
pub fn card(state: &AppState, p: &Product) -> Card {
    let a = availability(p.available(), p.allow_backorder);
    Card {
        name: p.name.clone(),
        url: format!("/p/{}", seg(&p.slug)),
        price: price_label(state, p),
        availability: a.label(),
        purchasable: a.purchasable(),
        initial: initial(&p.name),
    }
}

/// The first letter or digit of a name, upper-cased ("?" when there is none).
pub fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

/// UTC milliseconds as `yyyy-mm-dd hh:mm` (UTC); out-of-range times show as `-`.
pub fn utc(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => "-".into(),
    }
}

/// `YYYY-MM-DD` as the UTC midnight starting that day, in ms; `None` when it is not such a date.
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

/// Text made safe inside HTML (for the few HTML bodies built without a template: emails).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text with its first letter in upper case ("visa" -> "Visa").
pub fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_709_210_096_000), "2024-02-29 12:34");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00");
    }

    #[test]
    fn labels_and_forms() {
        assert_eq!(field_label("variants[0].sku"), "SKU");
        assert_eq!(field_label("variants[0].price_minor"), "Price");
        let f = FormData::parse(b"a=1+2&b=%3Cx%3E&c=");
        assert_eq!(f.get("a"), "1 2");
        assert_eq!(f.get("b"), "<x>");
        assert!(f.checked("c"));
        assert!(!f.checked("d"));
        assert_eq!(f.get("d"), "");
        assert_eq!(initial("  élan"), "É");
        assert_eq!(url_with("/s", &[("q", "a&b")]), "/s?q=a%26b");
    }
}
