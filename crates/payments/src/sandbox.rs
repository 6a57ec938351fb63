//! The sandbox gateway: a built-in test provider. `authorize` opens a payment in the store's
//! `sandbox_payments` book and sends the shopper to the TEST MODE page at
//! `{public_url}/sandbox/pay/{reference}`, where they pick an outcome (no card fields at all).

use std::collections::HashMap;

use storefort_store::sandbox::{SandboxOutcome, SandboxPayment, SandboxStatus};
use storefort_store::{Db, StoreError};
use tokio::sync::Mutex;

use crate::types::{check_amount, check_request};
use crate::{
    Authorization, AuthorizeRequest, Card, Channel, Check, Checks, Gateway, GatewayError, NextStep,
    PaymentState, PaymentStatus, RefundResult, WebhookEvent,
};

/// Refunds remembered for idempotency before the memory is reset.
const MAX_REMEMBERED_REFUNDS: usize = 10_000;

/// The card every sandbox payment "uses".
pub const SANDBOX_BRAND: &str = "visa";
/// Its last 4 digits.
pub const SANDBOX_LAST4: &str = "4242";

/// A refund already made: (payment reference, amount, answer).
type Remembered = (String, i64, RefundResult);

/// The sandbox gateway.
pub struct SandboxGateway {
    db: Db,
    public_url: String,
    /// Refunds by idempotency key. The book has no column for keys, and this is a test
    /// provider, so they are remembered in this process only.
    refunds: Mutex<HashMap<String, Remembered>>,
}

impl std::fmt::Debug for SandboxGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxGateway")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl SandboxGateway {
    /// A sandbox gateway whose pay page lives under `public_url` (the shop's own address).
    pub fn new(db: Db, public_url: String) -> Self {
        Self {
            db,
            public_url: public_url.trim_end_matches('/').to_string(),
            refunds: Mutex::new(HashMap::new()),
        }
    }

    /// The TEST MODE page for a payment.
    pub fn pay_url(&self, reference: &str) -> String {
        format!("{}/sandbox/pay/{reference}", self.public_url)
    }
}

/// A sandbox payment as a gateway state: card visa/4242 once the shopper has chosen, checks
/// and decline wording from the outcome.
pub fn sandbox_state(p: &SandboxPayment) -> PaymentState {
    let status = match p.status {
        SandboxStatus::RequiresAction => PaymentStatus::RequiresAction,
        SandboxStatus::Authorized => PaymentStatus::Authorized,
        SandboxStatus::Captured => PaymentStatus::Captured,
        SandboxStatus::Voided => PaymentStatus::Voided,
        SandboxStatus::Failed => PaymentStatus::Failed,
    };
    let mut state = PaymentState::new(status, p.amount_minor);
    state.captured_minor = p.captured_minor;
    state.refunded_minor = p.refunded_minor;
    let Some(outcome) = p.outcome else {
        return state;
    };
    let checks = |cvc, postcode, three_d_secure| Checks {
        cvc,
        postcode,
        three_d_secure,
    };
    use Check::{Fail, NotChecked, Pass};
    let (checks, decline) = match outcome {
        SandboxOutcome::Success => (checks(Pass, Pass, NotChecked), None),
        SandboxOutcome::Decline => (
            checks(NotChecked, NotChecked, NotChecked),
            Some("Your card was declined."),
        ),
        SandboxOutcome::InsufficientFunds => (
            checks(Pass, Pass, NotChecked),
            Some("Your card has insufficient funds."),
        ),
        SandboxOutcome::CvcFail => (
            checks(Fail, Pass, NotChecked),
            Some("Your card's security code is incorrect."),
        ),
        SandboxOutcome::PostcodeFail => (checks(Pass, Fail, NotChecked), None),
        // The challenge is showing: nothing decided yet.
        SandboxOutcome::ThreeDs => (checks(NotChecked, NotChecked, NotChecked), None),
        SandboxOutcome::ThreeDsPass => (checks(Pass, Pass, Pass), None),
        SandboxOutcome::ThreeDsFail => (
            checks(NotChecked, NotChecked, Fail),
            Some("Your bank could not confirm this payment."),
        ),
    };
    if outcome != SandboxOutcome::ThreeDs {
        state.card = Card::new(SANDBOX_BRAND, SANDBOX_LAST4);
    }
    state.checks = checks;
    state.decline = decline.map(str::to_string);
    state
}

/// The store's refusals as gateway errors: a wrong state is a conflict.
fn gateway_error(e: StoreError) -> GatewayError {
    match e {
        StoreError::State { message, .. } => GatewayError::Conflict(message),
        StoreError::Invalid(v) => GatewayError::Invalid {
            field: v.field,
            message: v.message,
        },
        StoreError::NotFound { .. } => {
            GatewayError::invalid("reference", "no sandbox payment has this reference")
        }
        other => {
            tracing::error!(error = %other, "sandbox gateway: store failed");
            GatewayError::Unavailable(
                "the sandbox's payment book could not be used; try again".into(),
            )
        }
    }
}

#[async_trait::async_trait]
impl Gateway for SandboxGateway {
    fn id(&self) -> &'static str {
        "sandbox"
    }

    fn label(&self) -> String {
        "Card (test mode)".into()
    }

    fn channels(&self) -> &'static [Channel] {
        &[Channel::Web]
    }

    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, GatewayError> {
        check_request(req)?;
        let p = self
            .db
            .sandbox_create(
                req.amount_minor,
                &req.currency,
                &req.description,
                &req.return_url,
            )
            .await
            .map_err(gateway_error)?;
        Ok(Authorization {
            next: NextStep::Redirect {
                url: self.pay_url(&p.id),
            },
            state: sandbox_state(&p),
            reference: p.id,
        })
    }

    async fn status(&self, reference: &str) -> Result<PaymentState, GatewayError> {
        let p = self
            .db
            .sandbox_payment(reference)
            .await
            .map_err(gateway_error)?;
        Ok(sandbox_state(&p))
    }

    async fn capture(
        &self,
        reference: &str,
        amount_minor: i64,
    ) -> Result<PaymentState, GatewayError> {
        check_amount(amount_minor)?;
        let p = self
            .db
            .sandbox_capture(reference, amount_minor)
            .await
            .map_err(gateway_error)?;
        Ok(sandbox_state(&p))
    }

    async fn void(&self, reference: &str) -> Result<PaymentState, GatewayError> {
        let p = self
            .db
            .sandbox_payment(reference)
            .await
            .map_err(gateway_error)?;
        if p.status == SandboxStatus::Voided {
            return Ok(sandbox_state(&p));
        }
        let p = self
            .db
            .sandbox_void(reference)
            .await
            .map_err(gateway_error)?;
        Ok(sandbox_state(&p))
    }

    async fn refund(
        &self,
        reference: &str,
        amount_minor: i64,
        idempotency_key: &str,
    ) -> Result<RefundResult, GatewayError> {
        check_amount(amount_minor)?;
        if idempotency_key.trim().is_empty() {
            return Err(GatewayError::invalid("idempotency_key", "is required"));
        }
        // Held across the refund, so a retry racing the first call waits for its answer.
        let mut seen = self.refunds.lock().await;
        if let Some((r, a, done)) = seen.get(idempotency_key) {
            if r == reference && *a == amount_minor {
                return Ok(done.clone());
            }
            return Err(GatewayError::invalid(
                "idempotency_key",
                "was already used for a different refund",
            ));
        }
        let p = self
            .db
            .sandbox_refund(reference, amount_minor)
            .await
            .map_err(gateway_error)?;
        let done = RefundResult {
            reference: format!("sbr_{}", storefort_store::db::new_id()),
            state: sandbox_state(&p),
        };
        if seen.len() >= MAX_REMEMBERED_REFUNDS {
            seen.clear();
        }
        seen.insert(
            idempotency_key.to_string(),
            (reference.to_string(), amount_minor, done.clone()),
        );
        Ok(done)
    }

    fn webhook(
        &self,
        _headers: &[(String, String)],
        _body: &[u8],
        _now_ms: i64,
    ) -> Result<WebhookEvent, GatewayError> {
        Err(GatewayError::NotSupported(
            "the sandbox gateway sends no webhooks: the shopper returns to the shop",
        ))
    }
}
