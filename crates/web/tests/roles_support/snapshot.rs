//! What a refused request must leave alone, as text to compare before and after, and the
//! refusals the audit log holds.

use storefort_core::ids::OrderId;
use storefort_core::catalog::ProductStatus;
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::order_read::OrderFilter;
use storefort_store::products::ProductFilter;
use storefort_store::Db;

use super::{state, World};

/// Every order (status, amounts, tracking, lines, payments, refunds, timeline), the checkout
/// settings (shop, tax rates, shipping methods, discount codes), the payment page's approved
/// scripts and accepted fingerprint, and how many emails wait to be sent.
async fn checkout(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    let f = OrderFilter {
        limit: Some(100),
        ..Default::default()
    };
    let page = db.orders_page(&f).await.unwrap();
    assert!(page.next_cursor.is_none(), "more orders than the snapshot reads");
    for o in &page.items {
        let d = db.order_detail(&OrderId(o.id.clone())).await.unwrap();
        out.push(serde_json::to_string(&d).unwrap());
    }
    out.push(format!("{:?}", db.shop_settings().await.unwrap()));
    out.push(format!("{:?}", db.tax_rates().await.unwrap()));
    out.push(format!("{:?}", db.shipping_methods(false).await.unwrap()));
    out.push(format!("{:?}", db.discount_codes().await.unwrap()));
    out.push(format!("{:?}", db.payment_scripts().await.unwrap()));
    out.push(format!("{:?}", db.payment_page_fingerprint().await.unwrap()));
    out.push(format!("{:?}", db.outbox_status().await.unwrap()));
    out
}

impl World {
    /// Everything a refused request might have changed: products (all statuses), variants,
    /// stock and ledgers, categories, locations, tax classes, API keys (but not when a key
    /// was last used), staff accounts, their sessions and open invitations, customers, orders
    /// and the checkout and payment page settings.
    pub async fn snapshot(&self) -> String {
        let db = &self.t.db;
        let mut out = Vec::new();
        let mut variants = Vec::new();
        for status in [None, Some(ProductStatus::Archived)] {
            let f = ProductFilter {
                status,
                limit: 100,
                ..Default::default()
            };
            let page = db.list_products(&f).await.unwrap();
            for p in &page.items {
                variants.extend(p.variants.iter().map(|v| v.id.as_str().to_string()));
            }
            out.push(serde_json::to_string(&*page).unwrap());
        }
        for v in variants
            .iter()
            .chain([&self.ids["variant"], &self.ids["victim_variant"]])
        {
            if let Ok(one) = db.variant(v).await {
                out.push(serde_json::to_string(&one).unwrap());
            }
            out.push(serde_json::to_string(&db.stock_levels(v).await.unwrap()).unwrap());
            out.push(serde_json::to_string(&db.movements(v, None, 100).await.unwrap()).unwrap());
        }
        out.push(serde_json::to_string(&db.categories().await.unwrap()).unwrap());
        out.push(serde_json::to_string(&db.locations().await.unwrap()).unwrap());
        out.push(serde_json::to_string(&db.tax_classes().await.unwrap()).unwrap());
        for k in db.api_keys().await.unwrap() {
            out.push(format!(
                "{} {} {} {:?}",
                k.id.as_str(),
                k.name,
                k.scope,
                k.revoked_at
            ));
        }
        out.extend(state::staff(db).await);
        out.extend(state::customers(db).await);
        out.extend(checkout(db).await);
        out.join("\n")
    }

    /// The `access.denied` entries, newest first.
    pub async fn denials(&self) -> Vec<AuditEntry> {
        let f = AuditFilter {
            action: Some("access.denied".into()),
            limit: Some(10_000),
            ..Default::default()
        };
        self.t.db.audit_entries(&f).await.unwrap()
    }
}
