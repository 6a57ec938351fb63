//! Manual payments: bank transfer, or an external card terminal at the till. Nothing is asked
//! of a provider: the order waits (`Pending`) until staff mark the money as received, which is
//! a capture here. These gateways keep no book of their own, so the order's payment record is
//! the source of truth; states returned here carry only what the call itself knows.

use crate::types::{check_amount, check_request};
use crate::{
    Authorization, AuthorizeRequest, Channel, Gateway, GatewayError, NextStep, PaymentState,
    PaymentStatus, RefundResult, WebhookEvent,
};

/// The manual gateway.
#[derive(Debug, Clone)]
pub struct ManualGateway {
    label: String,
    instructions: String,
}

impl ManualGateway {
    /// A manual gateway labelled "Bank transfer", with payment instructions for the shopper
    /// (shown on the order confirmation).
    pub fn new(instructions: String) -> Self {
        Self {
            label: "Bank transfer".into(),
            instructions,
        }
    }

    /// The same gateway under another name (e.g. "Card terminal").
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// How the shopper should pay.
    pub fn instructions(&self) -> &str {
        &self.instructions
    }
}

#[async_trait::async_trait]
impl Gateway for ManualGateway {
    fn id(&self) -> &'static str {
        "manual"
    }

    fn instructions(&self) -> Option<String> {
        Some(self.instructions.clone())
    }

    fn label(&self) -> String {
        self.label.clone()
    }

    fn channels(&self) -> &'static [Channel] {
        &[Channel::Web, Channel::Pos]
    }

    /// Reference `manual-{order_id}`; status `Pending`; nothing for the shopper to do now.
    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, GatewayError> {
        check_request(req)?;
        Ok(Authorization {
            reference: format!("manual-{}", req.order_id),
            state: PaymentState::new(PaymentStatus::Pending, req.amount_minor),
            next: NextStep::None,
        })
    }

    async fn status(&self, _reference: &str) -> Result<PaymentState, GatewayError> {
        Err(GatewayError::NotSupported(
            "manual payments have no provider to ask: the order's payment record is the truth",
        ))
    }

    /// Staff marked the money as received: `Captured` for `amount_minor`.
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

    /// Nothing was taken, so nothing to give back: `Voided` (amounts unknown here: 0).
    async fn void(&self, _reference: &str) -> Result<PaymentState, GatewayError> {
        Ok(PaymentState::new(PaymentStatus::Voided, 0))
    }

    /// Staff pay the money back themselves; the answer records `amount_minor` as refunded
    /// (other amounts unknown here: 0). Reference `{reference}-refund-{idempotency_key}`.
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
        Err(GatewayError::NotSupported(
            "manual payments send no webhooks",
        ))
    }
}
