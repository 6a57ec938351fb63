//! What the till shows and searches: every variant on sale with its price, tax rate and stock
//! at one location, held in memory per location (one `Arc` snapshot with lower-case search
//! strings), so a search is a scan of memory, not a query.
//!
//! Freshness: a snapshot is tagged with the catalog version (bumped by every catalog or stock
//! write in this process, `Db::catalog_changed`). A stale snapshot is still served while a
//! fresh one is built in the background, at most one build at a time and at most every
//! [`MIN_REBUILD`]; snapshots older than [`MAX_AGE`] are refreshed the same way, which is how
//! changes made by other nodes on a shared PostgreSQL show up. Only the very first search at a
//! location waits for a build. Sales check prices and stock against the database, never this.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::Row;
use storefort_core::ValidationError;

use crate::{Db, StoreError};

/// A stale snapshot is rebuilt at most this often.
pub const MIN_REBUILD: Duration = Duration::from_secs(2);
/// A snapshot is refreshed after this long even without a change seen in this process.
pub const MAX_AGE: Duration = Duration::from_secs(15);

/// A variant as the till shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PosItem {
    /// Variant.
    pub variant_id: String,
    /// Product.
    pub product_id: String,
    /// Product name plus the variant's options ("Mug (Blue)").
    pub name: String,
    /// SKU.
    pub sku: String,
    /// Barcode.
    pub barcode: Option<String>,
    /// Unit price (minor units, as the shop enters prices).
    pub price_minor: i64,
    /// Tax rate for the shop's country (basis points).
    pub tax_rate_bp: i64,
    /// Category.
    pub category_id: Option<String>,
    /// Units at this location.
    pub stock: i64,
}

/// "Mug (Blue, L)" from a product name and a variant's options JSON (as carts name lines).
pub(crate) fn display_name(product: &str, options_json: &str) -> String {
    let opts: BTreeMap<String, String> = serde_json::from_str(options_json).unwrap_or_default();
    if opts.is_empty() {
        product.to_string()
    } else {
        let shown: Vec<&str> = opts.values().map(String::as_str).collect();
        format!("{product} ({})", shown.join(", "))
    }
}

struct Snapshot {
    version: u64,
    built: Instant,
    /// Sorted by lower-case name, then variant ID.
    items: Vec<PosItem>,
    /// `name \x01 sku \x01 barcode`, lower-case, per item.
    hay: Vec<String>,
    /// Lower-case SKU and barcode -> item.
    by_code: HashMap<String, usize>,
    /// Item indexes in variant ID order (for paging the device's offline copy).
    by_id: Vec<usize>,
}

#[derive(Default)]
struct LocationCache {
    snap: RwLock<Option<Arc<Snapshot>>>,
    building: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Default)]
struct PosCatalogCache {
    locations: Mutex<HashMap<String, Arc<LocationCache>>>,
}

type Listings = crate::cache::Cache<storefort_core::model::Page<storefort_core::model::Product>>;

/// One cache per open database, found by its listings cache (whose version is the catalog
/// version). The weak reference keeps that allocation's address from being reused, and dead
/// databases' entries are dropped on the next look-up.
static REGISTRY: Mutex<Vec<(Weak<Listings>, Arc<PosCatalogCache>)>> = Mutex::new(Vec::new());

fn cache_of(db: &Db) -> Arc<PosCatalogCache> {
    let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|(w, _)| w.strong_count() > 0);
    let me = Arc::as_ptr(&db.listings);
    if let Some((_, c)) = reg.iter().find(|(w, _)| w.as_ptr() == me) {
        return c.clone();
    }
    let c = Arc::new(PosCatalogCache::default());
    reg.push((Arc::downgrade(&db.listings), c.clone()));
    c
}

fn location_cache(db: &Db, location: &str) -> Arc<LocationCache> {
    let cache = cache_of(db);
    let mut map = cache.locations.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(location.to_string()).or_default().clone()
}

fn current(lc: &LocationCache) -> Option<Arc<Snapshot>> {
    lc.snap.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn store(lc: &LocationCache, s: Arc<Snapshot>) {
    *lc.snap.write().unwrap_or_else(|e| e.into_inner()) = Some(s);
}

impl Db {
    async fn pos_snapshot(&self, location: &str) -> Result<Arc<Snapshot>, StoreError> {
        let lc = location_cache(self, location);
        if let Some(s) = current(&lc) {
            let fresh = s.version == self.listings.version() && s.built.elapsed() < MAX_AGE;
            if !fresh && s.built.elapsed() >= MIN_REBUILD {
                if let Ok(guard) = lc.building.clone().try_lock_owned() {
                    let (db, loc, lc) = (self.clone(), location.to_string(), lc.clone());
                    tokio::spawn(async move {
                        let _guard = guard;
                        match db.build_snapshot(&loc).await {
                            Ok(s) => store(&lc, Arc::new(s)),
                            Err(e) => tracing::warn!(error = %e, "POS catalog refresh failed"),
                        }
                    });
                }
            }
            return Ok(s);
        }
        self.location(location).await?;
        let _guard = lc.building.lock().await;
        if let Some(s) = current(&lc) {
            return Ok(s);
        }
        let s = Arc::new(self.build_snapshot(location).await?);
        store(&lc, s.clone());
        Ok(s)
    }

    async fn build_snapshot(&self, location: &str) -> Result<Snapshot, StoreError> {
        // Read the version first: a change during the build leaves the snapshot stale.
        let version = self.listings.version();
        let country = self.shop_settings().await?.country;
        let rows = sqlx::query(
            "SELECT v.id, v.product_id, v.sku, v.barcode, v.options, v.price_minor, \
             p.name AS product_name, p.category_id, p.tax_class_id, \
             CAST(COALESCE(s.quantity, 0) AS BIGINT) AS stock FROM variants v \
             JOIN products p ON p.id = v.product_id LEFT JOIN stock_levels s \
             ON s.variant_id = v.id AND s.location_id = $1 \
             WHERE p.status = 'active' AND v.archived = 0",
        )
        .bind(location)
        .fetch_all(&self.pool)
        .await?;
        let mut rates: HashMap<String, i64> = HashMap::new();
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            let class: String = r.try_get("tax_class_id")?;
            let rate = match rates.get(&class) {
                Some(r) => *r,
                None => {
                    let rate = self.tax_rate_for(&class, &country).await?;
                    rates.insert(class, rate);
                    rate
                }
            };
            let product: String = r.try_get("product_name")?;
            let options: String = r.try_get("options")?;
            items.push(PosItem {
                variant_id: r.try_get("id")?,
                product_id: r.try_get("product_id")?,
                name: display_name(&product, &options),
                sku: r.try_get("sku")?,
                barcode: r.try_get("barcode")?,
                price_minor: r.try_get("price_minor")?,
                tax_rate_bp: rate,
                category_id: r.try_get("category_id")?,
                stock: r.try_get("stock")?,
            });
        }
        let mut keyed: Vec<(String, PosItem)> = items
            .into_iter()
            .map(|i| (i.name.to_lowercase(), i))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.variant_id.cmp(&b.1.variant_id)));
        let mut hay = Vec::with_capacity(keyed.len());
        let mut by_code = HashMap::with_capacity(keyed.len() * 2);
        let mut items = Vec::with_capacity(keyed.len());
        for (i, (lower, item)) in keyed.into_iter().enumerate() {
            let sku = item.sku.to_lowercase();
            let code = item.barcode.as_deref().unwrap_or("").to_lowercase();
            hay.push(format!("{lower}\u{1}{sku}\u{1}{code}"));
            if !code.is_empty() {
                by_code.entry(code).or_insert(i);
            }
            by_code.entry(sku).or_insert(i);
            items.push(item);
        }
        let mut by_id: Vec<usize> = (0..items.len()).collect();
        by_id.sort_by(|a, b| items[*a].variant_id.cmp(&items[*b].variant_id));
        Ok(Snapshot {
            version,
            built: Instant::now(),
            items,
            hay,
            by_code,
            by_id,
        })
    }

    /// Items on sale with their stock at `location`, in variant ID order after `after`, at most
    /// `limit` (1-1000): how a till copies the catalog for offline use.
    pub async fn pos_items(
        &self,
        location_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PosItem>, StoreError> {
        let s = self.pos_snapshot(location_id).await?;
        let start = match after {
            Some(a) => s
                .by_id
                .partition_point(|i| s.items[*i].variant_id.as_str() <= a),
            None => 0,
        };
        Ok(s.by_id[start..]
            .iter()
            .take(limit.clamp(1, 1000) as usize)
            .map(|i| s.items[*i].clone())
            .collect())
    }

    /// Search the till's catalog: every word of `q` must appear in the name, SKU or barcode
    /// (any case); an exact SKU or barcode comes first; then by name. `category` filters;
    /// an empty `q` lists the category. At most `limit` (1-200) results.
    pub async fn pos_search(
        &self,
        location_id: &str,
        q: &str,
        category: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PosItem>, StoreError> {
        let q = q.trim().to_lowercase();
        if q.chars().count() > 100 {
            return Err(ValidationError::new("q", "search with at most 100 characters").into());
        }
        let limit = limit.clamp(1, 200) as usize;
        let s = self.pos_snapshot(location_id).await?;
        let in_category =
            |i: usize| category.is_none_or(|c| s.items[i].category_id.as_deref() == Some(c));
        let mut out: Vec<usize> = Vec::new();
        let exact = s.by_code.get(&q).copied().filter(|i| in_category(*i));
        if let Some(i) = exact {
            out.push(i);
        }
        let terms: Vec<&str> = q.split_whitespace().collect();
        for (i, hay) in s.hay.iter().enumerate() {
            if out.len() >= limit {
                break;
            }
            if Some(i) != exact && in_category(i) && terms.iter().all(|t| hay.contains(t)) {
                out.push(i);
            }
        }
        Ok(out.into_iter().map(|i| s.items[i].clone()).collect())
    }

    /// The item with exactly this barcode or SKU (any case), as a scanner sends it.
    pub async fn pos_item_by_code(
        &self,
        location_id: &str,
        code: &str,
    ) -> Result<Option<PosItem>, StoreError> {
        let s = self.pos_snapshot(location_id).await?;
        let code = code.trim().to_lowercase();
        Ok(s.by_code.get(&code).map(|i| s.items[*i].clone()))
    }
}
