//! The card-number guard: storefort never takes card numbers (they are entered only on the
//! payment provider's page), so any request carrying one is refused with 422 before a handler
//! sees it. Nothing is stored, and the number is never logged or echoed back.
//!
//! Checked, each value on its own so digits from two neighbouring fields never join up:
//! - the query string: every decoded parameter name and value;
//! - `application/x-www-form-urlencoded` bodies: every decoded field name and value;
//! - JSON bodies (`application/json`, `*+json`): every key, string and number, at any depth;
//! - any other body (or JSON that does not parse): the body as text.
//!
//! What counts as a card number is [`storefort_core::pan`]'s rule (UUIDs never do). The path is
//! not checked (barcodes are looked up by path) but is masked wherever the guard writes it.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use storefort_core::pan::{find_card_number, mask_card_numbers};
use storefort_store::audit::{AuditEvent, Outcome};

use crate::app::MAX_BODY_BYTES;
use crate::error::ApiError;
use crate::middleware::ClientInfo;
use crate::pages::render::{field_label, PageError};
use crate::AppState;

/// Fields whose values are never checked, because they hold identifiers that are not card data
/// and refusing them would break something a person cannot fix:
/// - `csrf`, `token`: random tokens the server issued (CSRF, password reset, invitation);
/// - `barcode`, `gtin`: GTIN-13/14 product codes are 13-14 digits and about one in ten of them
///   also passes the Luhn check, so such products could not be saved. Only a value that *is*
///   a GTIN (8, 12, 13 or 14 digits with a valid check digit) is exempt: a card number typed
///   into a barcode field is still refused;
/// - `idempotency_key`: a client's own request identifier, often a long number;
/// - the password fields: a password is never stored or logged (only its hash), and refusing a
///   digit-heavy password would lock its owner out of their account.
const NOT_CARD_DATA: &[&str] = &[
    "csrf",
    "token",
    "barcode",
    "gtin",
    "idempotency_key",
    "password",
    "current_password",
    "new_password",
    "confirm_password",
];

/// What the person is told (never with the number or the field's value in it).
const MESSAGE: &str = "Card numbers are never entered here. Please enter card details only on \
the payment provider's page. Nothing was saved.";

/// The plugin package upload (see [`guard`]).
pub const PLUGIN_UPLOAD: &str = "/admin/plugins/upload";

/// Refuse any request carrying a card number; let every other request through untouched.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let till = req.uri().path().starts_with("/pos/api/");
    // A plugin package upload is binary (a module's bytes may hold any digit run) and larger
    // than a form: it is passed on unread, its own route limits its size (owners only).
    if req.method() == axum::http::Method::POST && req.uri().path() == PLUGIN_UPLOAD {
        return next.run(req).await;
    }
    let mut field = req.uri().query().and_then(check_query);
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(api),
        Err(_) => return unreadable(api),
    };
    if field.is_none() && !bytes.is_empty() {
        field = check_body(&parts.headers, &bytes);
    }
    let Some(field) = field else {
        return next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
    };
    let path = mask_card_numbers(parts.uri.path()).into_owned();
    tracing::warn!(method = %parts.method, %path, %field, "refused a request carrying a card number");
    let ip = parts
        .extensions
        .get::<ClientInfo>()
        .map(|c| c.ip.to_string())
        .unwrap_or_default();
    if first_in_a_minute(&state.card_refusals, &ip, state.db.now()) {
        let event = AuditEvent::new("request.card_number_refused", "unknown", &ip)
            .on(&path)
            .outcome(Outcome::Denied)
            .details(format!("field={field}"));
        if let Err(e) = state.db.audit(event).await {
            tracing::error!(error = %e, "could not audit a refused card number");
        }
    }
    if till {
        let message = format!("{field} looks like it holds a card number. {MESSAGE}");
        let mut e = crate::pos::error::PosError::invalid(&field, message);
        e.code = "card_number";
        return e.into_response();
    }
    refuse(api, &field)
}

/// Refusals are audited at most once a minute per address (each is still logged), so a
/// flood of anonymous requests cannot flood the audit log or hold its lock.
pub(crate) fn first_in_a_minute(seen: &crate::app::RecentRefusals, ip: &str, now: i64) -> bool {
    let mut last = seen.lock().unwrap_or_else(|e| e.into_inner());
    if last.len() > 10_000 {
        last.clear();
    }
    match last.get(ip) {
        Some(at) if now - at < 60_000 => false,
        _ => {
            last.insert(ip.to_string(), now);
            true
        }
    }
}

/// The query parameter carrying a card number, if any.
fn check_query(query: &str) -> Option<String> {
    check_pairs(form_urlencoded::parse(query.as_bytes()))
}

/// The body field carrying a card number (`body` for a body that is not fields), if any.
fn check_body(headers: &HeaderMap, bytes: &[u8]) -> Option<String> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media == "application/x-www-form-urlencoded" {
        return check_pairs(form_urlencoded::parse(bytes));
    }
    if media == "application/json" || media.ends_with("+json") {
        if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
            return check_json(&value, "", None);
        }
    }
    // Any other body: checked as text, and also as form fields, because the page handlers
    // read every body as a form whatever its Content-Type says (`text/plain` with
    // `note=4%31%31…` must not slip past).
    find_card_number(&String::from_utf8_lossy(bytes))
        .map(|_| "body".to_string())
        .or_else(|| check_pairs(form_urlencoded::parse(bytes)))
}

fn check_pairs<'a>(
    mut pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
) -> Option<String> {
    pairs
        .find(|(name, value)| {
            find_card_number(name).is_some()
                || (!exempt(Some(name), value) && find_card_number(value).is_some())
        })
        .map(|(name, _)| safe_name(&name))
}

/// The path (`variants[0].sku`) of the first key, string or number in `value` carrying a card
/// number. `key` is the object key `value` sits under, for [`NOT_CARD_DATA`].
fn check_json(value: &Value, path: &str, key: Option<&str>) -> Option<String> {
    let here = || safe_name(if path.is_empty() { "body" } else { path });
    match value {
        Value::String(s) => (!exempt(key, s) && find_card_number(s).is_some()).then(here),
        // A number under a `..._at` key is a time in milliseconds (13 digits today, and one in
        // ten of those passes the Luhn check): never card data.
        Value::Number(_) if key.is_some_and(|k| k.ends_with("_at")) => None,
        Value::Number(n) => {
            let digits = number_digits(n);
            (!exempt(key, &digits) && find_card_number(&digits).is_some()).then(here)
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| check_json(v, &format!("{path}[{i}]"), key)),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let inner = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if find_card_number(k).is_some() {
                return Some(safe_name(&inner));
            }
            check_json(v, &inner, Some(k))
        }),
        Value::Null | Value::Bool(_) => None,
    }
}

/// A JSON number written out in full (Rust prints floats without an exponent), so
/// `4111111111111111` and `4111111111111111.0` are both seen as their digits.
fn number_digits(n: &serde_json::Number) -> String {
    if let Some(u) = n.as_u64() {
        u.to_string()
    } else if let Some(i) = n.as_i64() {
        i.to_string()
    } else {
        n.as_f64().map(|f| format!("{f}")).unwrap_or_default()
    }
}

/// Is this field's value exempt from the check (see [`NOT_CARD_DATA`])?
fn exempt(name: Option<&str>, value: &str) -> bool {
    match name {
        Some("barcode" | "gtin") => {
            let v = value.trim();
            matches!(v.len(), 8 | 12 | 13 | 14) && storefort_core::text::gtin_valid(v)
        }
        Some(n) => NOT_CARD_DATA.contains(&n),
        None => false,
    }
}

/// A field name fit to show and log: a card number in the name itself is masked, control
/// characters dropped, and the length capped.
fn safe_name(name: &str) -> String {
    mask_card_numbers(name)
        .chars()
        .filter(|c| !c.is_control())
        .take(80)
        .collect()
}

fn refuse(api: bool, field: &str) -> Response {
    if api {
        let message = format!("{field} looks like it holds a card number. {MESSAGE}");
        return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "card_number", message)
            .field(field)
            .into_response();
    }
    let label = match field {
        "q" => "Search".to_string(),
        "body" => "What you sent".to_string(),
        other => field_label(other),
    };
    PageError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "Card numbers are not taken here",
        message: format!("{label} looks like it holds a card number. {MESSAGE}"),
    }
    .into_response()
}

fn too_large(api: bool) -> Response {
    let kib = MAX_BODY_BYTES / 1024;
    if api {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {kib} KiB"),
        )
        .into_response();
    }
    PageError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: "Too much to send",
        message: format!("That is larger than {kib} KiB. Please send less and try again."),
    }
    .into_response()
}

fn unreadable(api: bool) -> Response {
    let message = "The request could not be read. Please try again.";
    if api {
        return ApiError::bad_request(message).into_response();
    }
    PageError::bad_request(message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PAN: &str = "4111 1111 1111 1111";

    fn json_body(v: &Value) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        check_body(&h, v.to_string().as_bytes())
    }

    #[test]
    fn millisecond_times_are_not_card_numbers() {
        // 1763733600003 passes the Luhn check; as a `sold_at` time it is not card data.
        let at = 1_763_733_600_003u64;
        assert!(find_card_number(&at.to_string()).is_some());
        assert_eq!(json_body(&json!({"sold_at": at})), None);
        // A card number typed as a string into such a field is still refused.
        assert_eq!(
            json_body(&json!({"sold_at": PAN})).as_deref(),
            Some("sold_at")
        );
    }

    #[test]
    fn query_names_the_parameter() {
        assert_eq!(
            check_query("q=4111-1111-1111-1111&page=2").as_deref(),
            Some("q")
        );
        assert_eq!(
            check_query("q=4111%201111%201111%201111").as_deref(),
            Some("q")
        );
        assert_eq!(check_query("q=4111+1111+1111+1111").as_deref(), Some("q"));
        assert_eq!(check_query("q=shirt&limit=20&cursor=MDE5MGYwYTA"), None);
    }

    #[test]
    fn a_form_sent_with_another_content_type_is_still_checked() {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let encoded = "note=4%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31";
        assert_eq!(check_body(&h, encoded.as_bytes()).as_deref(), Some("note"));
        assert_eq!(check_body(&h, b"note=hello&qty=2"), None);
    }

    #[test]
    fn only_a_real_barcode_is_exempt_in_a_barcode_field() {
        let j = |v: &str| serde_json::from_str::<Value>(v).unwrap();
        // A valid EAN-13 that also passes Luhn may be saved as a barcode.
        assert_eq!(
            check_json(&j(r#"{"barcode":"5000010001092"}"#), "", None),
            None
        );
        // A card number typed into a barcode field, at any depth, is refused.
        let nested = j(r#"{"options":{"barcode":"4111 1111 1111 1111"}}"#);
        assert_eq!(
            check_json(&nested, "", None).as_deref(),
            Some("options.barcode")
        );
        let plain = j(r#"{"gtin":"4111111111111111"}"#);
        assert_eq!(check_json(&plain, "", None).as_deref(), Some("gtin"));
        let pairs = form_urlencoded::parse(b"barcode=4111111111111111");
        assert_eq!(check_pairs(pairs).as_deref(), Some("barcode"));
    }

    #[test]
    fn neighbouring_fields_never_join() {
        // 8 + 8 digits in two fields would be a Luhn-valid 16-digit run if joined.
        assert_eq!(check_query("a=41111111&b=11111111"), None);
        assert_eq!(json_body(&json!({"a": "41111111", "b": 11111111})), None);
    }

    #[test]
    fn json_names_the_path_at_any_depth() {
        let v = json!({"name": "Mug", "variants": [{"sku": "A"}, {"options": {"Note": PAN}}]});
        assert_eq!(json_body(&v).as_deref(), Some("variants[1].options.Note"));
        let v = json!({"order": {"amount": 4111111111111111u64}});
        assert_eq!(json_body(&v).as_deref(), Some("order.amount"));
        assert_eq!(
            json_body(&json!({"n": 4111111111111111.0})).as_deref(),
            Some("n")
        );
        assert_eq!(json_body(&json!([PAN])).as_deref(), Some("[0]"));
        assert_eq!(json_body(&json!(PAN)).as_deref(), Some("body"));
    }

    #[test]
    fn a_card_number_as_a_field_name_is_refused_but_not_echoed() {
        let named = json_body(&json!({ "4111111111111111": "x" })).unwrap();
        assert!(!named.contains("4111"), "{named}");
        let named = check_query("4111111111111111=x").unwrap();
        assert!(!named.contains("4111"), "{named}");
    }

    #[test]
    fn fields_that_are_not_card_data_are_skipped() {
        assert_eq!(
            check_query("barcode=5000010001092&csrf=4111111111111111"),
            None
        );
        assert_eq!(
            json_body(&json!({"variants": [{"barcode": "5000010001092"}]})),
            None
        );
        assert_eq!(
            check_query("note=4111111111111111&token=x").as_deref(),
            Some("note")
        );
    }

    #[test]
    fn other_bodies_are_read_as_text() {
        let mut h = HeaderMap::new();
        assert_eq!(check_body(&h, PAN.as_bytes()).as_deref(), Some("body"));
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        let broken = format!("{{\"note\": \"{PAN}\"");
        assert_eq!(check_body(&h, broken.as_bytes()).as_deref(), Some("body"));
        h.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            check_body(&h, b"note=4111-1111-1111-1111").as_deref(),
            Some("note")
        );
        assert_eq!(check_body(&h, b"note=call+%2B44+20+7946+0958"), None);
    }
}
