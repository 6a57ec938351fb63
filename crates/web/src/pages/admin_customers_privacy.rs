//! The owner's privacy duties on one customer: export everything stored about them (a JSON
//! download, for a subject access request) and erase their personal data (orders are kept for
//! accounting with the personal fields erased). Both need the password typed within the last
//! few minutes and are audited.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use storefort_core::ids::CustomerId;
use storefort_store::privacy::ErasureReason;
use storefort_store::StoreError;

use super::admin::{checked_form, see_other};
use super::admin_customers::{customer_url, record};
use super::admin_customers_detail::{detail_page, Extras};
use super::admin_customers_form::FieldError;
use super::render::PageError;
use crate::auth::{perm, Admin};
use crate::middleware::ClientInfo;
use crate::AppState;

/// Owners only.
pub type PrivacyOwner = Admin<perm::CustomersPrivacy>;

/// What the owner types to confirm an erasure.
pub const CONFIRM_WORD: &str = "ERASE";

/// Where the password prompt sends the owner back to: the customer's page, saying that the
/// password was confirmed and the action can be pressed again (a download cannot be resumed
/// from a redirect).
fn back(id: &str) -> String {
    crate::pages::admin_customers::customer_url(id, "confirmed")
}

/// `POST /admin/customers/{id}/export`: everything about the customer as a JSON download
/// (audited as `customer.exported`).
pub async fn export(
    s: PrivacyOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    checked_form(&s, &body)?;
    let c = state.db.customer(&CustomerId(id)).await?;
    if let Err(to) = s.require_recent_password(&state, &back(c.id.as_str())) {
        return Ok(to.into_response());
    }
    let data = state.db.export_customer(&c.id).await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| PageError::internal(&e))?;
    let orders = data["orders"].as_array().map_or(0, Vec::len);
    let details = format!("JSON download, {orders} orders");
    record(
        &state,
        &s,
        &client,
        "customer.exported",
        c.id.as_str(),
        details,
    )
    .await?;
    // The ID is a checked UUID, so it is safe inside the quoted file name.
    let disposition = format!("attachment; filename=\"customer-{}.json\"", c.id.as_str());
    let disposition = HeaderValue::from_str(&disposition).map_err(|e| PageError::internal(&e))?;
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /admin/customers/{id}/erase` (field `confirm` must be `ERASE`): erase the customer's
/// personal data for good (audited as `customer.erased`), then show the emptied record.
pub async fn erase(
    s: PrivacyOwner,
    State(state): State<AppState>,
    Extension(client): Extension<ClientInfo>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = checked_form(&s, &body)?;
    let c = state.db.customer(&CustomerId(id)).await?;
    if f.text("confirm") != CONFIRM_WORD {
        let x = Extras {
            error: Some(FieldError::new(
                "confirm",
                "type ERASE (in capitals) to confirm that this customer's personal data should \
                 be erased for good",
            )),
            ..Default::default()
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return detail_page(&state, &s, &client, c, status, x, "erase form shown again").await;
    }
    if let Err(to) = s.require_recent_password(&state, &back(c.id.as_str())) {
        return Ok(to.into_response());
    }
    if c.erased_at.is_some() {
        return Ok(see_other(&customer_url(c.id.as_str(), "erased")));
    }
    let orders = state.db.orders_of_customer(&c.id).await?.len();
    let mut details = format!("on request; {orders} orders kept without personal details");
    match state.db.erase_customer(&c.id, ErasureReason::Request).await {
        Ok(()) => {}
        Err(StoreError::Ledger(e)) => {
            // Erased in the database, but a restored backup would not erase them again.
            tracing::error!(error = %e, "erasure ledger not written");
            details.push_str("; the erasure ledger file could not be written");
            record(
                &state,
                &s,
                &client,
                "customer.erased",
                c.id.as_str(),
                details,
            )
            .await?;
            return Err(PageError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                title: "Erased, but not recorded in the ledger",
                message: "The customer's personal data was erased, but the erasure ledger file                           could not be written, so restoring an older backup would bring the                           data back. Ask whoever runs the server to check the ledger file."
                    .into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    record(
        &state,
        &s,
        &client,
        "customer.erased",
        c.id.as_str(),
        details,
    )
    .await?;
    Ok(see_other(&customer_url(c.id.as_str(), "erased")))
}
