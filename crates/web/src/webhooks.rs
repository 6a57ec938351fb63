//! `POST /webhooks/{gateway}`: notifications from payment providers. Each is verified by its
//! gateway (Stripe: the `Stripe-Signature` HMAC, 5-minute tolerance, so a captured event replayed
//! later is refused with 400), processed once per event ID (a second delivery of an event already
//! processed is answered 200 "already processed" and changes nothing, so the provider stops
//! retrying), and applied through `payment_flow` like a shopper's return.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use storefort_core::ids::OrderId;

use crate::error::{ApiError, ApiResult};
use crate::payment_flow::{apply, gateway_error};
use crate::AppState;

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/{gateway}", post(receive))
}

async fn receive(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let Some(g) = state.gateways.get(&gateway) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "no payment gateway {:?} is enabled",
                gateway.chars().take(40).collect::<String>()
            ),
        ));
    };
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let event = g
        .webhook(&pairs, &body, state.db.now())
        .map_err(gateway_error)?;
    if !state.db.webhook_first_time(g.id(), &event.id).await? {
        return Ok(
            Json(serde_json::json!({"status": "already processed", "event": event.id}))
                .into_response(),
        );
    }
    let result = async {
        if let (Some(reference), Some(st)) = (&event.reference, &event.state) {
            if let Some(p) = state.db.payment_by_reference(g.id(), reference).await? {
                let order = OrderId(p.order_id.clone());
                apply(
                    &state,
                    &order,
                    g.as_ref(),
                    reference,
                    st,
                    &format!("{} webhook", g.id()),
                )
                .await?;
            }
        }
        Ok::<(), ApiError>(())
    }
    .await;
    if let Err(e) = result {
        // Let the provider deliver it again.
        state.db.forget_webhook(g.id(), &event.id).await?;
        return Err(e);
    }
    Ok(Json(serde_json::json!({"status": "processed", "event": event.id})).into_response())
}
