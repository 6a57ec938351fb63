//! Fraud screening: turns what is known about an order into a score from 0 to 100 with reasons a
//! shop assistant understands, and a decision (pass, hold for a phone check, block).
//!
//! Pure: everything the engine needs (the customer's history, velocity counts, the gateway's
//! checks, the IP's country) is looked up by the caller and handed in as [`RiskInput`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::customer::Address;
use crate::ValidationError;

mod address;
mod domains;
mod engine;
mod rule_check;
mod rule_context;
mod rules;
mod sample;
mod settings;
#[cfg(test)]
mod tests;

pub use address::{address_differences, address_key, same_address, same_name};
pub use domains::DisposableDomains;
pub use engine::{assess, with_extra};
pub use rules::{CompiledRule, RuleSet, VARIABLES};

/// Every built-in signal. Each has default points and a sentence for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// Billing and shipping addresses differ (country, postcode or street).
    AddressMismatch,
    /// The order total is above the set amount and above a multiple of the typical order.
    HighTotal,
    /// Many units of items priced in the shop's top tenth.
    ExpensiveQuantity,
    /// A first order from a new customer above a set amount.
    NewCustomerLarge,
    /// The billing name differs from the shipping name.
    NameMismatch,
    /// The phone number is not a valid number.
    PhoneInvalid,
    /// The phone number's country differs from the billing country.
    PhoneCountry,
    /// The email address is at a throwaway (disposable) domain.
    DisposableEmail,
    /// Many orders from the same email, IP address, card or device within the window.
    VelocityOrders,
    /// Many failed payments from the same email, IP, card or device within the window.
    VelocityFailedPayments,
    /// Many different cards from the same email, IP or device within the window.
    VelocityCards,
    /// Many different delivery addresses from the same email, IP, card or device.
    VelocityAddresses,
    /// The card's security code (CVC) did not match.
    CvcFailed,
    /// The billing postcode did not match the card's.
    PostcodeFailed,
    /// 3-D Secure authentication failed.
    ThreeDSecureFailed,
    /// The shopper's IP address is in a different country from the billing address.
    IpCountry,
    /// A returning customer with paid orders and no refunds or disputes (lowers the score).
    LoyalCustomer,
}

impl Signal {
    /// Every signal, in the order staff see them in settings.
    pub const ALL: [Signal; 17] = [
        Signal::AddressMismatch,
        Signal::HighTotal,
        Signal::ExpensiveQuantity,
        Signal::NewCustomerLarge,
        Signal::NameMismatch,
        Signal::PhoneInvalid,
        Signal::PhoneCountry,
        Signal::DisposableEmail,
        Signal::VelocityOrders,
        Signal::VelocityFailedPayments,
        Signal::VelocityCards,
        Signal::VelocityAddresses,
        Signal::CvcFailed,
        Signal::PostcodeFailed,
        Signal::ThreeDSecureFailed,
        Signal::IpCountry,
        Signal::LoyalCustomer,
    ];

    /// snake_case name (settings keys, API, stored reasons).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::AddressMismatch => "address_mismatch",
            Signal::HighTotal => "high_total",
            Signal::ExpensiveQuantity => "expensive_quantity",
            Signal::NewCustomerLarge => "new_customer_large",
            Signal::NameMismatch => "name_mismatch",
            Signal::PhoneInvalid => "phone_invalid",
            Signal::PhoneCountry => "phone_country",
            Signal::DisposableEmail => "disposable_email",
            Signal::VelocityOrders => "velocity_orders",
            Signal::VelocityFailedPayments => "velocity_failed_payments",
            Signal::VelocityCards => "velocity_cards",
            Signal::VelocityAddresses => "velocity_addresses",
            Signal::CvcFailed => "cvc_failed",
            Signal::PostcodeFailed => "postcode_failed",
            Signal::ThreeDSecureFailed => "three_d_secure_failed",
            Signal::IpCountry => "ip_country",
            Signal::LoyalCustomer => "loyal_customer",
        }
    }

    /// Parse [`Signal::as_str`].
    pub fn parse(s: &str) -> Option<Signal> {
        Signal::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// A short title for settings ("Billing and shipping addresses differ").
    pub fn label(self) -> &'static str {
        match self {
            Signal::AddressMismatch => "Billing and shipping addresses differ",
            Signal::HighTotal => "Order total high for this shop",
            Signal::ExpensiveQuantity => "Many units of expensive items",
            Signal::NewCustomerLarge => "Large first order from a new customer",
            Signal::NameMismatch => "Billing name differs from shipping name",
            Signal::PhoneInvalid => "Phone number invalid",
            Signal::PhoneCountry => "Phone country differs from billing country",
            Signal::DisposableEmail => "Throwaway email address",
            Signal::VelocityOrders => "Many orders in a short time",
            Signal::VelocityFailedPayments => "Many failed payments in a short time",
            Signal::VelocityCards => "Many different cards in a short time",
            Signal::VelocityAddresses => "Many different addresses in a short time",
            Signal::CvcFailed => "Card security code (CVC) did not match",
            Signal::PostcodeFailed => "Billing postcode did not match the card",
            Signal::ThreeDSecureFailed => "3-D Secure check failed",
            Signal::IpCountry => "Shopper's internet address in another country",
            Signal::LoyalCustomer => "Loyal returning customer (lowers the score)",
        }
    }

    /// Default points (negative lowers the score).
    ///
    /// Tuned on `tests/data/fraud_eval.json` (see `tests/fraud_eval.rs`) within two constraints
    /// from the seed: a large first order shipped elsewhere must reach review on its own
    /// (address 20 + high total 15 + new customer 15 = 50), and the "judgement" signals
    /// (address, high total, expensive quantity, new customer, name) together stay below the
    /// block threshold (20 + 15 + 25 + 15 + 5 = 80 < 85): they call for a phone call, not a
    /// refusal. Blocking takes hard evidence: failed card checks, velocity, a throwaway email.
    pub fn default_points(self) -> i32 {
        match self {
            // Gifts and office deliveries differ too, so on its own it only adds up.
            Signal::AddressMismatch => 20,
            Signal::HighTotal => 15,
            // The seed's "12 of your most expensive" with a new customer and a high total is 55.
            Signal::ExpensiveQuantity => 25,
            Signal::NewCustomerLarge => 15,
            // Gifts, offices and couples: fires as often on honest orders as on fraud.
            Signal::NameMismatch => 5,
            Signal::PhoneInvalid => 20,
            // With the IP's country also foreign (20), the order is held (50); an expat's
            // home phone alone (30) is not.
            Signal::PhoneCountry => 30,
            // The shop cannot reach the shopper afterwards; with a large first order, held.
            Signal::DisposableEmail => 40,
            Signal::VelocityOrders => 20,
            Signal::VelocityFailedPayments => 30,
            Signal::VelocityCards => 35,
            Signal::VelocityAddresses => 25,
            // An authorization whose CVC did not match is held for a call by itself.
            Signal::CvcFailed => 50,
            Signal::PostcodeFailed => 20,
            Signal::ThreeDSecureFailed => 50,
            Signal::IpCountry => 20,
            Signal::LoyalCustomer => -30,
        }
    }
}

/// How strict screening is. Stored as JSON; [`FraudSettings::validate`] before saving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FraudSettings {
    /// Screening on (the default). Off: every authorized payment is captured at once.
    pub enabled: bool,
    /// Score at or above which an order is held for a phone check (1-100, default 50).
    pub review_threshold: u8,
    /// Score at or above which the payment is voided (review..=100, default 85).
    pub block_threshold: u8,
    /// Points per signal (-100..=100); a signal missing here uses its default points.
    pub weights: BTreeMap<Signal, i32>,
    /// "High total": above this amount (minor units)...
    pub high_total_minor: i64,
    /// ...and above this multiple of the shop's typical (median) order.
    pub high_total_multiple: u32,
    /// "Many units of expensive items": more than this many units priced in the top tenth.
    pub expensive_quantity: u32,
    /// "Large first order": a new customer's first order above this amount (minor units).
    pub new_customer_minor: i64,
    /// Velocity window in minutes (default 24 hours).
    pub velocity_window_minutes: u32,
    /// More orders than this per email / IP / card / device within the window fires.
    pub velocity_orders: u32,
    /// More failed payments than this within the window fires.
    pub velocity_failed_payments: u32,
    /// More distinct cards than this within the window fires.
    pub velocity_cards: u32,
    /// More distinct delivery addresses than this within the window fires.
    pub velocity_addresses: u32,
    /// Paid orders (with no refund or dispute) that make a customer "loyal".
    pub loyal_paid_orders: u32,
    /// How long a card authorization stays valid at the gateway, in days (default 7).
    pub authorization_days: u32,
    /// Domains to treat as throwaway in addition to the bundled list (lower case).
    pub extra_disposable_domains: Vec<String>,
    /// Domains never treated as throwaway, even when on the bundled list.
    pub allowed_domains: Vec<String>,
}

impl Default for FraudSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            review_threshold: 50,
            block_threshold: 85,
            weights: BTreeMap::new(),
            high_total_minor: 50_000,
            high_total_multiple: 3,
            expensive_quantity: 5,
            new_customer_minor: 20_000,
            velocity_window_minutes: 24 * 60,
            velocity_orders: 5,
            velocity_failed_payments: 3,
            velocity_cards: 2,
            velocity_addresses: 2,
            loyal_paid_orders: 2,
            authorization_days: 7,
            extra_disposable_domains: Vec::new(),
            allowed_domains: Vec::new(),
        }
    }
}

impl FraudSettings {
    /// Points for a signal (the configured weight, else the default).
    pub fn points(&self, s: Signal) -> i32 {
        self.weights
            .get(&s)
            .copied()
            .unwrap_or_else(|| s.default_points())
    }

    /// Check every number is in range; the error names the field
    /// (`review_threshold`, `weights.cvc_failed`, ...).
    pub fn validate(&self) -> Result<(), ValidationError> {
        settings::validate(self)
    }

    /// The velocity window in milliseconds.
    pub fn velocity_window_ms(&self) -> i64 {
        i64::from(self.velocity_window_minutes) * 60_000
    }

    /// How long an authorization stays valid, in milliseconds.
    pub fn authorization_ms(&self) -> i64 {
        i64::from(self.authorization_days) * 24 * 3_600_000
    }
}

/// One line of the order as screening sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskLine {
    /// SKU.
    pub sku: String,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
    /// Units.
    pub quantity: i64,
}

/// A gateway check's result, as screening sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// Checked and matched.
    Pass,
    /// Checked and did not match.
    Fail,
    /// The issuer could not check.
    Unavailable,
    /// Not checked or not reported.
    #[default]
    NotChecked,
}

/// The gateway's card checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentChecks {
    /// Card security code.
    pub cvc: CheckResult,
    /// Billing postcode / address (AVS).
    pub postcode: CheckResult,
    /// 3-D Secure.
    pub three_d_secure: CheckResult,
}

/// The customer's earlier orders (not counting this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerHistory {
    /// Orders placed before this one (any state).
    pub orders: u32,
    /// Of those, paid (paid, fulfilled).
    pub paid_orders: u32,
    /// Of those, refunded in part or whole, or charged back.
    pub refunded_orders: u32,
}

/// Counts within the velocity window, the highest over the order's email, IP address, card
/// fingerprint and device (this order included in `orders` and `distinct_addresses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Velocity {
    /// Orders placed.
    pub orders: u32,
    /// Failed payment attempts.
    pub failed_payments: u32,
    /// Different cards used.
    pub distinct_cards: u32,
    /// Different delivery addresses.
    pub distinct_addresses: u32,
}

/// Figures about the shop, refreshed now and then by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopStats {
    /// Median total of recent paid orders (0 when the shop has none yet).
    pub typical_order_minor: i64,
    /// Lowest price in the top tenth of the catalog's prices (0 when unknown).
    pub expensive_price_minor: i64,
}

/// Everything screening looks at for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskInput {
    /// Order total, minor units.
    pub total_minor: i64,
    /// ISO currency.
    pub currency: String,
    /// `web` or `pos`.
    pub channel: String,
    /// The lines.
    pub lines: Vec<RiskLine>,
    /// Contact email.
    pub email: String,
    /// Contact phone (E.164 when valid, as typed otherwise).
    pub phone: String,
    /// Billing address.
    pub billing: Address,
    /// Delivery address; `None` for collection.
    pub shipping: Option<Address>,
    /// The gateway's card checks.
    #[serde(default)]
    pub checks: PaymentChecks,
    /// Country of the shopper's IP address, when a GeoIP database is configured.
    #[serde(default)]
    pub ip_country: Option<String>,
    /// The customer's earlier orders.
    #[serde(default)]
    pub history: CustomerHistory,
    /// Velocity counts.
    #[serde(default)]
    pub velocity: Velocity,
    /// Shop figures.
    #[serde(default)]
    pub shop: ShopStats,
}

/// Why points were added (or taken off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reason {
    /// The signal (`address_mismatch`) or `rule:<name>` for a custom rule.
    pub code: String,
    /// Points (negative lowers the score).
    pub points: i32,
    /// A sentence for staff: "Shipping to a different country (FR) from the billing address (GB)."
    pub text: String,
}

/// What screening decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Below the review threshold: capture.
    Pass,
    /// At or above review: keep the authorization, hold for a phone check.
    Review,
    /// At or above block: void the authorization.
    Block,
}

impl Decision {
    /// snake_case text.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pass => "pass",
            Decision::Review => "review",
            Decision::Block => "block",
        }
    }

    /// Parse [`Decision::as_str`].
    pub fn parse(s: &str) -> Option<Decision> {
        [Decision::Pass, Decision::Review, Decision::Block]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// Screening's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// 0-100 (sum of points, clamped).
    pub score: u8,
    /// What fired, highest points first.
    pub reasons: Vec<Reason>,
    /// Pass, review or block.
    pub decision: Decision,
}

/// A custom rule as the owner writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rule {
    /// Short name, unique in the shop (letters, digits, `_`, `-`, 1-40).
    pub name: String,
    /// A CEL expression that evaluates to true or false, e.g.
    /// `order.total > 50000 && billing.country != shipping.country`.
    pub expression: String,
    /// Points added when it is true (-100..=100).
    pub points: i32,
    /// The sentence staff see when it fires.
    pub reason: String,
}
