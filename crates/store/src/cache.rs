//! Short-lived in-process caches for the two hottest reads: product listings and API-key
//! lookups. Entries live at most [`TTL`]; any catalog or stock write through this process drops
//! listings at once, and revoking a key drops cached keys at once. Other nodes sharing a
//! PostgreSQL database see such changes within [`TTL`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a cached entry may be served.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept before the cache is emptied (bounds memory against varied queries).
const MAX_ENTRIES: usize = 4096;

/// A cached value with the version it was computed at and when.
type Entry<T> = (u64, Instant, Arc<T>);

/// A versioned map of recent results.
pub struct Cache<T> {
    version: AtomicU64,
    entries: Mutex<HashMap<String, Entry<T>>>,
}

impl<T> std::fmt::Debug for Cache<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("version", &self.version.load(Ordering::Relaxed))
            .finish()
    }
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Self {
            version: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Cache<T> {
    /// The version to tag a result with; read it before running the query.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// A fresh entry for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        let now = self.version();
        let map = self.entries.lock().ok()?;
        let (v, at, value) = map.get(key)?;
        (*v == now && at.elapsed() < TTL).then(|| value.clone())
    }

    /// Remember a result computed at `version`.
    pub fn put(&self, key: String, version: u64, value: Arc<T>) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, (version, Instant::now(), value));
        }
    }

    /// Something changed: every entry is stale from now on.
    pub fn invalidate(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
    }
}

/// Shorthand for the caches a [`crate::Db`] holds.
pub type Shared<T> = Arc<Cache<T>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_and_stale_versions() {
        let c: Cache<i32> = Cache::default();
        let v = c.version();
        c.put("a".into(), v, Arc::new(1));
        assert_eq!(c.get("a").as_deref(), Some(&1));
        c.invalidate();
        assert!(c.get("a").is_none());
        c.put("b".into(), v, Arc::new(2));
        assert!(
            c.get("b").is_none(),
            "computed before the change: never served"
        );
    }
}
