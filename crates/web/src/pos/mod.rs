//! The till (point of sale) app: its HTML shell, scripts and service worker, and its JSON API
//! under `/pos/api/`. A browser becomes a till by pairing with a one-time code (`session.rs`);
//! every request then proves the device (`till.rs`) and, for selling, the cashier who unlocked
//! it with their PIN. Sales, refunds and shifts go through `storefort_store`'s POS repositories.

pub mod approve;
pub mod catalog;
pub mod error;
pub mod offline_sales;
pub mod receipt;
pub mod refunds;
pub mod sales;
pub mod session;
pub mod shell;
pub mod shifts;
pub mod till;
pub mod z_report;

use axum::extract::{FromRequest, Request};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;

use crate::extract::ApiJson;
use crate::AppState;
use error::PosError;

/// A JSON body whose errors (malformed, wrong type, unknown field) come back in the till's
/// error shape, naming the field.
pub struct PosJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PosJson<T> {
    type Rejection = PosError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PosError> {
        let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
        Ok(PosJson(v))
    }
}

/// Every till route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pos", get(shell::page))
        .route("/pos/", get(shell::page))
        .route("/pos/static/{file}", get(shell::file))
        .route("/pos/sw.js", get(shell::service_worker))
        .route("/pos/receipt/{number}", get(receipt::page))
        .route("/pos/z/{shift_id}", get(z_report::page))
        .route("/pos/api/pair", post(session::pair))
        .route("/pos/api/state", get(session::state))
        .route("/pos/api/heartbeat", post(session::heartbeat))
        .route("/pos/api/unlock", post(session::unlock))
        .route("/pos/api/lock", post(session::lock))
        .route("/pos/api/sign-out", post(session::sign_out))
        .route("/pos/api/pin", post(session::change_pin))
        .route("/pos/api/items", get(catalog::items))
        .route("/pos/api/search", get(catalog::search))
        .route("/pos/api/code/{code}", get(catalog::by_code))
        .route("/pos/api/customers", post(catalog::customers))
        .route("/pos/api/sales", post(sales::create))
        .route("/pos/api/sales/offline", post(offline_sales::create))
        .route("/pos/api/sales/{number}", get(sales::show))
        .route("/pos/api/sales/{number}/refund", post(refunds::create))
        .route("/pos/api/sales/{number}/email", post(sales::email))
        .route("/pos/api/shift", get(shifts::current))
        .route("/pos/api/shift/open", post(shifts::open))
        .route("/pos/api/shift/cash", post(shifts::cash))
        .route("/pos/api/shift/close", post(shifts::close))
}
