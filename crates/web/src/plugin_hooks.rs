//! Where the shop's flow meets its plugins: checkout validation before an order is placed,
//! the notification after, and fraud signals while screening. (Cart discounts run inside the
//! store's pricing, through the adjuster set in [`crate::AppState::with_plugins`].) Plugins
//! never stop the flow: a failing one is skipped inside the plugin service.

use storefort_core::checkout::CheckoutInput;
use storefort_core::fraud::Reason;
use storefort_core::ids::OrderId;
use storefort_plugins::hooks::{LineFacts, OrderFacts};
use storefort_store::carts::Cart;
use storefort_store::order_read::OrderDetail;
use storefort_store::StoreError;

use crate::AppState;

/// Ask the plugins whether this checkout may go ahead; a refusal is a 422 naming `checkout`,
/// with the plugin's message for the shopper. Nothing is placed.
pub async fn validate(state: &AppState, cart: &Cart, c: &CheckoutInput) -> Result<(), StoreError> {
    let Some(p) = &state.plugins else {
        return Ok(());
    };
    if p.running() == 0 {
        return Ok(());
    }
    let (quote, _) = state.db.checkout_quote(cart, c).await?;
    let facts = OrderFacts {
        channel: "web".into(),
        shipping_method: c.shipping_method_id.clone(),
        lines: quote
            .lines
            .iter()
            .map(|l| LineFacts {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
            })
            .collect(),
        goods_minor: quote.goods_minor,
        discount_minor: quote.discount_minor,
        total_minor: quote.goods_minor - quote.discount_minor,
        email: c.email.clone(),
        phone: c.phone.clone(),
        billing: c.billing.clone(),
        shipping: c.shipping.clone(),
        ..Default::default()
    };
    match p.checkout_validate(&facts, &state.db.currency) {
        None => Ok(()),
        Some((plugin, message)) => {
            tracing::info!(plugin = %plugin, "a plugin refused a checkout");
            Err(storefort_core::ValidationError::new("checkout", message).into())
        }
    }
}

/// What plugins may be told about a placed order (before filtering by permission).
pub fn facts_of(d: &OrderDetail) -> OrderFacts {
    let r = &d.record;
    OrderFacts {
        order_number: Some(d.summary.number),
        channel: d.summary.channel.clone(),
        created_at: Some(d.summary.created_at),
        shipping_method: d.shipping_method.clone(),
        lines: d
            .lines
            .iter()
            .map(|l| LineFacts {
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price_minor: l.unit_price_minor,
                quantity: l.quantity,
            })
            .collect(),
        goods_minor: d.subtotal_minor,
        discount_minor: d.discount_minor,
        total_minor: d.summary.total_minor,
        email: r.email.clone(),
        phone: r.phone.clone(),
        billing: r.billing.clone().unwrap_or_default(),
        shipping: r.shipping.clone(),
    }
}

/// Tell the plugins an order was placed (their notifications go out in the background).
/// Never fails the caller.
pub async fn order_created(state: &AppState, order: &OrderId) {
    let Some(p) = &state.plugins else { return };
    if p.running() == 0 {
        return;
    }
    match state.db.order_detail(order).await {
        Ok(d) => {
            p.order_created(&facts_of(&d), &state.db.currency);
        }
        Err(e) => tracing::warn!(order = %order.0, error = %e, "plugins not told of a new order"),
    }
}

/// The plugins' fraud signals for an order being screened, as screening reasons coded
/// `plugin:<name>` (the reason says which plugin).
pub fn fraud_reasons(state: &AppState, d: &OrderDetail) -> Vec<Reason> {
    let Some(p) = &state.plugins else {
        return Vec::new();
    };
    p.fraud_signals(&facts_of(d), &state.db.currency)
        .into_iter()
        .map(|(plugin, s)| Reason {
            code: format!("plugin:{plugin}"),
            points: s.points,
            text: format!("{} (plugin {plugin})", s.reason.trim()),
        })
        .collect()
}
