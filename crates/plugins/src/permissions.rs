//! What a plugin may see and do, in the words the owner approves.

use serde::{Deserialize, Serialize};

/// One permission a plugin asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Order totals and items (no personal data).
    ReadOrders,
    /// Customers' names, emails, phones and addresses.
    ReadPersonalData,
    /// Add points and a reason to an order's fraud score.
    AddFraudSignal,
    /// Add discount lines to a cart.
    ChangeCartPrices,
    /// Have the shop send a payload to the webhook URL the owner approved.
    Webhook,
    /// Read the current time.
    Clock,
    /// Read random numbers.
    Random,
}

impl Permission {
    /// Every permission, in the order the owner sees them.
    pub const ALL: [Permission; 7] = [
        Permission::ReadOrders,
        Permission::ReadPersonalData,
        Permission::AddFraudSignal,
        Permission::ChangeCartPrices,
        Permission::Webhook,
        Permission::Clock,
        Permission::Random,
    ];

    /// The name used in manifests (`read_orders`).
    pub fn name(self) -> &'static str {
        match self {
            Permission::ReadOrders => "read_orders",
            Permission::ReadPersonalData => "read_personal_data",
            Permission::AddFraudSignal => "add_fraud_signal",
            Permission::ChangeCartPrices => "change_cart_prices",
            Permission::Webhook => "webhook",
            Permission::Clock => "clock",
            Permission::Random => "random",
        }
    }

    /// Parse [`Permission::name`].
    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == s)
    }

    /// The plain words shown on the approval page.
    pub fn words(self) -> &'static str {
        match self {
            Permission::ReadOrders => "read order totals and items",
            Permission::ReadPersonalData => "read customers' names, emails, phones and addresses",
            Permission::AddFraudSignal => "add a fraud signal",
            Permission::ChangeCartPrices => "change cart prices",
            Permission::Webhook => "send order notifications to a web address you approve",
            Permission::Clock => "read the current time",
            Permission::Random => "read random numbers",
        }
    }

    /// The host import this permission grants, if any (`storefort.<name>`).
    pub fn import(self) -> Option<&'static str> {
        match self {
            Permission::Clock => Some("clock_ms"),
            Permission::Random => Some("random_u64"),
            _ => None,
        }
    }
}
