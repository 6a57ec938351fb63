//! storefort's key material and hashing: the master key file, random tokens and their hashes,
//! staff password hashing (argon2id) and the staff password policy, sealing of secrets at
//! rest, TOTP and the audit log's hash chain.
#![forbid(unsafe_code)]

pub mod chain;
pub mod keyring;
pub mod master_key;
pub mod password;
pub mod seal;
pub mod shopper_password;
pub mod token;
pub mod totp;

/// Errors from this crate.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// Path of the key file.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The key file exists but does not hold a valid key.
    #[error("key file {0} is not a valid storefort master key (expected 64 hex characters)")]
    BadKey(String),
    /// Password hashing failed (bad parameters or a corrupt stored hash).
    #[error("password hashing: {0}")]
    Hash(String),
    /// A sealed value did not open: wrong key, changed, or moved from another row.
    #[error("a sealed value could not be decrypted (wrong key or tampered)")]
    Seal,
    /// TOTP set-up failed.
    #[error("one-time codes: {0}")]
    Totp(String),
}
