//! The audit log: append-only, each entry hash-chained to the one before it with a key derived
//! from the master key. [`Db::verify_audit`] finds the first entry that was changed, deleted or
//! reordered; retention pruning moves the chain's anchor forward and records that it did.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_crypto::chain::GENESIS;

use crate::db::Backend;
use crate::{Db, StoreError};

/// Settings key holding the `prev_hash` the oldest kept entry must carry.
const ANCHOR: &str = "audit_anchor";
/// PostgreSQL advisory lock key for appends from several nodes.
const PG_LOCK: i64 = 0x0053_4641_5544_4954; // "SFAUDIT"

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was tried and failed (wrong password, bad code).
    Failure,
    /// It was refused (no permission, locked, rate limited).
    Denied,
}

impl Outcome {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent {
    /// Staff user ID of whoever acted, if a staff member did.
    pub actor_id: Option<String>,
    /// Who acted, readable: an email, `api-key:NAME`, `cli`, `system`.
    pub actor: String,
    /// What happened, dotted: `login.success`, `staff.role_changed`, `api_key.created`.
    pub action: String,
    /// What it happened to (an email, an ID).
    pub target: String,
    /// From where (client IP, or `cli`).
    pub ip: String,
    /// How it ended; `None` means success.
    pub outcome: Option<Outcome>,
    /// Anything else worth keeping (never secrets).
    pub details: String,
}

impl AuditEvent {
    /// An event `action` by `actor` from `ip`; fill in the rest with the builder methods.
    pub fn new(action: &str, actor: &str, ip: &str) -> Self {
        Self {
            action: action.into(),
            actor: actor.into(),
            ip: ip.into(),
            ..Default::default()
        }
    }

    /// Set the acting staff member's ID.
    pub fn by(mut self, user_id: &str) -> Self {
        self.actor_id = Some(user_id.into());
        self
    }

    /// Set the target.
    pub fn on(mut self, target: &str) -> Self {
        self.target = target.into();
        self
    }

    /// Set the outcome.
    pub fn outcome(mut self, o: Outcome) -> Self {
        self.outcome = Some(o);
        self
    }

    /// Set details.
    pub fn details(mut self, d: impl Into<String>) -> Self {
        self.details = d.into();
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    /// Position in the log.
    pub seq: i64,
    /// UTC ms.
    pub at: i64,
    /// Staff user ID, if any.
    pub actor_id: Option<String>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub target: String,
    /// From where.
    pub ip: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// More.
    pub details: String,
    /// Previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Which entries to list (all optional; newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Actor contains this (case-insensitive).
    pub actor: Option<String>,
    /// Action starts with this (`login` finds `login.success` and `login.failure`).
    pub action: Option<String>,
    /// Exactly this outcome.
    pub outcome: Option<String>,
    /// At or after, UTC ms.
    pub from: Option<i64>,
    /// Before, UTC ms.
    pub to: Option<i64>,
    /// Only entries with a smaller `seq` (paging).
    pub before_seq: Option<i64>,
    /// At most this many (default 100, at most 10,000).
    pub limit: Option<i64>,
}

/// What [`Db::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every link holds.
    Intact {
        /// Entries checked.
        entries: u64,
    },
    /// The chain breaks at `seq`.
    Broken {
        /// The first entry whose link fails.
        seq: i64,
        /// Why, in plain words.
        reason: String,
    },
}

const COLS: &str =
    "seq, at, actor_id, actor, action, target, ip, outcome, details, prev_hash, hash";

fn entry(r: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        ip: r.try_get("ip")?,
        outcome: r.try_get("outcome")?,
        details: r.try_get("details")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// The fields the hash covers, in order.
fn fields(at: i64, e: &AuditEntry) -> [String; 8] {
    [
        at.to_string(),
        e.actor_id.clone().unwrap_or_default(),
        e.actor.clone(),
        e.action.clone(),
        e.target.clone(),
        e.ip.clone(),
        e.outcome.clone(),
        e.details.clone(),
    ]
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Db {
    /// Append an event; returns its `seq`. Fails without the master key (see
    /// [`Db::with_master_key`]): an unkeyed chain would prove nothing.
    pub async fn audit(&self, ev: AuditEvent) -> Result<i64, StoreError> {
        let key = self.secrets()?.chain.clone();
        let (_guard, mut tx) = self.chain_tx().await?;
        let last: Option<String> =
            sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let prev = match last {
            Some(h) => h,
            None => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(ANCHOR)
                .fetch_optional(&mut *tx)
                .await?
                .map(|a: String| anchor_hash(&a).to_string())
                .unwrap_or_else(|| GENESIS.to_string()),
        };
        let at = self.now();
        let e = AuditEntry {
            seq: 0,
            at,
            actor_id: ev.actor_id,
            actor: clip(&ev.actor, 200),
            action: clip(&ev.action, 100),
            target: clip(&ev.target, 200),
            ip: clip(&ev.ip, 64),
            outcome: ev.outcome.unwrap_or(Outcome::Success).as_str().to_string(),
            details: clip(&ev.details, 1000),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        let f = fields(at, &e);
        let hash = key.link(&prev, &f.each_ref().map(String::as_str));
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor_id, actor, action, target, ip, outcome, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
        )
        .bind(at)
        .bind(&e.actor_id)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.ip)
        .bind(&e.outcome)
        .bind(&e.details)
        .bind(&prev)
        .bind(&hash)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries matching `f`, newest first.
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = format!("SELECT {COLS} FROM audit_log WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if let Some(a) = f.actor.as_deref().filter(|a| !a.is_empty()) {
            let i = next();
            sql += &format!(" AND LOWER(actor) LIKE ${i} ESCAPE '\\'");
            args.push(format!("%{}%", like_escape(&a.to_lowercase())));
        }
        if let Some(a) = f.action.as_deref().filter(|a| !a.is_empty()) {
            let i = next();
            sql += &format!(" AND action LIKE ${i} ESCAPE '\\'");
            args.push(format!("{}%", like_escape(a)));
        }
        if let Some(o) = f.outcome.as_deref().filter(|o| !o.is_empty()) {
            let i = next();
            sql += &format!(" AND outcome = ${i}");
            args.push(o.to_string());
        }
        for (v, op) in [(f.from, "at >="), (f.to, "at <"), (f.before_seq, "seq <")] {
            if let Some(v) = v {
                let i = next();
                sql += &format!(" AND {op} ${i}");
                ints.push(v);
            }
        }
        let limit = f.limit.unwrap_or(100).clamp(1, 10_000);
        sql += &format!(" ORDER BY seq DESC LIMIT {limit}");
        // Text arguments come first in placeholder order, then the integers.
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = q.bind(a);
        }
        for v in &ints {
            q = q.bind(*v);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(entry).collect::<Result<_, _>>()?)
    }

    /// Walk the whole chain from its anchor and report the first broken link.
    pub async fn verify_audit(&self) -> Result<AuditVerdict, StoreError> {
        let key = self.secrets()?.chain.clone();
        let mut prev = match self.setting(ANCHOR).await? {
            None => GENESIS.to_string(),
            Some(a) => {
                let hash = anchor_hash(&a).to_string();
                if a != sign_anchor(&key, &hash) {
                    let first: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM audit_log")
                        .fetch_one(&self.pool)
                        .await?;
                    return Ok(AuditVerdict::Broken {
                        seq: first.unwrap_or(0),
                        reason: "the chain's starting point was moved: entries before it were deleted outside retention".into(),
                    });
                }
                hash
            }
        };
        let mut after = i64::MIN;
        let mut checked = 0u64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000"
            ))
            .bind(after)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(AuditVerdict::Intact { entries: checked });
            }
            for r in &rows {
                let e = entry(r)?;
                if e.prev_hash != prev {
                    return Ok(AuditVerdict::Broken {
                        seq: e.seq,
                        reason: "does not follow the entry before it: an entry was deleted or the order changed".into(),
                    });
                }
                let f = fields(e.at, &e);
                if key.link(&prev, &f.each_ref().map(String::as_str)) != e.hash {
                    return Ok(AuditVerdict::Broken {
                        seq: e.seq,
                        reason: "its contents were changed after it was written".into(),
                    });
                }
                prev = e.hash;
                after = e.seq;
                checked += 1;
            }
        }
    }

    /// Delete entries older than the retention period (default 400 days), move the anchor to
    /// the first kept entry, and record the pruning itself. Returns how many were removed.
    pub async fn prune_audit(&self) -> Result<u64, StoreError> {
        let key = self.secrets()?.chain.clone();
        let cutoff = self.now() - self.policy.audit_retention_ms;
        let removed = {
            let (_guard, mut tx) = self.chain_tx().await?;
            let last_old: Option<String> = sqlx::query_scalar(
                "SELECT hash FROM audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1",
            )
            .bind(cutoff)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(anchor) = last_old else {
                return Ok(0);
            };
            let done = sqlx::query("DELETE FROM audit_log WHERE at < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(ANCHOR)
            .bind(sign_anchor(&key, &anchor))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done.rows_affected()
        };
        self.audit(
            AuditEvent::new("audit.pruned", "system", "").details(format!(
                "{removed} entries past the retention period removed"
            )),
        )
        .await?;
        Ok(removed)
    }

    /// The only way to write the chain: this process's audit mutex, then a transaction that
    /// holds the write lock from its first statement (SQLite `BEGIN IMMEDIATE`, so another
    /// writer such as the CLI cannot make the read-then-write upgrade fail; PostgreSQL an
    /// advisory lock, for several nodes).
    async fn chain_tx(
        &self,
    ) -> Result<
        (
            tokio::sync::MutexGuard<'_, ()>,
            sqlx::Transaction<'static, sqlx::Any>,
        ),
        StoreError,
    > {
        let guard = self.audit_lock.lock().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_LOCK)
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        Ok((guard, tx))
    }

    /// Entries with `action` recorded from `ip` since `since` (UTC ms).
    pub async fn actions_from(
        &self,
        ip: &str,
        action: &str,
        since: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE ip = $1 AND action = $2 AND at >= $3",
        )
        .bind(ip)
        .bind(action)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Failed sign-ins recorded from `ip` since `since` (UTC ms), across all accounts.
    pub async fn login_failures_from(&self, ip: &str, since: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE ip = $1 AND action IN ('login.failure', 'mfa.failure') AND at >= $2",
        )
        .bind(ip)
        .bind(since)
        .fetch_one(&self.pool)
        .await?)
    }
}

/// The anchor as stored: the hash the oldest kept entry must follow, and a MAC over it, so
/// nobody without the master key can delete old entries and move the anchor to match.
fn sign_anchor(key: &storefort_crypto::chain::ChainKey, hash: &str) -> String {
    format!("{hash}:{}", key.link("audit-anchor", &[hash]))
}

/// The hash part of a stored anchor.
fn anchor_hash(stored: &str) -> &str {
    stored.split(':').next().unwrap_or(stored)
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
