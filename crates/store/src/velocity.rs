//! Velocity counts in memory: recent risk events (orders, failed payments, cards seen) by email,
//! IP address, device and card, so that screening an order costs microseconds, not queries.
//!
//! The `risk_events` table is the truth. The index is loaded from it on first use, takes this
//! process's own events as they are written, and (for PostgreSQL, where other nodes write too)
//! reads newer rows every few seconds. Rows are recognised by `seq`, so nothing counts twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use storefort_core::fraud::Velocity;

/// Longest window the index keeps (the settings allow at most 30 days).
pub const MAX_WINDOW_MS: i64 = 30 * 24 * 3_600_000;

/// What kind of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An order was placed.
    Order,
    /// A payment attempt failed.
    FailedPayment,
    /// A card was used (authorized).
    Card,
}

impl EventKind {
    /// As stored in `risk_events.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Order => "order",
            EventKind::FailedPayment => "failed_payment",
            EventKind::Card => "card",
        }
    }

    /// Parse [`EventKind::as_str`].
    pub fn parse(s: &str) -> Option<EventKind> {
        [EventKind::Order, EventKind::FailedPayment, EventKind::Card]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// The keyed hashes an order is known by (any may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskKeys {
    /// Blind index of the contact email.
    pub email: Option<String>,
    /// Blind index of the shopper's IP address.
    pub ip: Option<String>,
    /// Blind index of the shopper's device cookie.
    pub device: Option<String>,
    /// Blind index of the card fingerprint the gateway reported.
    pub card: Option<String>,
    /// Blind index of the normalized delivery (or billing) address.
    pub address: Option<String>,
}

/// One event as the index keeps it.
#[derive(Debug, Clone)]
pub struct RiskEvent {
    /// `risk_events.seq`.
    pub seq: i64,
    /// When, UTC ms.
    pub at: i64,
    /// What.
    pub kind: EventKind,
    /// Who and how.
    pub keys: RiskKeys,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    at: i64,
    kind: EventKind,
    card: u64,
    address: u64,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<String, VecDeque<Entry>>,
    seen: HashSet<i64>,
    order: VecDeque<(i64, i64)>,
    last_seq: i64,
    loaded: bool,
    adds: u64,
}

/// The in-memory index (one per process, shared by every clone of the `Db`).
#[derive(Debug, Default)]
pub struct VelocityIndex {
    inner: Mutex<Inner>,
}

fn fingerprint(s: &Option<String>) -> u64 {
    use std::hash::{Hash, Hasher};
    match s {
        None => 0,
        Some(v) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            v.hash(&mut h);
            h.finish() | 1
        }
    }
}

fn slots(keys: &RiskKeys) -> impl Iterator<Item = String> + '_ {
    [
        ("e", &keys.email),
        ("i", &keys.ip),
        ("d", &keys.device),
        ("c", &keys.card),
    ]
    .into_iter()
    .filter_map(|(p, k)| k.as_ref().map(|k| format!("{p}:{k}")))
}

impl VelocityIndex {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True once loaded from the table.
    pub fn is_loaded(&self) -> bool {
        self.lock().loaded
    }

    /// Mark loaded (after [`VelocityIndex::add`] of every stored recent event).
    pub fn set_loaded(&self) {
        self.lock().loaded = true;
    }

    /// Highest `seq` seen.
    pub fn last_seq(&self) -> i64 {
        self.lock().last_seq
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// True when no events are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Take an event (ignored when its `seq` was seen already). `now` drops events older than
    /// [`MAX_WINDOW_MS`].
    pub fn add(&self, e: &RiskEvent, now: i64) {
        let cutoff = now - MAX_WINDOW_MS;
        if e.at < cutoff {
            // Too old to count (a PostgreSQL re-read can bring such rows back).
            return;
        }
        let mut g = self.lock();
        if !g.seen.insert(e.seq) {
            return;
        }
        g.last_seq = g.last_seq.max(e.seq);
        let entry = Entry {
            at: e.at,
            kind: e.kind,
            card: fingerprint(&e.keys.card),
            address: fingerprint(&e.keys.address),
        };
        for slot in slots(&e.keys) {
            let list = g.by_key.entry(slot).or_default();
            // Keep each key's list in time order (late rows from another node slot in).
            let at = list.partition_point(|x| x.at <= entry.at);
            list.insert(at, entry);
            while list.front().is_some_and(|x| x.at < cutoff) {
                list.pop_front();
            }
        }
        g.order.push_back((e.at, e.seq));
        prune(&mut g, cutoff);
    }

    /// Counts within `window_ms` before `now`, the highest over the keys given.
    pub fn lookup(&self, keys: &RiskKeys, now: i64, window_ms: i64) -> Velocity {
        let from = now - window_ms;
        let g = self.lock();
        let mut v = Velocity::default();
        let mut cards: Vec<u64> = Vec::new();
        let mut addresses: Vec<u64> = Vec::new();
        for slot in slots(keys) {
            let Some(list) = g.by_key.get(&slot) else {
                continue;
            };
            let (mut orders, mut failed) = (0u32, 0u32);
            cards.clear();
            addresses.clear();
            for e in list.iter().rev().take_while(|e| e.at >= from) {
                match e.kind {
                    EventKind::Order => orders += 1,
                    EventKind::FailedPayment => failed += 1,
                    EventKind::Card => {}
                }
                if e.card != 0 && !cards.contains(&e.card) {
                    cards.push(e.card);
                }
                if e.address != 0 && !addresses.contains(&e.address) {
                    addresses.push(e.address);
                }
            }
            v.orders = v.orders.max(orders);
            v.failed_payments = v.failed_payments.max(failed);
            v.distinct_cards = v.distinct_cards.max(len_u32(&cards));
            v.distinct_addresses = v.distinct_addresses.max(len_u32(&addresses));
        }
        v
    }
}

fn len_u32(v: &[u64]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

/// Drop events older than `cutoff` from the seen-set (events arrive roughly in time order; a
/// late one is kept until it is at the front).
fn prune(g: &mut Inner, cutoff: i64) {
    while let Some(&(at, seq)) = g.order.front() {
        if at >= cutoff {
            break;
        }
        g.order.pop_front();
        g.seen.remove(&seq);
    }
    // Now and then, drop keys that saw nothing recent (touched keys are trimmed on add).
    g.adds += 1;
    if g.adds.is_multiple_of(4096) {
        g.by_key.retain(|_, list| {
            while list.front().is_some_and(|e| e.at < cutoff) {
                list.pop_front();
            }
            !list.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, at: i64, kind: EventKind, email: &str, card: Option<&str>) -> RiskEvent {
        RiskEvent {
            seq,
            at,
            kind,
            keys: RiskKeys {
                email: Some(email.into()),
                ip: Some("ip1".into()),
                card: card.map(str::to_string),
                address: Some(format!("addr-{seq}")),
                ..RiskKeys::default()
            },
        }
    }

    #[test]
    fn counts_within_the_window_and_takes_the_highest_key() {
        let idx = VelocityIndex::default();
        let hour = 3_600_000;
        idx.add(&ev(1, 0, EventKind::Order, "a", None), 0);
        idx.add(&ev(2, 10 * hour, EventKind::Order, "b", None), 10 * hour);
        idx.add(
            &ev(3, 11 * hour, EventKind::FailedPayment, "b", Some("c1")),
            11 * hour,
        );
        idx.add(
            &ev(4, 11 * hour, EventKind::FailedPayment, "b", Some("c2")),
            11 * hour,
        );
        // The same event twice (a PostgreSQL re-read) counts once.
        idx.add(
            &ev(4, 11 * hour, EventKind::FailedPayment, "b", Some("c2")),
            11 * hour,
        );
        let keys = RiskKeys {
            email: Some("b".into()),
            ..RiskKeys::default()
        };
        let v = idx.lookup(&keys, 12 * hour, 24 * hour);
        assert_eq!((v.orders, v.failed_payments, v.distinct_cards), (1, 2, 2));
        assert_eq!(v.distinct_addresses, 3);
        // By IP, all four events (the first one too) are in a 24-hour window at 12 h...
        let ip = RiskKeys {
            ip: Some("ip1".into()),
            ..RiskKeys::default()
        };
        assert_eq!(idx.lookup(&ip, 12 * hour, 24 * hour).orders, 2);
        // ...but only the later one in a 2-hour one (the window includes its start).
        assert_eq!(idx.lookup(&ip, 12 * hour, 2 * hour).orders, 1);
        assert_eq!(idx.lookup(&ip, 12 * hour, hour + 1).orders, 0);
        assert_eq!(idx.lookup(&ip, 12 * hour, 2 * hour).failed_payments, 2);
        // Unknown keys count nothing.
        let none = RiskKeys::default();
        assert_eq!(idx.lookup(&none, 12 * hour, 24 * hour), Velocity::default());
    }

    #[test]
    fn a_late_or_old_event_does_not_hide_recent_ones() {
        let idx = VelocityIndex::default();
        let now = MAX_WINDOW_MS * 2;
        for seq in 10..13 {
            idx.add(&ev(seq, now - 1000, EventKind::Order, "a", None), now);
        }
        // Re-read from another node: a row older than the window, and one a little late.
        idx.add(
            &ev(3, now - MAX_WINDOW_MS - 5, EventKind::Order, "a", None),
            now,
        );
        idx.add(&ev(9, now - 5000, EventKind::Order, "a", None), now);
        let keys = RiskKeys {
            email: Some("a".into()),
            ..RiskKeys::default()
        };
        assert_eq!(idx.lookup(&keys, now, 3_600_000).orders, 4);
        assert_eq!(idx.len(), 4, "the old row was not taken");
    }

    #[test]
    fn memory_stays_flat_at_a_steady_rate() {
        let idx = VelocityIndex::default();
        let minute = 60_000;
        // Two months of one order a minute from one IP: only 30 days are kept per key.
        let total = 2 * 30 * 24 * 60;
        for i in 0..total {
            let at = i * minute;
            idx.add(
                &ev(i, at, EventKind::Order, &format!("e{}", i % 7), None),
                at,
            );
        }
        let g = idx.lock();
        let kept: usize = g.by_key.values().map(VecDeque::len).sum();
        // 30 days of events, each under its email and the shared IP (an email's list is trimmed
        // when it is next used, so it may hold a few minutes more).
        assert!(kept <= 2 * (30 * 24 * 60 + 8), "{kept}");
        assert!(g.order.len() <= 30 * 24 * 60 + 1, "{}", g.order.len());
    }

    #[test]
    fn old_events_are_dropped() {
        let idx = VelocityIndex::default();
        idx.add(&ev(1, 0, EventKind::Order, "a", None), 0);
        idx.add(
            &ev(2, MAX_WINDOW_MS + 10, EventKind::Order, "a", None),
            MAX_WINDOW_MS + 10,
        );
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.last_seq(), 2);
    }
}
