//! Validation errors that name the offending field.

/// A rule broken by user input: which field, and a message a person understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field at fault, as the API and forms name it (e.g. `price_minor`).
    pub field: String,
    /// A human-readable explanation, safe to show to the user.
    pub message: String,
}

impl ValidationError {
    /// Build an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
