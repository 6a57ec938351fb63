//! storefort's domain and policy. Pure: no I/O, no clock calls, no async.
//! Everything here is deterministic so it can be tested exhaustively.
#![forbid(unsafe_code)]

pub mod access;
pub mod catalog;
pub mod checkout;
pub mod customer;
pub mod error;
pub mod fraud;
pub mod ids;
pub mod model;
pub mod money;
pub mod order_state;
pub mod pan;
pub mod pos;
pub mod pos_device_rules;
pub mod pricing;
pub mod redact;
pub mod stock;
pub mod text;

pub use error::ValidationError;
