//! Plugins: how many are on (each one is code the owner trusts), which may see personal data
//! or send data out, and whether every module file is still the one the owner approved. Only
//! reads: a changed module is reported here and switched off by the server.

use futures::future::BoxFuture;
use storefort_plugins::package::sha256_hex;
use storefort_plugins::Permission;
use storefort_store::plugins::PluginRecord;

use super::{Ctx, Finding};

/// More plugins on than this: warn.
pub const MANY: usize = 5;
const PAGE: &str = "/admin/plugins";

async fn installed(ctx: &Ctx<'_>) -> Result<Vec<PluginRecord>, Finding> {
    let Ok(db) = &ctx.db else {
        return Err(Finding::warn(
            "not checked: the database is unreachable",
            "fix the database check first",
        ));
    };
    db.plugins().await.map_err(|e| {
        Finding::warn(
            format!("cannot read the installed plugins: {e}"),
            "run `storefort migrate`",
        )
    })
}

/// More than five plugins on: "do you really need them?".
pub fn count<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let all = match installed(ctx).await {
            Ok(a) => a,
            Err(f) => return f,
        };
        let on: Vec<&str> = all
            .iter()
            .filter(|p| p.enabled)
            .map(|p| p.name.as_str())
            .collect();
        if on.len() > MANY {
            return Finding::warn(
                format!(
                    "{} plugins are on ({}): each one is code you trust with your shop. Do you \
                     really need them all?",
                    on.len(),
                    on.join(", ")
                ),
                format!("switch off or remove the ones you do not need at {PAGE}"),
            );
        }
        Finding::pass(format!("{} plugin(s) on", on.len()))
    })
}

/// Plugins (on) that may read personal data or send data to a web address: listed.
pub fn sensitive<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let all = match installed(ctx).await {
            Ok(a) => a,
            Err(f) => return f,
        };
        let mut found = Vec::new();
        for p in all.iter().filter(|p| p.enabled) {
            let has = |perm: Permission| p.permissions.iter().any(|n| n == perm.name());
            let mut what = Vec::new();
            if has(Permission::ReadPersonalData) {
                what.push("reads customers' personal data".to_string());
            }
            if has(Permission::Webhook) {
                what.push(format!(
                    "sends order notifications to {}",
                    p.webhook_url.as_deref().unwrap_or("?")
                ));
            }
            if !what.is_empty() {
                found.push(format!("{} ({})", p.name, what.join(", ")));
            }
        }
        if found.is_empty() {
            return Finding::pass("no plugin reads personal data or sends data out");
        }
        Finding::warn(
            found.join("; "),
            format!("make sure you trust these and still need them ({PAGE})"),
        )
    })
}

/// Every installed plugin's module file still hashes to what the owner approved.
pub fn modules<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    Box::pin(async move {
        let all = match installed(ctx).await {
            Ok(a) => a,
            Err(f) => return f,
        };
        let dir = ctx.cfg.data_dir.join("plugins");
        let mut bad = Vec::new();
        for p in &all {
            let path = dir.join(format!("{}.wasm", p.name));
            match std::fs::read(&path) {
                Err(_) => bad.push(format!(
                    "{}: module file {} is missing",
                    p.name,
                    path.display()
                )),
                Ok(b) if sha256_hex(&b) != p.module_sha256 => bad.push(format!(
                    "{}: {} is not the module approved (SHA-256 {}, approved {})",
                    p.name,
                    path.display(),
                    sha256_hex(&b),
                    p.module_sha256
                )),
                Ok(_) => {}
            }
        }
        if bad.is_empty() {
            return Finding::pass(format!("{} plugin module(s), each as approved", all.len()));
        }
        Finding::fail(
            format!(
                "{}. A changed module may not be the code you approved (the server switches \
                 such a plugin off)",
                bad.join("; ")
            ),
            format!(
                "if you did not change it, treat it as a break-in: remove the plugin at {PAGE} \
                 and check the server; if you updated it, approve the changed module there"
            ),
        )
    })
}
