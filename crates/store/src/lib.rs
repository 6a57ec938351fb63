//! storefort persistence: sqlx over SQLite (embedded default) and PostgreSQL, chosen by the
//! database URL's scheme. One SQL text serves both engines (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, integer money and times); migrations are kept per engine.
#![forbid(unsafe_code)]

pub mod addresses;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod customers;
pub mod db;
pub mod discounts;
pub mod error;
pub mod fraud_settings;
pub mod keys;
pub mod mfa;
pub mod order_flow;
pub mod order_read;
pub mod orders;
pub mod outbox;
pub mod payment_records;
pub mod payment_scripts;
pub mod plugins;
pub mod pos_catalog;
pub mod pos_devices;
pub mod pos_grants;
pub mod pos_parties;
pub mod pos_pins;
pub mod pos_refunds;
pub mod pos_sale_read;
pub mod pos_sales;
pub mod pos_settings;
pub mod pos_shifts;
pub mod privacy;
pub mod products;
pub mod reviews;
pub mod risk;
pub mod rotation;
pub mod sandbox;
pub mod sessions;
pub mod shop_settings;
pub mod shopper_sessions;
pub mod staff;
pub mod stock;
pub mod vault;
pub mod velocity;

pub use db::{Backend, Clock, Db, ManualClock, SystemClock};
pub use error::StoreError;
