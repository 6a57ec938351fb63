//! What fraud screening needs from the database: how an order was placed (as keyed hashes and
//! the IP's country), velocity events, the customer's earlier orders, the shop's typical order
//! and price figures, and where screening's answer is kept.

use std::sync::{Arc, Mutex};

use sqlx::Row;
use storefort_core::customer::Address;
use storefort_core::fraud::{
    address_key, Assessment, CustomerHistory, DisposableDomains, FraudSettings, RuleSet, ShopStats,
    Velocity,
};
use storefort_core::ids::{CustomerId, OrderId};

use crate::velocity::{EventKind, RiskEvent, RiskKeys, MAX_WINDOW_MS};
use crate::{Backend, Db, StoreError};

/// Shop figures are recomputed this often.
const STATS_TTL_MS: i64 = 10 * 60_000;
/// Settings and rules changed by another process are seen within this.
const CONFIG_TTL_MS: i64 = 5_000;
/// A payment older than this is past the usual window for disputing it (chargebacks).
const SETTLED_MS: i64 = 30 * 24 * 3_600_000;
/// PostgreSQL: other nodes' risk events are read this often.
const TAIL_EVERY_MS: i64 = 2_000;

/// Settings, compiled rules and the throwaway-domain list, ready to screen with.
#[derive(Debug)]
pub struct FraudConfig {
    /// Thresholds, weights, limits.
    pub settings: FraudSettings,
    /// The enabled custom rules, compiled.
    pub rules: RuleSet,
    /// Bundled throwaway domains plus the owner's additions, minus the allowed ones.
    pub domains: DisposableDomains,
}

/// Caches behind fraud screening (one per process).
#[derive(Debug)]
pub struct FraudCache {
    stats: Mutex<Option<(i64, ShopStats)>>,
    config: Mutex<Option<(i64, Arc<FraudConfig>)>>,
    tailed_at: Mutex<i64>,
    /// Orders waiting for a phone check, as last counted (-1: not counted yet).
    pub(crate) open_reviews: std::sync::atomic::AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How an order was placed, before hashing.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The shopper's IP address (hashed here, never stored).
    pub ip: Option<String>,
    /// The shopper's device cookie (hashed here).
    pub device: Option<String>,
    /// The IP address's country, when a GeoIP database is configured.
    pub ip_country: Option<String>,
}

impl Default for FraudCache {
    fn default() -> Self {
        Self {
            stats: Mutex::new(None),
            config: Mutex::new(None),
            tailed_at: Mutex::new(0),
            open_reviews: std::sync::atomic::AtomicI64::new(-1),
        }
    }
}

impl FraudCache {
    pub(crate) fn forget_config(&self) {
        *lock(&self.config) = None;
    }
}

impl Db {
    /// Keyed hash of a value for velocity counting (`kind`: email, ip, device, card, address).
    pub fn risk_key(&self, kind: &str, value: &str) -> Result<String, StoreError> {
        self.blind_index(&format!("risk-{kind}"), value)
    }

    /// Record how an order was placed and count it for velocity. Safe to call twice (a replayed
    /// checkout): the second call changes nothing.
    pub async fn record_placement(
        &self,
        order: &OrderId,
        email: &str,
        address: Option<&Address>,
        p: &Placement,
    ) -> Result<(), StoreError> {
        let keys = RiskKeys {
            email: Some(self.risk_key("email", &email.trim().to_lowercase())?),
            ip: p
                .ip
                .as_deref()
                .map(|ip| self.risk_key("ip", ip))
                .transpose()?,
            device: p
                .device
                .as_deref()
                .map(|d| self.risk_key("device", d))
                .transpose()?,
            card: None,
            address: address
                .map(|a| self.risk_key("address", &address_key(a)))
                .transpose()?,
        };
        let now = self.now();
        let done = sqlx::query(
            "INSERT INTO order_risk (order_id, email_key, ip_key, device_key, address_key, \
             ip_country, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order.as_str())
        .bind(&keys.email)
        .bind(&keys.ip)
        .bind(&keys.device)
        .bind(&keys.address)
        .bind(&p.ip_country)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            self.insert_risk_event(order, EventKind::Order, &keys)
                .await?;
        }
        Ok(())
    }

    /// The keys an order is known by and its IP country (`None` if placement was not recorded).
    pub async fn order_risk_keys(
        &self,
        order: &OrderId,
    ) -> Result<Option<(RiskKeys, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT email_key, ip_key, device_key, card_key, address_key, ip_country \
             FROM order_risk WHERE order_id = $1",
        )
        .bind(order.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            RiskKeys {
                email: r.try_get("email_key")?,
                ip: r.try_get("ip_key")?,
                device: r.try_get("device_key")?,
                card: r.try_get("card_key")?,
                address: r.try_get("address_key")?,
            },
            r.try_get("ip_country")?,
        )))
    }

    /// Count a failed payment or a card seen for an order; a card fingerprint from the gateway
    /// is kept (hashed) as the order's card.
    pub async fn record_risk_event(
        &self,
        order: &OrderId,
        kind: EventKind,
        card_fingerprint: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some((mut keys, _)) = self.order_risk_keys(order).await? else {
            return Ok(());
        };
        if let Some(fp) = card_fingerprint.filter(|f| !f.trim().is_empty()) {
            let key = self.risk_key("card", fp.trim())?;
            sqlx::query("UPDATE order_risk SET card_key = $1 WHERE order_id = $2")
                .bind(&key)
                .bind(order.as_str())
                .execute(&self.pool)
                .await?;
            keys.card = Some(key);
        }
        self.insert_risk_event(order, kind, &keys).await
    }

    async fn insert_risk_event(
        &self,
        order: &OrderId,
        kind: EventKind,
        keys: &RiskKeys,
    ) -> Result<(), StoreError> {
        let at = self.now();
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO risk_events (at, order_id, kind, email_key, ip_key, device_key, \
             card_key, address_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq",
        )
        .bind(at)
        .bind(order.as_str())
        .bind(kind.as_str())
        .bind(&keys.email)
        .bind(&keys.ip)
        .bind(&keys.device)
        .bind(&keys.card)
        .bind(&keys.address)
        .fetch_one(&self.pool)
        .await?;
        if self.velocity.is_loaded() {
            self.velocity.add(
                &RiskEvent {
                    seq,
                    at,
                    kind,
                    keys: keys.clone(),
                },
                at,
            );
        }
        Ok(())
    }

    /// Velocity counts for these keys within `window_ms` (loads the index on first use; on
    /// PostgreSQL reads other nodes' events every couple of seconds).
    pub async fn velocity_of(
        &self,
        keys: &RiskKeys,
        window_ms: i64,
    ) -> Result<Velocity, StoreError> {
        let now = self.now();
        if !self.velocity.is_loaded() {
            self.load_velocity(now).await?;
        } else if self.backend == Backend::Postgres {
            let due = {
                let mut t = lock(&self.fraud_cache.tailed_at);
                let due = now - *t >= TAIL_EVERY_MS;
                if due {
                    *t = now;
                }
                due
            };
            if due {
                self.tail_velocity(now).await?;
            }
        }
        Ok(self.velocity.lookup(keys, now, window_ms))
    }

    async fn load_velocity(&self, now: i64) -> Result<(), StoreError> {
        self.read_events("at >= $1", now - MAX_WINDOW_MS, now)
            .await?;
        self.velocity.set_loaded();
        Ok(())
    }

    async fn tail_velocity(&self, now: i64) -> Result<(), StoreError> {
        // Sequence numbers can commit out of order on PostgreSQL: re-read a margin behind the
        // last one seen; events seen already are skipped by the index.
        let from = self.velocity.last_seq() - 1000;
        self.read_events("seq > $1", from, now).await
    }

    async fn read_events(&self, filter: &str, bound: i64, now: i64) -> Result<(), StoreError> {
        let sql = format!(
            "SELECT seq, at, kind, email_key, ip_key, device_key, card_key, address_key \
             FROM risk_events WHERE {filter} ORDER BY seq"
        );
        let rows = sqlx::query(&sql).bind(bound).fetch_all(&self.pool).await?;
        for r in rows {
            let kind: String = r.try_get("kind")?;
            let Some(kind) = EventKind::parse(&kind) else {
                continue;
            };
            self.velocity.add(
                &RiskEvent {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    kind,
                    keys: RiskKeys {
                        email: r.try_get("email_key")?,
                        ip: r.try_get("ip_key")?,
                        device: r.try_get("device_key")?,
                        card: r.try_get("card_key")?,
                        address: r.try_get("address_key")?,
                    },
                },
                now,
            );
        }
        Ok(())
    }

    /// The customer's earlier orders that were paid (placed before `placed_at`, the screened
    /// order's own time), counting only those delivered to the same address (`address_key`,
    /// when the order has one): someone who only knows a loyal customer's email and ships
    /// elsewhere gets no credit for that customer's history. `paid_orders` counts only orders
    /// paid more than 30 days ago (past the usual time to dispute a card payment), so a couple
    /// of quick small orders on a stolen card earn nothing.
    pub async fn customer_history(
        &self,
        customer: &CustomerId,
        placed_at: i64,
        address_key: Option<&str>,
    ) -> Result<CustomerHistory, StoreError> {
        // With an address: start from the (few) orders delivered there; without: the
        // customer's orders, answered from the `orders_customer_history` index.
        let (from, filter) = match address_key {
            Some(_) => (
                "order_risk r JOIN orders o ON o.id = r.order_id",
                "r.address_key = $4 AND o.customer_id = $1",
            ),
            None => ("orders o", "o.customer_id = $1 AND $4 = ''"),
        };
        let sql = format!(
            "SELECT COUNT(*) AS n, \
             COALESCE(SUM(CASE WHEN o.status IN ('paid', 'fulfilled') AND o.created_at < $3 \
             THEN 1 ELSE 0 END), 0) AS paid, \
             COALESCE(SUM(CASE WHEN o.refunded_minor > 0 OR o.status IN ('refunded', \
             'partially_refunded') THEN 1 ELSE 0 END), 0) AS refunded \
             FROM {from} WHERE {filter} AND o.created_at < $2 \
             AND o.status IN ('paid', 'fulfilled', 'partially_refunded', 'refunded')"
        );
        let row = sqlx::query(&sql)
            .bind(customer.as_str())
            .bind(placed_at)
            .bind(placed_at - SETTLED_MS)
            .bind(address_key.unwrap_or(""))
            .fetch_one(&self.pool)
            .await?;
        let n = |c: &str| -> Result<u32, StoreError> {
            let v: i64 = row.try_get(c)?;
            Ok(u32::try_from(v.max(0)).unwrap_or(u32::MAX))
        };
        Ok(CustomerHistory {
            orders: n("n")?,
            paid_orders: n("paid")?,
            refunded_orders: n("refunded")?,
        })
    }

    /// The shop's typical (median) paid order over the last 90 days and the lowest price in the
    /// top tenth of active prices; recomputed every 10 minutes.
    pub async fn shop_stats(&self) -> Result<ShopStats, StoreError> {
        let now = self.now();
        if let Some((at, s)) = *lock(&self.fraud_cache.stats) {
            if now - at < STATS_TTL_MS {
                return Ok(s);
            }
        }
        let since = now - 90 * 24 * 3_600_000;
        let paid: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE status IN ('paid', 'fulfilled') AND created_at >= $1",
        )
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let typical: Option<i64> = sqlx::query_scalar(
            "SELECT total_minor FROM orders WHERE status IN ('paid', 'fulfilled') \
             AND created_at >= $1 ORDER BY total_minor LIMIT 1 OFFSET $2",
        )
        .bind(since)
        .bind(paid / 2)
        .fetch_optional(&self.pool)
        .await?;
        let prices: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM variants WHERE archived = 0 AND price_minor > 0",
        )
        .fetch_one(&self.pool)
        .await?;
        // The top tenth starts at the ceil(n/10)-th highest price.
        let offset = ((prices + 9) / 10 - 1).max(0);
        let expensive: Option<i64> = sqlx::query_scalar(
            "SELECT price_minor FROM variants WHERE archived = 0 AND price_minor > 0 \
             ORDER BY price_minor DESC LIMIT 1 OFFSET $1",
        )
        .bind(offset)
        .fetch_optional(&self.pool)
        .await?;
        let s = ShopStats {
            typical_order_minor: typical.unwrap_or(0),
            expensive_price_minor: expensive.unwrap_or(0),
        };
        *lock(&self.fraud_cache.stats) = Some((now, s));
        Ok(s)
    }

    /// Forget the cached shop figures (tests, and after a catalog import).
    pub fn forget_shop_stats(&self) {
        *lock(&self.fraud_cache.stats) = None;
    }

    /// Settings, compiled rules and throwaway domains (cached; dropped when changed here, and
    /// re-read within 5 seconds of a change made by another process).
    pub async fn fraud_config(&self) -> Result<Arc<FraudConfig>, StoreError> {
        let now = self.now();
        if let Some((at, c)) = lock(&self.fraud_cache.config).as_ref() {
            if now - at < CONFIG_TTL_MS {
                return Ok(c.clone());
            }
        }
        let settings = self.fraud_settings().await?;
        let mut compiled = Vec::new();
        for r in self.fraud_rules().await?.into_iter().filter(|r| r.enabled) {
            match storefort_core::fraud::CompiledRule::compile(&r.rule) {
                Ok(c) => compiled.push(c),
                // Saved rules were valid when saved; one that no longer compiles (an older
                // version's syntax) is skipped, not fatal.
                Err(e) => tracing::warn!(rule = %r.rule.name, error = %e.message, "rule skipped"),
            }
        }
        let domains = DisposableDomains::new(
            &settings.extra_disposable_domains,
            &settings.allowed_domains,
        );
        let c = Arc::new(FraudConfig {
            settings,
            rules: RuleSet::new(compiled),
            domains,
        });
        *lock(&self.fraud_cache.config) = Some((now, c.clone()));
        Ok(c)
    }

    /// Keep screening's answer. `hold_until` (the authorization's expiry) opens a review. Only
    /// the first answer for an order is kept (or a new one after staff asked the customer to pay
    /// again): returns false, changing nothing, when another screening decided first.
    pub async fn save_assessment(
        &self,
        order: &OrderId,
        a: &Assessment,
        checks_json: &str,
        hold_until: Option<i64>,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let reasons = serde_json::to_string(&a.reasons).unwrap_or_else(|_| "[]".into());
        let review = hold_until.map(|_| "open");
        // An order placed without a recorded placement (API before this version) gets a row.
        sqlx::query(
            "INSERT INTO order_risk (order_id, created_at) VALUES ($1, $2) \
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        let done = sqlx::query(
            "UPDATE order_risk SET score = $1, decision = $2, reasons = $3, checks = $4, \
             screened_at = $5, review = COALESCE($6, review), \
             held_at = CASE WHEN $6 IS NULL THEN held_at ELSE $5 END, \
             auth_expires_at = COALESCE($7, auth_expires_at) WHERE order_id = $8 \
             AND (decision IS NULL OR review = 'pay_again')",
        )
        .bind(i64::from(a.score))
        .bind(a.decision.as_str())
        .bind(reasons)
        .bind(checks_json)
        .bind(now)
        .bind(review)
        .bind(hold_until)
        .bind(order.as_str())
        .execute(&self.pool)
        .await?;
        if hold_until.is_some() {
            self.open_review_count().await?;
        }
        Ok(done.rows_affected() == 1)
    }
}
