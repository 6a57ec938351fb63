//! The store's error type: validation, not found, conflicts, and database failures.

use storefort_core::ValidationError;

/// What went wrong in the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A referenced record does not exist.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of record ("product", "location", ...).
        what: &'static str,
        /// The ID or key that was looked up.
        id: String,
    },
    /// A unique value is already taken.
    #[error("{field} is already in use")]
    Conflict {
        /// The field whose value is taken.
        field: String,
    },
    /// The database URL names an engine we do not support.
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The master key was not loaded, so secrets cannot be sealed nor the audit log written.
    #[error(
        "the shop's master key is not loaded (run `storefort init`, then start with its config)"
    )]
    NoKeys,
    /// A sealed value would not open, or a secret could not be made.
    #[error(transparent)]
    Crypto(#[from] storefort_crypto::CryptoError),
    /// The master key given is not the one this database's keys were wrapped with.
    #[error(
        "the master key does not match this database (its keys were made with master key \
         {expected}, the key given is {given}): check master_key_file or STOREFORT_MASTER_KEY"
    )]
    WrongMasterKey {
        /// Fingerprint recorded in the database.
        expected: String,
        /// Fingerprint of the key given.
        given: String,
    },
    /// A key a value names no longer exists (retired, or the customer was erased).
    #[error("key {0} no longer exists (retired or erased)")]
    KeyGone(String),
    /// A sealed field did not open: it was moved from another row or column, or changed.
    #[error(
        "the sealed value of {context} does not open: it was changed or moved from another row"
    )]
    Unreadable {
        /// `table.column:row` of the value.
        context: String,
    },
    /// The customer's personal data was erased; nothing can be added to it.
    #[error("this customer's personal data was erased")]
    Erased,
    /// A write kept racing with another change (e.g. a key rotation); try again.
    #[error("the {0} is being changed by something else; please try again")]
    Busy(&'static str),
    /// The erasure ledger file could not be read or written.
    #[error("erasure ledger: {0}")]
    Ledger(String),
    /// The request no longer applies: the cart expired, the payment window closed (HTTP 410).
    #[error("{0}")]
    Gone(String),
    /// The record is in a state that does not allow this (a capture of a voided payment, a
    /// refund of a cancelled order, stock sold out meanwhile). HTTP 409, the message names why.
    #[error("{message}")]
    State {
        /// The field or thing concerned (`status`, `quantity`, `amount`).
        field: String,
        /// What a person should read.
        message: String,
    },
    /// Any other database failure.
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

/// Columns whose unique constraints map to a named conflict.
const UNIQUE_FIELDS: &[&str] = &["sku", "barcode", "slug", "email", "name", "key_hash"];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                let text = format!("{} {}", db.message(), db.constraint().unwrap_or(""));
                let field = UNIQUE_FIELDS
                    .iter()
                    .find(|f| text.contains(&format!(".{f}")) || text.contains(&format!("_{f}_")))
                    .copied()
                    .unwrap_or("value");
                return StoreError::Conflict {
                    field: field.to_string(),
                };
            }
        }
        StoreError::Db(e)
    }
}

impl StoreError {
    /// Shorthand for a state conflict.
    pub fn state(field: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError::State {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a missing record.
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        StoreError::NotFound {
            what,
            id: id.into(),
        }
    }
}
