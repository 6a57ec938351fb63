//! Errors of the till's API: `{"error": code, "message": text, "field": name}` with the right
//! status. A revoked device's answer also carries `Clear-Site-Data`, so the browser wipes the
//! shop's cookies, storage and cache even before the app's own wipe runs.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use storefort_core::ValidationError;
use storefort_store::StoreError;

use crate::error::ApiError;

/// What a revoked device is told, word for word (the app shows it after wiping itself).
pub const REVOKED_MESSAGE: &str =
    "This device was removed from the shop. Ask a manager to pair it again.";

/// An error answer to the till.
#[derive(Debug, Clone)]
pub struct PosError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code the app switches on (`device_revoked`, `locked`, `wrong_pin`, ...).
    pub code: &'static str,
    /// What the cashier reads.
    pub message: String,
    /// The field at fault (`pin`, `lines[0].quantity`).
    pub field: Option<String>,
}

/// Result of a till handler.
pub type PosResult<T> = Result<T, PosError>;

impl PosError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// Name the field at fault.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    /// 401: this browser is not a paired till.
    pub fn not_paired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "not_paired",
            "This browser is not a till of the shop yet. Type the pairing code a manager gave you.",
        )
    }

    /// 401 + Clear-Site-Data: the device was revoked.
    pub fn revoked() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "device_revoked", REVOKED_MESSAGE)
    }

    /// 401: nobody is signed in on the till, or the screen locked after being idle.
    pub fn locked() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "locked",
            "The till is locked. Enter your PIN to carry on.",
        )
    }

    /// 403: a manager's PIN is needed for this.
    pub fn approval_required(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "approval_required", message).field("approver")
    }

    /// 422 naming a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }

    /// 500 with the cause logged, not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        ApiError::internal(cause).into()
    }
}

impl IntoResponse for PosError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message});
        if let Some(f) = &self.field {
            body["field"] = json!(f);
        }
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.code == "device_revoked" {
            res.headers_mut().insert(
                "clear-site-data",
                HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
            );
            // For browsers without Clear-Site-Data: the credential cookie goes too.
            res.headers_mut().insert(
                axum::http::header::SET_COOKIE,
                HeaderValue::from_static(
                    "__Host-sf_pos=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
        }
        res
    }
}

impl From<ApiError> for PosError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            code: e.code,
            message: e.message,
            field: e.field,
        }
    }
}

impl From<StoreError> for PosError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ValidationError> for PosError {
    fn from(e: ValidationError) -> Self {
        ApiError::from(e).into()
    }
}
