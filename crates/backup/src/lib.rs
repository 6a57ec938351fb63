//! Backups: a consistent snapshot of the shop's database (SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump`), packed with a manifest into a tar stream, compressed with zstd and encrypted with
//! age to the owner's recipient key; sent to local and S3-compatible destinations, verified
//! after upload, pruned by retention; verified and restored with the owner's identity (the
//! recovery kit), which the server never holds.
#![forbid(unsafe_code)]

pub mod archive;
pub mod dest;
mod error;
pub mod keys;
pub mod lock;
pub mod manifest;
pub mod progress;
pub mod restore;
pub mod retention;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod snapshot;
pub mod verify;

pub use error::BackupError;
