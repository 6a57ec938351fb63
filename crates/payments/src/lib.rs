//! Payment gateways behind one trait: `stripe`, `sandbox`, `manual`, `cash`. The shop never
//! sees card numbers: only the gateway's reference, card brand and last 4 digits come back.
#![forbid(unsafe_code)]

pub mod cash;
pub mod manual;
pub mod registry;
pub mod sandbox;
pub mod stripe;
mod stripe_map;
pub mod stripe_webhook;
pub mod types;

pub use cash::CashGateway;
pub use manual::ManualGateway;
pub use registry::Gateways;
pub use sandbox::SandboxGateway;
pub use stripe::{StripeConfig, StripeGateway};
pub use types::{
    Authorization, AuthorizeRequest, Card, Channel, Check, Checks, GatewayError, NextStep,
    PaymentState, PaymentStatus, RefundResult, WebhookEvent,
};

/// A way to take payment. Implementations talk to their provider; the caller keeps the order
/// and its payment record and decides what each answer means for the order.
#[async_trait::async_trait]
pub trait Gateway: Send + Sync {
    /// Stable ID: `"stripe"`, `"sandbox"`, `"manual"` or `"cash"` (stored with each payment).
    fn id(&self) -> &'static str;

    /// Name shown to shoppers and staff ("Card (test mode)", "Bank transfer").
    fn label(&self) -> String;

    /// What the shopper must do to pay offline (bank details), shown on the order page and in
    /// the confirmation email; `None` for gateways that take the money themselves.
    fn instructions(&self) -> Option<String> {
        None
    }

    /// Where this gateway may be offered (cash: the till only).
    fn channels(&self) -> &'static [Channel];

    /// Start a payment. The answer says what the shopper does next.
    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, GatewayError>;

    /// Ask the provider where a payment stands.
    async fn status(&self, reference: &str) -> Result<PaymentState, GatewayError>;

    /// Take `amount_minor` (at most what was authorized) of an authorized payment.
    /// A voided or declined payment is a [`GatewayError::Conflict`].
    async fn capture(
        &self,
        reference: &str,
        amount_minor: i64,
    ) -> Result<PaymentState, GatewayError>;

    /// Cancel a payment before capture. Voiding an already voided payment returns its state
    /// (so a retried cancellation succeeds); a captured one is a [`GatewayError::Conflict`].
    async fn void(&self, reference: &str) -> Result<PaymentState, GatewayError>;

    /// Give back `amount_minor` of captured money (at most what is left). The same
    /// `idempotency_key` on a retry does not refund twice.
    async fn refund(
        &self,
        reference: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<RefundResult, GatewayError>;

    /// Verify and read a notification sent by the provider. `headers` are (name, value)
    /// pairs as received (names in any case); `now_ms` is the current UTC time.
    fn webhook(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now_ms: i64,
    ) -> Result<WebhookEvent, GatewayError>;
}
