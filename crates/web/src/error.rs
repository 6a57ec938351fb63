//! Errors as HTTP responses: JSON for the API (`{"error": {"code", "message", "field"}}`), with the
//! right status. Internal details are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use storefort_core::ValidationError;
use storefort_store::StoreError;

/// An API error response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code (`invalid_field`, `not_found`, `conflict`, ...).
    pub code: &'static str,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// What a person should know.
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
/// The body of every API error.
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
/// Details of an API error.
pub struct ErrorDetail {
    /// Stable machine code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Offending field, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            field: None,
            message: message.into(),
        }
    }

    /// Name the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 422 for a broken rule on `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }

    /// 400 for a request we cannot parse at all.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no or bad credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in or send a valid API key",
        )
    }

    /// 403: credentials fine, action not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500, with the cause logged here and hidden from the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::NotFound { what, id } => {
                let shown: String = id.chars().take(64).collect();
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("{what} {shown:?} not found"),
                )
            }
            StoreError::Conflict { field } => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{field} is already in use by another record"),
            )
            .field(field),
            StoreError::Erased => ApiError::new(
                StatusCode::GONE,
                "erased",
                "this customer's personal data was erased",
            ),
            StoreError::Busy(what) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                format!("the {what} is being changed by something else; please try again"),
            ),
            StoreError::Gone(message) => ApiError::new(StatusCode::GONE, "gone", message),
            StoreError::State { field, message } => {
                ApiError::new(StatusCode::CONFLICT, "state", message).field(field)
            }
            other => ApiError::internal(&other),
        }
    }
}

/// Result type for API handlers.
pub type ApiResult<T> = Result<T, ApiError>;
