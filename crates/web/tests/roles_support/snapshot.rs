//! What a refused request must leave alone, as text to compare before and after, and the
//! refusals the audit log holds.

use axum::http::StatusCode;
use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::catalog::ProductStatus;
use storefort_store::audit::{AuditEntry, AuditFilter};
use storefort_store::products::ProductFilter;
use storefort_store::Db;

use super::{state, World};

/// One cell as text, whatever its type.
fn cell(r: &AnyRow, i: usize) -> String {
    if let Ok(v) = r.try_get::<Option<String>, _>(i) {
        return format!("{v:?}");
    }
    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
        return format!("{v:?}");
    }
    panic!("cannot read column {i} of a snapshot row as text or a number")
}

/// Every row of `table`, every column. Read directly rather than through `order_detail`,
/// which costs a query and a decryption per order for every request of the walk.
async fn table(db: &Db, table: &str) -> String {
    let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let rows: Vec<String> = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| cell(r, i))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    format!("{table}:\n{}", rows.join("\n"))
}

/// Every order (status, amounts, tracking, lines, timeline, payments, refunds, screening and
/// review, calls logged), fraud screening's settings and rules, the checkout settings (shop,
/// tax rates, shipping methods, discount codes), the payment page's approved scripts and
/// accepted fingerprint, and how many emails wait to be sent.
async fn checkout(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for t in [
        "orders",
        "order_lines",
        "order_events",
        "payments",
        "refunds",
        "order_risk",
        "review_calls",
        "fraud_rules",
    ] {
        out.push(table(db, t).await);
    }
    out.push(format!("{:?}", db.shop_settings().await.unwrap()));
    out.push(format!("{:?}", db.tax_rates().await.unwrap()));
    out.push(format!("{:?}", db.shipping_methods(false).await.unwrap()));
    out.push(format!("{:?}", db.discount_codes().await.unwrap()));
    out.push(format!("{:?}", db.payment_scripts().await.unwrap()));
    out.push(format!(
        "{:?}",
        db.payment_page_fingerprint().await.unwrap()
    ));
    out.push(format!("{:?}", db.outbox_status().await.unwrap()));
    out.push(format!("{:?}", db.fraud_settings().await.unwrap()));
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
        out.extend(super::pos::snapshot(db).await);
        out.join("\n")
    }

    /// The snapshot and the number of refusals, taken before a request that is to be refused
    /// or to change nothing (`compared`); for one that is to succeed (nothing to compare) they
    /// are skipped, which keeps the walk fast.
    pub async fn before(&self, compared: bool) -> (String, usize) {
        if !compared {
            return (String::new(), 0);
        }
        (self.snapshot().await, self.denials().await.len())
    }

    /// A refusal: 403, nothing changed since `before` (from [`World::before`]), and exactly
    /// one new `access.denied` entry naming the caller and the request.
    pub async fn assert_refused(
        &self,
        ctx: &str,
        status: StatusCode,
        before: &(String, usize),
        actor: &str,
        line: &str,
    ) {
        assert_eq!(status, StatusCode::FORBIDDEN, "{ctx}: must be refused");
        assert_eq!(
            self.snapshot().await,
            before.0,
            "{ctx}: a refused request changed something"
        );
        let d: Vec<AuditEntry> = self.denials().await;
        assert_eq!(d.len(), before.1 + 1, "{ctx}: refusal not audited once");
        assert_eq!(
            (
                d[0].actor.as_str(),
                d[0].target.as_str(),
                d[0].outcome.as_str()
            ),
            (actor, line, "denied"),
            "{ctx}"
        );
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
