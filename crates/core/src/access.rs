//! Who may do what: the three staff roles, the permissions they hold, and the security policy
//! numbers (session lifetimes, lockout, rate limits). The matrix here is the only source of truth;
//! `docs/SECURITY.md` prints it and the route tests walk it.

use serde::{Deserialize, Serialize};

/// A staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the shop: everything.
    Owner,
    /// Runs the floor: catalog, stock, orders, refunds, customers.
    Manager,
    /// Sells: sees the catalog, stock, orders and customers, changes nothing in the admin.
    Cashier,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 3] = [Role::Owner, Role::Manager, Role::Cashier];

    /// The stored name (`owner`, `manager`, `cashier`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Cashier => "cashier",
        }
    }

    /// Parse a stored or submitted role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Owners and managers must use a second factor (TOTP) before reaching anything else.
    pub fn requires_mfa(self) -> bool {
        matches!(self, Role::Owner | Role::Manager)
    }

    /// Whether this role holds `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Manager => matches!(
                p,
                CatalogView
                    | CatalogEdit
                    | StockView
                    | StockEdit
                    | OrdersView
                    | OrdersManage
                    | Refunds
                    | CustomersView
                    | CustomersEdit
                    | Devices
            ),
            // Cashiers look customers up to attach them to a sale at the till.
            Role::Cashier => matches!(p, CatalogView | StockView | OrdersView | CustomersView),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a route needs. Every API route and admin page names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See products, variants, categories, locations, tax classes.
    CatalogView,
    /// Create and change them.
    CatalogEdit,
    /// See stock levels and the ledger.
    StockView,
    /// Adjust, transfer and count stock.
    StockEdit,
    /// See orders.
    OrdersView,
    /// Change orders (cancel, fulfil, capture after review).
    OrdersManage,
    /// Refund money.
    Refunds,
    /// List, search and open customer records in the admin (every view is audited).
    CustomersView,
    /// Create customers and change their details and saved addresses.
    CustomersEdit,
    /// Export everything about a customer, and erase a customer's personal data.
    CustomersPrivacy,
    /// Invite, change and disable staff; see their sessions.
    Staff,
    /// Pair, revoke and wipe POS devices.
    Devices,
    /// Install and configure plugins.
    Plugins,
    /// Take and restore backups.
    Backups,
    /// Shop settings and integration API keys.
    Settings,
    /// Read and export the audit log.
    Audit,
}

impl Permission {
    /// Every permission, in the order `docs/SECURITY.md` lists them.
    pub const ALL: [Permission; 16] = [
        Permission::CatalogView,
        Permission::CatalogEdit,
        Permission::StockView,
        Permission::StockEdit,
        Permission::OrdersView,
        Permission::OrdersManage,
        Permission::Refunds,
        Permission::CustomersView,
        Permission::CustomersEdit,
        Permission::CustomersPrivacy,
        Permission::Staff,
        Permission::Devices,
        Permission::Plugins,
        Permission::Backups,
        Permission::Settings,
        Permission::Audit,
    ];

    /// Plain words for error messages and the matrix.
    pub fn describe(self) -> &'static str {
        use Permission::*;
        match self {
            CatalogView => "see the catalog",
            CatalogEdit => "change the catalog",
            StockView => "see stock",
            StockEdit => "change stock",
            OrdersView => "see orders",
            OrdersManage => "change orders",
            Refunds => "refund",
            CustomersView => "look up customers",
            CustomersEdit => "add and change customers",
            CustomersPrivacy => "export and erase customers",
            Staff => "manage staff",
            Devices => "manage POS devices",
            Plugins => "manage plugins",
            Backups => "take and restore backups",
            Settings => "change settings and API keys",
            Audit => "read the audit log",
        }
    }

    /// What an integration's API key of `scope` (`read` or `write`) may do: catalog and stock
    /// only; a read key only looks.
    pub fn allowed_for_key_scope(self, scope: &str) -> bool {
        use Permission::*;
        match self {
            CatalogView | StockView => scope == "read" || scope == "write",
            CatalogEdit | StockEdit => scope == "write",
            _ => false,
        }
    }
}

/// The numbers behind sessions, lockout and rate limits (PCI DSS 4.0 8.2.8, 8.3.4; ASVS L2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// Admin sessions end after this long without a request (15 minutes).
    pub session_idle_ms: i64,
    /// Admin sessions end this long after sign-in (12 hours).
    pub session_absolute_ms: i64,
    /// Consecutive failed sign-ins that lock an account (10).
    pub lockout_threshold: i64,
    /// How long a locked account stays locked (30 minutes).
    pub lockout_ms: i64,
    /// Failed sign-ins from one IP address, across all accounts, within `ip_window_ms` before
    /// that address is refused for a while (30).
    pub ip_failure_limit: i64,
    /// The window for `ip_failure_limit` (15 minutes).
    pub ip_window_ms: i64,
    /// How recently the password must have been typed for a sensitive action (5 minutes).
    pub reauth_ms: i64,
    /// How long a password-reset link works (30 minutes).
    pub reset_link_ms: i64,
    /// How long a staff invitation works (7 days).
    pub invitation_ms: i64,
    /// Audit entries older than this are pruned (400 days).
    pub audit_retention_ms: i64,
}

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

impl Default for SecurityPolicy {
    fn default() -> Self {
        Self {
            session_idle_ms: 15 * MINUTE,
            session_absolute_ms: 12 * 60 * MINUTE,
            lockout_threshold: 10,
            lockout_ms: 30 * MINUTE,
            ip_failure_limit: 30,
            ip_window_ms: 15 * MINUTE,
            reauth_ms: 5 * MINUTE,
            reset_link_ms: 30 * MINUTE,
            invitation_ms: 7 * DAY,
            audit_retention_ms: 400 * DAY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_holds_everything_cashier_changes_nothing() {
        for p in Permission::ALL {
            assert!(Role::Owner.allows(p), "{p:?}");
        }
        let cashier: Vec<_> = Permission::ALL
            .into_iter()
            .filter(|p| Role::Cashier.allows(*p))
            .collect();
        assert_eq!(
            cashier,
            [
                Permission::CatalogView,
                Permission::StockView,
                Permission::OrdersView,
                Permission::CustomersView
            ]
        );
    }

    #[test]
    fn only_owners_export_or_erase_customers() {
        use Permission::*;
        assert!(Role::Owner.allows(CustomersPrivacy));
        assert!(!Role::Manager.allows(CustomersPrivacy));
        assert!(!Role::Cashier.allows(CustomersPrivacy));
        assert!(Role::Manager.allows(CustomersEdit) && !Role::Cashier.allows(CustomersEdit));
        for r in Role::ALL {
            assert!(r.allows(CustomersView), "{r}");
        }
        for scope in ["read", "write"] {
            assert!(!CustomersView.allowed_for_key_scope(scope));
        }
    }

    #[test]
    fn manager_cannot_touch_staff_keys_backups_or_audit() {
        // Managers pair and revoke tills (the floor is theirs); staff, keys and backups are not.
        assert!(Role::Manager.allows(Permission::Devices));
        assert!(!Role::Cashier.allows(Permission::Devices));
        for p in [
            Permission::Staff,
            Permission::Plugins,
            Permission::Backups,
            Permission::Settings,
            Permission::Audit,
        ] {
            assert!(!Role::Manager.allows(p), "{p:?}");
        }
        assert!(Role::Manager.allows(Permission::Refunds));
    }

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
        assert_eq!(Role::parse(""), None);
        assert!(Role::Owner.requires_mfa() && !Role::Cashier.requires_mfa());
    }

    #[test]
    fn keys_reach_only_catalog_and_stock() {
        assert!(Permission::CatalogView.allowed_for_key_scope("read"));
        assert!(!Permission::CatalogEdit.allowed_for_key_scope("read"));
        assert!(Permission::StockEdit.allowed_for_key_scope("write"));
        assert!(!Permission::Staff.allowed_for_key_scope("write"));
        assert!(!Permission::CatalogView.allowed_for_key_scope("admin"));
    }
}
