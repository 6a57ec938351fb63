//! Cash at the till: the money is in the drawer when the sale is made, so `authorize` answers
//! `Captured` at once. Offered on the POS only. No book of its own (see [`crate::manual`]).

use crate::types::{check_amount, check_request};
use crate::{
    Authorization, AuthorizeRequest, Channel, Gateway, GatewayError, NextStep, PaymentState,
    PaymentStatus, RefundResult, WebhookEvent,
};

/// The cash gateway.
#[derive(Debug, Clone, Default)]
pub struct CashGateway;

impl CashGateway {
    /// The cash gateway.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait::async_trait]
impl Gateway for CashGateway {
    fn id(&self) -> &'static str {
        "cash"
    }

    fn label(&self) -> String {
        "Cash".into()
    }

    fn channels(&self) -> &'static [Channel] {
        &[Channel::Pos]
    }

    /// Reference `cash-{order_id}`; `Captured` for the whole amount.
    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, GatewayError> {
        check_request(req)?;
        let mut s = PaymentState::new(PaymentStatus::Captured, req.amount_minor);
        s.captured_minor = req.amount_minor;
        Ok(Authorization {
            reference: format!("cash-{}", req.order_id),
            state: s,
            next: NextStep::None,
        })
    }

    async fn status(&self, _reference: &str) -> Result<PaymentState, GatewayError> {
        Err(GatewayError::NotSupported(
            "cash has no provider to ask: the order's payment record is the truth",
        ))
    }

    /// Cash is taken when the sale is made; capturing again just says so.
    async fn capture(
        &self,
        _reference: &str,
        amount_minor: i64,
    ) -> Result<PaymentState, GatewayError> {
        check_amount(amount_minor)?;
        let mut s = PaymentState::new(PaymentStatus::Captured, amount_minor);
        s.captured_minor = amount_minor;
        Ok(s)
    }

    async fn void(&self, _reference: &str) -> Result<PaymentState, GatewayError> {
        Err(GatewayError::Conflict(
            "cash was taken when the sale was made: refund it instead of voiding".into(),
        ))
    }

    /// Cash handed back from the drawer.
    async fn refund(
        &self,
        reference: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<RefundResult, GatewayError> {
        crate::types::offline_refund(reference, amount_minor, idempotency_key)
    }

    fn webhook(
        &self,
        _headers: &[(String, String)],
        _body: &[u8],
        _now_ms: i64,
    ) -> Result<WebhookEvent, GatewayError> {
        Err(GatewayError::NotSupported("cash sends no webhooks"))
    }
}
