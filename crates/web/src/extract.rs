//! Request extractors whose errors name the field: JSON bodies and query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Errors: 415 without a JSON content type, 413 when too large, 400 for malformed
/// JSON, 422 for a wrong type, an unknown or a missing field (naming it).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the body is larger than {} KiB",
                        crate::app::MAX_BODY_BYTES / 1024
                    ),
                )
            } else {
                ApiError::bad_request(e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parse JSON bytes with errors that name the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!(
                "malformed JSON at line {} column {}",
                inner.line(),
                inner.column()
            ))
            .field("body");
        }
        let msg = inner.to_string();
        let field = field_name(&e.path().to_string(), &msg);
        let message = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::invalid(field, message)
    })
}

/// The field an error is about: serde names unknown and missing fields in the message; the path
/// points at an unknown field itself but at a missing field's parent.
fn field_name(path: &str, msg: &str) -> String {
    let quoted = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.starts_with("unknown field") || msg.starts_with("missing field"));
    match (quoted, path) {
        (Some(name), "." | "") => name.to_string(),
        (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        (Some(name), p) => format!("{p}.{name}"),
        (None, "." | "") => "body".to_string(),
        (None, p) => p.to_string(),
    }
}

/// Query-string parameters with errors that name the parameter (400).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parse a query string with errors that name the parameter.
pub fn parse_query<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let msg = e.inner().to_string();
        let field = field_name(&e.path().to_string(), &msg);
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", msg).field(field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct In {
        name: String,
        price_minor: i64,
        inner: Option<Inner>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        qty: i64,
    }

    #[test]
    fn json_errors_name_the_field() {
        let e = parse_json::<In>(b"{\"name\": 1, \"price_minor\": 2}").unwrap_err();
        assert_eq!((e.status.as_u16(), e.field.as_deref()), (422, Some("name")));
        let e = parse_json::<In>(b"{\"name\": \"x\", \"price_minor\": 99999999999999999999}")
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("price_minor"));
        let e =
            parse_json::<In>(b"{\"name\": \"x\", \"price_minor\": 1, \"extra\": 1}").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("extra"));
        let e = parse_json::<In>(b"{\"name\": \"x\"}").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("price_minor"));
        let e =
            parse_json::<In>(b"{\"name\": \"x\", \"price_minor\": 1, \"inner\": {\"qty\": \"a\"}}")
                .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("inner.qty"));
        let e = parse_json::<In>(b"{\"name\": ").unwrap_err();
        assert_eq!(e.status.as_u16(), 400);
    }

    #[test]
    fn query_errors_name_the_parameter() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<i64>,
        }
        let e = parse_query::<Q>("limit=abc").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        assert!(parse_query::<Q>("limit=5").is_ok());
    }
}
