//! storefort's HTTP layer: the `/api/v1` JSON API, the storefront and `/admin` pages, the
//! security middleware (headers, sessions, CSRF, forwarded-header trust) and the TLS server.
//! Handlers are thin: parse, authorize, call the store, render.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod background;
mod card_guard;
pub mod emails;
pub mod error;
pub mod extract;
pub mod fraud_review;
pub mod fraud_screen;
pub mod geoip;
pub mod hasher;
pub mod login;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod order_mail;
pub mod outbox_worker;
pub mod pages;
pub mod passwords;
pub mod payment_flow;
pub mod payment_flow_staff;
pub mod payment_page;
pub mod plugin_hooks;
pub mod pos;
pub mod rate_limit;
pub mod server;
pub mod tls;
pub mod webhooks;

pub use app::{router, AppState, WebConfig};
