//! What gateways are asked and what they answer. Card data is limited to what a gateway hands
//! back after the fact: brand and last 4 digits ([`Card::new`] refuses anything else).

use serde::{Deserialize, Serialize};

/// Where a gateway may be offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The web storefront's checkout.
    Web,
    /// A till (point of sale).
    Pos,
}

/// Ask a gateway to start a payment for an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Our order's ID (sent as metadata, never trusted back).
    pub order_id: String,
    /// The order's human number.
    pub order_number: i64,
    /// Amount, minor units (more than zero).
    pub amount_minor: i64,
    /// ISO 4217 code, upper case (`GBP`).
    pub currency: String,
    /// Absolute URL the shopper comes back to after a hosted page.
    pub return_url: String,
    /// The same key on a retry gives the same payment (where the gateway supports it).
    pub idempotency_key: String,
    /// What is being paid for ("Order #1042").
    pub description: String,
}

/// A gateway's answer to [`crate::Gateway::authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The gateway's reference for the payment (kept with the order).
    pub reference: String,
    /// Where the payment stands now.
    pub state: PaymentState,
    /// What the shopper has to do next.
    pub next: NextStep,
}

/// What the shopper does after checkout.
#[derive(Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Go to the gateway's hosted page.
    Redirect {
        /// Absolute URL.
        url: String,
    },
    /// Stay on the shop's payment page, which loads the gateway's script and card element.
    Element {
        /// The gateway's publishable key.
        publishable_key: String,
        /// The payment's client secret (lets the browser confirm this one payment only).
        client_secret: String,
        /// The gateway script's URL (allow-listed on the payment page).
        js_url: String,
    },
    /// Nothing now (bank transfer instructions, cash already taken).
    None,
}

impl std::fmt::Debug for NextStep {
    // The client secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redirect { url } => f.debug_struct("Redirect").field("url", url).finish(),
            Self::Element {
                publishable_key,
                js_url,
                ..
            } => f
                .debug_struct("Element")
                .field("publishable_key", publishable_key)
                .field("client_secret", &"<redacted>")
                .field("js_url", js_url)
                .finish(),
            Self::None => f.write_str("None"),
        }
    }
}

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The shopper still has to act (enter card, pass 3-D Secure, pick an outcome).
    RequiresAction,
    /// Waiting for money that arrives offline (bank transfer), or being processed.
    Pending,
    /// Money reserved, not yet taken.
    Authorized,
    /// Money taken (see `captured_minor`, `refunded_minor`).
    Captured,
    /// Cancelled before capture.
    Voided,
    /// Declined or failed.
    Failed,
}

impl PaymentStatus {
    /// Every status.
    pub const ALL: [PaymentStatus; 6] = [
        Self::RequiresAction,
        Self::Pending,
        Self::Authorized,
        Self::Captured,
        Self::Voided,
        Self::Failed,
    ];

    /// snake_case text, as stored in `payments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequiresAction => "requires_action",
            Self::Pending => "pending",
            Self::Authorized => "authorized",
            Self::Captured => "captured",
            Self::Voided => "voided",
            Self::Failed => "failed",
        }
    }

    /// Parse [`PaymentStatus::as_str`] text.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The card used, as the gateway reports it: never more than brand and last 4 digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Brand, lower case (`visa`, `mastercard`, `amex`).
    pub brand: String,
    /// Last 4 digits.
    pub last4: String,
}

impl Card {
    /// A card from a gateway's answer; `None` unless `last4` is exactly 4 digits and the brand
    /// is a short word (so nothing longer, like a full number, can ever be kept).
    pub fn new(brand: &str, last4: &str) -> Option<Card> {
        let brand = brand.trim().to_ascii_lowercase();
        let brand_ok = !brand.is_empty()
            && brand.len() <= 20
            && brand
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == ' ' || c == '-');
        let last4_ok = last4.len() == 4 && last4.bytes().all(|b| b.is_ascii_digit());
        (brand_ok && last4_ok).then(|| Card {
            brand,
            last4: last4.to_string(),
        })
    }
}

/// One verification result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Checked and matched.
    Pass,
    /// Checked and did not match.
    Fail,
    /// The issuer could not check.
    Unavailable,
    /// Not checked (or not reported).
    #[default]
    NotChecked,
}

/// The gateway's CVC, postcode and 3-D Secure results (stored as JSON in `payments.checks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checks {
    /// Card security code.
    pub cvc: Check,
    /// Billing postcode (AVS).
    pub postcode: Check,
    /// 3-D Secure authentication.
    pub three_d_secure: Check,
}

/// A payment as the gateway sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentState {
    /// Where it stands.
    pub status: PaymentStatus,
    /// Amount authorized or asked for, minor units.
    pub amount_minor: i64,
    /// Taken, minor units.
    pub captured_minor: i64,
    /// Refunded, minor units.
    pub refunded_minor: i64,
    /// The card, when a card was used and reported.
    pub card: Option<Card>,
    /// Verification results.
    pub checks: Checks,
    /// The gateway's fingerprint of the card (the same card gives the same value; it is not
    /// the card number and cannot be turned back into one). Used, hashed again, for velocity.
    pub card_fingerprint: Option<String>,
    /// Why it was declined, in neutral words safe to show the shopper.
    pub decline: Option<String>,
}

impl PaymentState {
    /// A state with nothing taken, no card, no checks.
    pub fn new(status: PaymentStatus, amount_minor: i64) -> Self {
        Self {
            status,
            amount_minor,
            captured_minor: 0,
            refunded_minor: 0,
            card: None,
            checks: Checks::default(),
            card_fingerprint: None,
            decline: None,
        }
    }

    /// Captured money not yet refunded.
    pub fn refundable_minor(&self) -> i64 {
        (self.captured_minor - self.refunded_minor).max(0)
    }
}

/// A gateway's answer to a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundResult {
    /// The gateway's reference for this refund.
    pub reference: String,
    /// The payment after the refund.
    pub state: PaymentState,
}

/// A verified notification from a gateway. The caller de-duplicates on `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The gateway's event ID.
    pub id: String,
    /// The payment it is about, when it is about one.
    pub reference: Option<String>,
    /// The gateway's event type (`payment_intent.succeeded`).
    pub kind: String,
    /// The payment's state as the event carries it.
    pub state: Option<PaymentState>,
}

/// What went wrong at a gateway. Messages are safe to show to staff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The card or payment was declined.
    #[error("declined: {0}")]
    Declined(String),
    /// Input broke a rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault (`amount`, `currency`, `reference`...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The payment is in the wrong state for this (e.g. capture of a voided payment).
    #[error("{0}")]
    Conflict(String),
    /// A webhook's signature is missing, wrong or too old.
    #[error("webhook signature refused: {0}")]
    BadSignature(String),
    /// The gateway could not be reached or failed; try again later.
    #[error("payment provider unavailable: {0}")]
    Unavailable(String),
    /// This gateway cannot do that.
    #[error("not supported: {0}")]
    NotSupported(&'static str),
}

impl GatewayError {
    /// Shorthand for [`GatewayError::Invalid`].
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Basic checks every gateway makes before asking its provider.
pub(crate) fn check_request(req: &AuthorizeRequest) -> Result<(), GatewayError> {
    if req.amount_minor <= 0 {
        return Err(GatewayError::invalid("amount", "must be more than zero"));
    }
    let c = &req.currency;
    if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(GatewayError::invalid(
            "currency",
            "must be a 3-letter ISO code in capitals, like GBP",
        ));
    }
    Ok(())
}

/// Basic checks on an amount to capture or refund.
/// The answer of a gateway whose money moves outside it (cash, bank transfer): staff hand the
/// money back themselves; `amount_minor` is recorded as refunded under the reference
/// `{reference}-refund-{idempotency_key}`.
pub(crate) fn offline_refund(
    reference: &str,
    amount_minor: i64,
    idempotency_key: &str,
) -> Result<RefundResult, GatewayError> {
    check_amount(amount_minor)?;
    let mut s = PaymentState::new(PaymentStatus::Captured, 0);
    s.refunded_minor = amount_minor;
    Ok(RefundResult {
        reference: format!("{reference}-refund-{idempotency_key}"),
        state: s,
    })
}

pub(crate) fn check_amount(amount_minor: i64) -> Result<(), GatewayError> {
    if amount_minor <= 0 {
        return Err(GatewayError::invalid("amount", "must be more than zero"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_keep_only_brand_and_last4() {
        assert_eq!(
            Card::new("Visa", "4242"),
            Some(Card {
                brand: "visa".into(),
                last4: "4242".into()
            })
        );
        assert_eq!(Card::new("visa", "4242424242424242"), None);
        assert_eq!(Card::new("visa", "42a2"), None);
        assert_eq!(Card::new("4242424242424242", "4242"), None);
        assert_eq!(Card::new("", "4242"), None);
    }

    #[test]
    fn statuses_and_checks_round_trip() {
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PaymentStatus::parse("paid"), None);
        let c = Checks {
            cvc: Check::Pass,
            postcode: Check::Fail,
            three_d_secure: Check::NotChecked,
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"cvc":"pass","postcode":"fail","three_d_secure":"not_checked"}"#
        );
        assert_eq!(serde_json::from_str::<Checks>(&json).unwrap(), c);
    }

    #[test]
    fn client_secret_is_not_in_debug_output() {
        let n = NextStep::Element {
            publishable_key: "pk_test_1".into(),
            client_secret: "pi_1_secret_abc".into(),
            js_url: "https://js.stripe.com/v3/".into(),
        };
        let d = format!("{n:?}");
        assert!(!d.contains("secret_abc") && d.contains("pk_test_1"), "{d}");
    }

    #[test]
    fn requests_are_checked() {
        let mut r = AuthorizeRequest {
            order_id: "o".into(),
            order_number: 1,
            amount_minor: 100,
            currency: "GBP".into(),
            return_url: "https://shop.example/r".into(),
            idempotency_key: "k".into(),
            description: "Order #1".into(),
        };
        assert!(check_request(&r).is_ok());
        r.currency = "gbp".into();
        assert!(
            matches!(check_request(&r), Err(GatewayError::Invalid { field, .. }) if field == "currency")
        );
        r.currency = "GBP".into();
        r.amount_minor = 0;
        assert!(
            matches!(check_request(&r), Err(GatewayError::Invalid { field, .. }) if field == "amount")
        );
    }
}
