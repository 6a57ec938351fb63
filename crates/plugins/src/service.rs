//! The shop's plugins: installed ones from the database, their modules from the data dir
//! (`plugins/NAME.wasm`, the SHA-256 pinned at approval), compiled once and kept while their
//! file's hash still matches. Installing, approving, switching on and off and removing are in
//! `service/manage.rs`; running the hooks in `service/run.rs`.

mod manage;
mod run;
mod webhook;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, RwLock, Weak};

use storefort_store::audit::AuditEvent;
use storefort_store::plugins::PluginRecord;
use storefort_store::{Db, StoreError};

use crate::package::sha256_hex;
use crate::{Hook, Host, Limits, Permission, Plugin, PluginError};

pub use manage::{InstallError, Staged, Who};

/// Failures in a row after which a plugin is switched off.
pub const MAX_FAILURES: u32 = 5;

/// Tells the shop's owners something (subject, body): an email in the server.
pub type Notifier = Arc<dyn Fn(String, String) + Send + Sync>;

/// A plugin that is on, compiled, with its file's hash checked.
pub(crate) struct Loaded {
    pub(crate) record: PluginRecord,
    pub(crate) hooks: Vec<Hook>,
    pub(crate) granted: Vec<Permission>,
    pub(crate) plugin: Arc<Plugin>,
    /// Failures in a row (a success resets it).
    pub(crate) failures: AtomicU32,
}

/// How a plugin's module on disk compares with what was approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleState {
    /// The file is the approved module.
    Matches,
    /// The file changed since it was approved.
    Changed,
    /// The file is gone.
    Missing,
}

/// One installed plugin as the owner sees it.
#[derive(Debug, Clone)]
pub struct PluginView {
    /// What the database holds.
    pub record: PluginRecord,
    /// The module file now.
    pub module: ModuleState,
    /// Permissions, parsed (unknown names are dropped).
    pub permissions: Vec<Permission>,
    /// Hooks, parsed.
    pub hooks: Vec<Hook>,
}

/// The plugins of one shop.
pub struct PluginService {
    pub(crate) db: Db,
    pub(crate) dir: PathBuf,
    pub(crate) host: Host,
    pub(crate) loaded: RwLock<Arc<Vec<Arc<Loaded>>>>,
    pub(crate) notifier: Option<Notifier>,
    pub(crate) http: reqwest::Client,
    /// One refresh at a time (the minute check, owner actions and failure handling all
    /// refresh; an older one must not overwrite a newer one's result).
    pub(crate) refreshing: tokio::sync::Mutex<()>,
    /// Itself, for background work started from `&self` (failure counts, deliveries).
    pub(crate) me: Weak<PluginService>,
}

impl std::fmt::Debug for PluginService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginService")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn io(what: &Path, e: std::io::Error) -> PluginError {
    PluginError::Invalid(format!("{}: {e}", what.display()))
}

/// How a plugin's module in `dir` (`NAME.wasm`) compares with its approved hash. Only reads.
pub fn module_state_in(dir: &Path, r: &PluginRecord) -> ModuleState {
    match std::fs::read(dir.join(format!("{}.wasm", r.name))) {
        Err(_) => ModuleState::Missing,
        Ok(b) if sha256_hex(&b) == r.module_sha256 => ModuleState::Matches,
        Ok(_) => ModuleState::Changed,
    }
}

/// Permission names parsed (unknown names dropped).
pub fn parse_permissions(names: &[String]) -> Vec<Permission> {
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

pub(crate) fn parse_hooks(names: &[String]) -> Vec<Hook> {
    names.iter().filter_map(|n| Hook::parse(n)).collect()
}

impl PluginService {
    /// The plugins kept in `dir` (created, owner-only), with the default limits. Loads every
    /// plugin that is on, switching off any whose module changed (see [`Self::refresh`]).
    pub async fn open(
        db: Db,
        dir: PathBuf,
        notifier: Option<Notifier>,
    ) -> Result<Arc<PluginService>, PluginError> {
        Self::open_with(db, dir, notifier, Limits::default()).await
    }

    /// [`Self::open`] with other limits (tests, the benchmark).
    pub async fn open_with(
        db: Db,
        dir: PathBuf,
        notifier: Option<Notifier>,
        limits: Limits,
    ) -> Result<Arc<PluginService>, PluginError> {
        std::fs::create_dir_all(dir.join("pending")).map_err(|e| io(&dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| io(&dir, e))?;
        }
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("storefort")
            .build()
            .map_err(|e| PluginError::Invalid(format!("cannot make the webhook client: {e}")))?;
        let host = Host::new(limits)?;
        let svc = Arc::new_cyclic(|me| PluginService {
            db,
            dir,
            host,
            loaded: RwLock::new(Arc::new(Vec::new())),
            notifier,
            http,
            refreshing: tokio::sync::Mutex::new(()),
            me: me.clone(),
        });
        // Web carts are priced through the plugins from now on (a weak link: the database
        // handle must not keep the service alive).
        svc.db
            .set_cart_adjuster(Arc::new(run::WeakAdjuster(Arc::downgrade(&svc))));
        svc.refresh()
            .await
            .map_err(|e| PluginError::Invalid(e.to_string()))?;
        Ok(svc)
    }

    /// Where a plugin's module lives.
    pub fn module_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.wasm"))
    }

    /// The folder holding the modules.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How the module on disk compares with the approved hash.
    pub fn module_state(&self, r: &PluginRecord) -> ModuleState {
        module_state_in(&self.dir, r)
    }

    /// Every installed plugin with its module's state.
    pub async fn list(&self) -> Result<Vec<PluginView>, StoreError> {
        Ok(self
            .db
            .plugins()
            .await?
            .into_iter()
            .map(|record| PluginView {
                module: self.module_state(&record),
                permissions: parse_permissions(&record.permissions),
                hooks: parse_hooks(&record.hooks),
                record,
            })
            .collect())
    }

    /// How many plugins are running now.
    pub fn running(&self) -> usize {
        self.snapshot().len()
    }

    pub(crate) fn snapshot(&self) -> Arc<Vec<Arc<Loaded>>> {
        match self.loaded.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Re-read the plugins from the database and their modules from disk. A plugin that is on
    /// but whose module changed or vanished is switched off (audited, owners told) until the
    /// owner approves it again. Modules already compiled with the same hash are kept. Returns
    /// the names switched off.
    pub async fn refresh(&self) -> Result<Vec<String>, StoreError> {
        let _one = self.refreshing.lock().await;
        let current = self.snapshot();
        let mut next = Vec::new();
        let mut switched_off = Vec::new();
        for r in self.db.plugins().await?.into_iter().filter(|r| r.enabled) {
            let path = self.module_path(&r.name);
            let bytes = std::fs::read(&path).ok();
            let actual = bytes.as_deref().map(sha256_hex);
            if actual.as_deref() != Some(r.module_sha256.as_str()) {
                let reason = match actual {
                    None => "its module file is missing",
                    Some(_) => "its module changed on disk since it was approved",
                };
                self.switch_off(&r, reason, "plugin.module_changed").await?;
                switched_off.push(r.name.clone());
                continue;
            }
            let granted = parse_permissions(&r.permissions);
            let hooks = parse_hooks(&r.hooks);
            let reuse = current
                .iter()
                .find(|l| l.record.name == r.name && l.record.module_sha256 == r.module_sha256)
                .map(|l| l.plugin.clone());
            let plugin = match reuse {
                Some(p) => p,
                None => match self
                    .host
                    .load(bytes.as_deref().unwrap_or_default(), &granted)
                {
                    Ok(p) => Arc::new(p),
                    Err(e) => {
                        let reason = format!("its module no longer loads: {e}");
                        self.switch_off(&r, &reason, "plugin.load_failed").await?;
                        switched_off.push(r.name.clone());
                        continue;
                    }
                },
            };
            next.push(Arc::new(Loaded {
                record: r,
                hooks,
                granted,
                plugin,
                failures: AtomicU32::new(0),
            }));
        }
        // Keep the running failure counts of plugins that stay with the same module.
        for l in &next {
            if let Some(old) = current.iter().find(|o| {
                o.record.name == l.record.name && o.record.module_sha256 == l.record.module_sha256
            }) {
                l.failures.store(
                    old.failures.load(std::sync::atomic::Ordering::Relaxed),
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
        }
        match self.loaded.write() {
            Ok(mut g) => *g = Arc::new(next),
            Err(p) => *p.into_inner() = Arc::new(next),
        }
        Ok(switched_off)
    }

    /// Switch a plugin off by the system (not the owner): record why, audit it, tell the owners.
    pub(crate) async fn switch_off(
        &self,
        r: &PluginRecord,
        reason: &str,
        action: &str,
    ) -> Result<(), StoreError> {
        let name = r.name.as_str();
        if !self
            .db
            .disable_plugin_if(name, &r.module_sha256, reason)
            .await?
        {
            return Ok(());
        }
        tracing::warn!(plugin = name, reason, "plugin switched off");
        self.db
            .audit(
                AuditEvent::new(action, "system", "")
                    .on(&format!("plugin:{name}"))
                    .details(reason),
            )
            .await?;
        if let Some(n) = &self.notifier {
            n(
                format!("Plugin {name} was switched off"),
                format!(
                    "The plugin {name} was switched off: {reason}.\n\nThe shop carries on \
                     without it. Open Plugins in the admin to see what happened, and approve or \
                     remove it."
                ),
            );
        }
        Ok(())
    }
}
