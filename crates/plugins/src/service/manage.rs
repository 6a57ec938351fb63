//! Installing (a package is staged, shown to the owner, then approved), approving a changed
//! module, switching on and off, and removing. Every change is audited.

use std::path::PathBuf;

use storefort_store::audit::AuditEvent;
use storefort_store::plugins::{ApprovedPlugin, PluginRecord};
use storefort_store::StoreError;

use super::{parse_hooks, parse_permissions, ModuleState, PluginService};
use crate::package::sha256_hex;
use crate::{Manifest, Package, PackageError, PluginError};

/// Why an install or a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The package is not valid.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// The module does not load in the sandbox (an import it was not granted, a missing
    /// export, not WebAssembly).
    #[error("the plugin cannot run here: {0}")]
    Module(#[from] PluginError),
    /// The staged package is gone (approved already, or more than a day old).
    #[error("that plugin upload has expired or was already installed; upload it again")]
    NoSuchUpload,
    /// Not possible in the plugin's state.
    #[error("{0}")]
    State(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A package waiting for the owner's approval.
#[derive(Debug, Clone)]
pub struct Staged {
    /// Its ID (the package's SHA-256): what the approval form sends back.
    pub id: String,
    /// What the owner approves.
    pub manifest: Manifest,
    /// The installed plugin of the same name it would replace.
    pub replaces: Option<PluginRecord>,
}

/// Who made a change, for the audit log.
#[derive(Debug, Clone)]
pub struct Who {
    /// Staff user ID.
    pub id: String,
    /// Their email.
    pub email: String,
    /// Client address.
    pub ip: String,
}

fn valid_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

impl PluginService {
    fn pending_path(&self, id: &str) -> PathBuf {
        self.dir.join("pending").join(format!("{id}.sfplugin"))
    }

    /// Check a package (manifest, hash, the module loads with exactly the permissions it asks
    /// for and exports every hook it names) and keep it for the owner's approval. Nothing is
    /// installed yet. Uploads older than a day are cleared.
    pub async fn stage(&self, bytes: &[u8]) -> Result<Staged, InstallError> {
        let pkg = Package::read(bytes)?;
        self.check_module(&pkg.wasm, &pkg.manifest)?;
        self.clear_old_uploads();
        let id = sha256_hex(bytes);
        let path = self.pending_path(&id);
        std::fs::write(&path, bytes).map_err(|e| PackageError::Io(format!("{e}")))?;
        self.staged(&id).await
    }

    /// A staged package by ID.
    pub async fn staged(&self, id: &str) -> Result<Staged, InstallError> {
        let (pkg, _) = self.read_staged(id)?;
        let replaces = match self.db.plugin(&pkg.manifest.name).await {
            Ok(r) => Some(r),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Staged {
            id: id.to_string(),
            manifest: pkg.manifest,
            replaces,
        })
    }

    fn read_staged(&self, id: &str) -> Result<(Package, PathBuf), InstallError> {
        if !valid_id(id) {
            return Err(InstallError::NoSuchUpload);
        }
        let path = self.pending_path(id);
        let bytes = std::fs::read(&path).map_err(|_| InstallError::NoSuchUpload)?;
        Ok((Package::read(&bytes)?, path))
    }

    fn clear_old_uploads(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("pending")) else {
            return;
        };
        let day = std::time::Duration::from_secs(24 * 3600);
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > day);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    fn check_module(&self, wasm: &[u8], m: &Manifest) -> Result<(), InstallError> {
        let plugin = self.host.load(wasm, &m.permissions)?;
        for h in &m.hooks {
            if !plugin.exports(h.export()) {
                return Err(PluginError::MissingExport(format!(
                    "{}(i32, i32) -> i64 for the {} hook",
                    h.export(),
                    h.name()
                ))
                .into());
            }
        }
        Ok(())
    }

    /// Install a staged package as approved by `who` (whose password the caller has checked
    /// again): the module is written to the data dir, its hash pinned, the plugin switched on.
    pub async fn approve(&self, id: &str, who: &Who) -> Result<PluginRecord, InstallError> {
        let (pkg, pending) = self.read_staged(id)?;
        let m = &pkg.manifest;
        self.check_module(&pkg.wasm, m)?;
        let path = self.module_path(&m.name);
        let tmp = self.dir.join(format!(".{}.{id}.tmp", m.name));
        std::fs::write(&tmp, &pkg.wasm)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| PackageError::Io(format!("cannot save the module: {e}")))?;
        let record = self
            .db
            .approve_plugin(&ApprovedPlugin {
                name: m.name.clone(),
                version: m.version.clone(),
                author: m.author.clone(),
                description: m.description.clone(),
                hooks: m.hooks.iter().map(|h| h.name().to_string()).collect(),
                permissions: m.permissions.iter().map(|p| p.name().to_string()).collect(),
                module_sha256: m.module_sha256.clone(),
                webhook_url: m.webhook_url.clone(),
                approved_by: who.email.clone(),
            })
            .await?;
        let _ = std::fs::remove_file(pending);
        self.audit(who, "plugin.installed", &record).await?;
        self.refresh().await?;
        Ok(record)
    }

    /// Approve the module now on disk for a plugin whose module changed (for example an
    /// update copied in place): it must still load with the permissions already granted.
    pub async fn approve_changed(
        &self,
        name: &str,
        who: &Who,
    ) -> Result<PluginRecord, InstallError> {
        let r = self.db.plugin(name).await?;
        let bytes = std::fs::read(self.module_path(name))
            .map_err(|_| InstallError::State(format!("the module file of {name} is missing")))?;
        let manifest = Manifest {
            name: r.name.clone(),
            version: r.version.clone(),
            author: r.author.clone(),
            description: r.description.clone(),
            hooks: parse_hooks(&r.hooks),
            permissions: parse_permissions(&r.permissions),
            module_sha256: sha256_hex(&bytes),
            webhook_url: r.webhook_url.clone(),
        };
        self.check_module(&bytes, &manifest)?;
        let record = self
            .db
            .approve_plugin(&ApprovedPlugin {
                name: r.name,
                version: r.version,
                author: r.author,
                description: r.description,
                hooks: r.hooks,
                permissions: r.permissions,
                module_sha256: manifest.module_sha256,
                webhook_url: r.webhook_url,
                approved_by: who.email.clone(),
            })
            .await?;
        self.audit(who, "plugin.module_approved", &record).await?;
        self.refresh().await?;
        Ok(record)
    }

    /// Switch a plugin on or off. On needs the module to match its approval.
    pub async fn set_enabled(&self, name: &str, on: bool, who: &Who) -> Result<(), InstallError> {
        let r = self.db.plugin(name).await?;
        if on && self.module_state(&r) != ModuleState::Matches {
            return Err(InstallError::State(format!(
                "the module of {name} is not the one approved: approve the changed module or \
                 remove the plugin"
            )));
        }
        if self.db.set_plugin_enabled(name, on, "").await? {
            let action = if on {
                "plugin.enabled"
            } else {
                "plugin.disabled"
            };
            self.audit(who, action, &r).await?;
        }
        self.refresh().await?;
        Ok(())
    }

    /// Remove a plugin and its module file.
    pub async fn remove(&self, name: &str, who: &Who) -> Result<(), InstallError> {
        let r = self.db.plugin(name).await?;
        self.db.remove_plugin(name).await?;
        let _ = std::fs::remove_file(self.module_path(name));
        self.audit(who, "plugin.removed", &r).await?;
        self.refresh().await?;
        Ok(())
    }

    async fn audit(&self, who: &Who, action: &str, r: &PluginRecord) -> Result<(), StoreError> {
        let details = format!(
            "version {}; hooks: {}; permissions: {}; module sha256 {}{}",
            r.version,
            r.hooks.join(", "),
            if r.permissions.is_empty() {
                "none".to_string()
            } else {
                r.permissions.join(", ")
            },
            r.module_sha256,
            r.webhook_url
                .as_deref()
                .map(|u| format!("; webhook {u}"))
                .unwrap_or_default()
        );
        self.db
            .audit(
                AuditEvent::new(action, &who.email, &who.ip)
                    .by(&who.id)
                    .on(&format!("plugin:{}", r.name))
                    .details(details),
            )
            .await?;
        Ok(())
    }
}
