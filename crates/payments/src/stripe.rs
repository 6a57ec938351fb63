//! Stripe through PaymentIntents with `capture_method=manual`: checkout creates an intent and
//! the payment page confirms it in the browser with Stripe.js (card fields live in Stripe's
//! iframe, never here); staff capture, void and refund later. Requests are form-encoded, carry
//! an `Idempotency-Key` on every POST and pin [`STRIPE_API_VERSION`].

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

pub use crate::stripe_map::pi_state;
use crate::stripe_map::stripe_error;
use crate::types::{check_amount, check_request};
use crate::{
    Authorization, AuthorizeRequest, Channel, Gateway, GatewayError, NextStep, PaymentState,
    PaymentStatus, RefundResult, WebhookEvent,
};

/// The Stripe API version the response mapping is written against.
pub const STRIPE_API_VERSION: &str = "2024-06-20";
/// Stripe's API.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// Stripe.js.
pub const DEFAULT_JS_URL: &str = "https://js.stripe.com/v3/";
/// Longest wait for one Stripe call.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Expansions asked for whenever a PaymentIntent comes back (card, checks, refunds).
const EXPAND: [&str; 2] = ["latest_charge", "payment_method"];

/// Stripe settings. Debug output hides the secrets.
#[derive(Clone)]
pub struct StripeConfig {
    /// API address (default `https://api.stripe.com`; tests point it at localstripe).
    pub api_base: String,
    /// Secret key (`sk_...`).
    pub secret_key: String,
    /// Publishable key (`pk_...`), given to the browser.
    pub publishable_key: String,
    /// Webhook endpoint signing secret (`whsec_...`).
    pub webhook_secret: String,
    /// Stripe.js address (default `https://js.stripe.com/v3/`).
    pub js_url: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.into(),
            secret_key: String::new(),
            publishable_key: String::new(),
            webhook_secret: String::new(),
            js_url: DEFAULT_JS_URL.into(),
        }
    }
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &str| {
            if s.is_empty() {
                "<unset>"
            } else {
                "<redacted>"
            }
        };
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .field("secret_key", &hidden(&self.secret_key))
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secret", &hidden(&self.webhook_secret))
            .field("js_url", &self.js_url)
            .finish()
    }
}

/// The Stripe gateway.
#[derive(Debug, Clone)]
pub struct StripeGateway {
    cfg: StripeConfig,
    http: reqwest::Client,
}

impl StripeGateway {
    /// A gateway for `cfg`. Fails only if the HTTP client cannot be built.
    pub fn new(cfg: StripeConfig) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| GatewayError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self { cfg, http })
    }

    /// One API call; POST parameters are form-encoded, GET ones go in the query.
    async fn call(
        &self,
        method: Method,
        path: &str,
        params: &[(String, String)],
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let url = format!("{}{path}", self.cfg.api_base.trim_end_matches('/'));
        let mut req = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.cfg.secret_key)
            .header("Stripe-Version", STRIPE_API_VERSION);
        req = if method == Method::GET {
            req.query(params)
        } else {
            req.form(params)
        };
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("could not reach Stripe: {e}")))?;
        let status = res.status().as_u16();
        let body: Value = res.json().await.map_err(|_| {
            GatewayError::Unavailable(format!("Stripe answered {status} with something not JSON"))
        })?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(stripe_error(status, &body))
        }
    }

    async fn intent(&self, reference: &str) -> Result<Value, GatewayError> {
        check_reference(reference)?;
        let path = format!("/v1/payment_intents/{reference}");
        self.call(Method::GET, &path, &expand_params(), None).await
    }

    /// POST an action on an intent (`capture`, `cancel`) and map the answer.
    async fn act(
        &self,
        reference: &str,
        action: &str,
        mut params: Vec<(String, String)>,
        key: String,
    ) -> Result<PaymentState, GatewayError> {
        params.extend(expand_params());
        let path = format!("/v1/payment_intents/{reference}/{action}");
        let v = self.call(Method::POST, &path, &params, Some(&key)).await?;
        Ok(pi_state(&v))
    }
}

fn expand_params() -> Vec<(String, String)> {
    EXPAND
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("expand[{i}]"), e.to_string()))
        .collect()
}

/// A PaymentIntent ID: `pi_` and letters, digits, underscores (it goes into a URL path).
fn check_reference(reference: &str) -> Result<(), GatewayError> {
    let ok = reference.starts_with("pi_")
        && reference.len() <= 255
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(GatewayError::invalid(
            "reference",
            "is not a Stripe PaymentIntent ID (pi_...)",
        ))
    }
}

fn state_words(s: PaymentStatus) -> &'static str {
    match s {
        PaymentStatus::RequiresAction => "still waiting for the shopper",
        PaymentStatus::Pending => "still being processed",
        PaymentStatus::Authorized => "authorized",
        PaymentStatus::Captured => "already captured",
        PaymentStatus::Voided => "voided",
        PaymentStatus::Failed => "declined",
    }
}

#[async_trait::async_trait]
impl Gateway for StripeGateway {
    fn id(&self) -> &'static str {
        "stripe"
    }

    fn label(&self) -> String {
        "Card".into()
    }

    fn channels(&self) -> &'static [Channel] {
        &[Channel::Web]
    }

    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, GatewayError> {
        check_request(req)?;
        // `description` goes in metadata: localstripe refuses the top-level parameter.
        let params: Vec<(String, String)> = vec![
            ("amount".into(), req.amount_minor.to_string()),
            ("currency".into(), req.currency.to_ascii_lowercase()),
            ("capture_method".into(), "manual".into()),
            ("payment_method_types[0]".into(), "card".into()),
            ("metadata[order_id]".into(), req.order_id.clone()),
            (
                "metadata[order_number]".into(),
                req.order_number.to_string(),
            ),
            ("metadata[description]".into(), req.description.clone()),
        ];
        let v = self
            .call(
                Method::POST,
                "/v1/payment_intents",
                &params,
                Some(&req.idempotency_key),
            )
            .await?;
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(reference), Some(client_secret)) = (text("id"), text("client_secret")) else {
            return Err(GatewayError::Unavailable(
                "Stripe's answer had no PaymentIntent ID or client secret".into(),
            ));
        };
        Ok(Authorization {
            reference,
            state: pi_state(&v),
            next: NextStep::Element {
                publishable_key: self.cfg.publishable_key.clone(),
                client_secret,
                js_url: self.cfg.js_url.clone(),
            },
        })
    }

    async fn status(&self, reference: &str) -> Result<PaymentState, GatewayError> {
        Ok(pi_state(&self.intent(reference).await?))
    }

    async fn capture(
        &self,
        reference: &str,
        amount_minor: i64,
    ) -> Result<PaymentState, GatewayError> {
        check_amount(amount_minor)?;
        // Checked here first: the answer is clearer, and test servers are laxer than Stripe.
        let now = self.status(reference).await?;
        if now.status != PaymentStatus::Authorized {
            return Err(GatewayError::Conflict(format!(
                "only an authorized payment can be captured; this one is {}",
                state_words(now.status)
            )));
        }
        if amount_minor > now.amount_minor {
            return Err(GatewayError::invalid(
                "amount",
                format!(
                    "capture at most {} minor units (the amount authorized)",
                    now.amount_minor
                ),
            ));
        }
        let params = vec![("amount_to_capture".into(), amount_minor.to_string())];
        let key = format!("{reference}-capture-{amount_minor}");
        self.act(reference, "capture", params, key).await
    }

    async fn void(&self, reference: &str) -> Result<PaymentState, GatewayError> {
        let now = self.status(reference).await?;
        match now.status {
            PaymentStatus::Voided => return Ok(now),
            PaymentStatus::Captured => {
                return Err(GatewayError::Conflict(
                    "this payment was already captured: refund it instead of voiding".into(),
                ))
            }
            _ => {}
        }
        self.act(
            reference,
            "cancel",
            Vec::new(),
            format!("{reference}-cancel"),
        )
        .await
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
        // The amount's upper bound is Stripe's to enforce, so that a retried refund (same
        // key) gets Stripe's remembered answer instead of "nothing left to refund".
        let now = self.status(reference).await?;
        if now.status != PaymentStatus::Captured {
            return Err(GatewayError::Conflict(format!(
                "only captured money can be refunded; this payment is {}",
                state_words(now.status)
            )));
        }
        let params = vec![
            ("payment_intent".to_string(), reference.to_string()),
            ("amount".to_string(), amount_minor.to_string()),
        ];
        let r = self
            .call(Method::POST, "/v1/refunds", &params, Some(idempotency_key))
            .await?;
        let refund_id = r
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(st @ ("failed" | "canceled")) = r.get("status").and_then(Value::as_str) {
            return Err(GatewayError::Declined(format!(
                "Stripe's refund {refund_id} {st}"
            )));
        }
        Ok(RefundResult {
            reference: refund_id,
            state: self.status(reference).await?,
        })
    }

    fn webhook(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now_ms: i64,
    ) -> Result<WebhookEvent, GatewayError> {
        crate::stripe_webhook::parse(headers, body, &self.cfg.webhook_secret, now_ms)
    }
}
