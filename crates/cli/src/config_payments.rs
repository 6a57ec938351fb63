//! The `[payments]` section: which gateways checkout offers and their public settings. Secret
//! keys never live here: `storefort secrets set stripe.secret_key` (and `stripe.webhook_secret`)
//! stores them encrypted in the database.

use serde::{Deserialize, Serialize};
use storefort_payments::{
    Gateway, Gateways, ManualGateway, SandboxGateway, StripeConfig, StripeGateway,
};
use storefort_store::Db;

use crate::config::ConfigError;

/// Name of the stored Stripe secret key.
pub const STRIPE_SECRET_KEY: &str = "stripe.secret_key";
/// Name of the stored Stripe webhook signing secret.
pub const STRIPE_WEBHOOK_SECRET: &str = "stripe.webhook_secret";

/// Payment gateways.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// Gateways offered, in order: `manual` (bank transfer), `stripe`, `sandbox` (test mode:
    /// anyone can "pay" with a button, so never on a live shop; the demo uses it).
    pub gateways: Vec<String>,
    /// What bank-transfer customers are told (account, reference).
    pub manual_instructions: String,
    /// Stripe's public settings (the secret key is stored with `storefort secrets set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe: Option<StripeSettings>,
}

/// Stripe's public settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// Publishable key (`pk_live_...` / `pk_test_...`).
    pub publishable_key: String,
    /// API address (only change it for testing).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Stripe.js address (must also be on the payment page's approved scripts).
    #[serde(default = "default_js_url")]
    pub js_url: String,
}

fn default_api_base() -> String {
    StripeConfig::default().api_base
}

fn default_js_url() -> String {
    StripeConfig::default().js_url
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            gateways: vec!["manual".into()],
            manual_instructions: "Pay by bank transfer within 7 days, quoting your order number."
                .into(),
            stripe: None,
        }
    }
}

impl PaymentsConfig {
    /// Check the names and that Stripe has its settings when listed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for g in &self.gateways {
            if !["manual", "stripe", "sandbox"].contains(&g.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "payments.gateways: unknown gateway {g:?} (use manual, stripe or sandbox; \
                     cash is offered at the till only)"
                )));
            }
        }
        if self.gateways.iter().any(|g| g == "stripe") && self.stripe.is_none() {
            return Err(ConfigError::Invalid(
                "payments.gateways lists stripe but [payments.stripe] publishable_key is missing"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Build the gateways (Stripe's secrets come from the database's sealed secrets).
    pub async fn gateways(&self, db: &Db, public_url: &str) -> Result<Gateways, String> {
        let mut out = Gateways::new();
        for g in &self.gateways {
            let gw: std::sync::Arc<dyn Gateway> = match g.as_str() {
                "manual" => {
                    std::sync::Arc::new(ManualGateway::new(self.manual_instructions.clone()))
                }
                "sandbox" => {
                    std::sync::Arc::new(SandboxGateway::new(db.clone(), public_url.into()))
                }
                "stripe" => {
                    let s = self.stripe.clone().ok_or("[payments.stripe] is missing")?;
                    let secret = |name: &'static str| async move {
                        db.secret(name)
                            .await
                            .map_err(|e| e.to_string())?
                            .ok_or(format!(
                                "stripe is enabled but no {name} is stored: run `storefort secrets set {name}`"
                            ))
                    };
                    std::sync::Arc::new(
                        StripeGateway::new(StripeConfig {
                            api_base: s.api_base,
                            secret_key: secret(STRIPE_SECRET_KEY).await?,
                            publishable_key: s.publishable_key,
                            webhook_secret: secret(STRIPE_WEBHOOK_SECRET).await?,
                            js_url: s.js_url,
                        })
                        .map_err(|e| e.to_string())?,
                    )
                }
                other => return Err(format!("unknown gateway {other:?}")),
            };
            out.add(gw);
        }
        Ok(out)
    }
}
