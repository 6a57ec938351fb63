//! File-system checks: who may read or change the config file, the data directory and the
//! master key.

use std::path::Path;

use futures::future::BoxFuture;
use storefort_crypto::master_key::MasterKey;

use super::{ready, Ctx, Finding};
use crate::config::MASTER_KEY_ENV;
use crate::keyfile::KeySource;

/// The permission bits of a file (`None` where Unix modes do not exist).
pub(super) fn mode(path: &Path) -> std::io::Result<Option<u32>> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok(Some(meta.permissions().mode() & 0o777))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

const NO_MODES: &str = "file modes are not checked on this platform";

/// The config file may hold secrets (database passwords) and decides where the keys live.
pub fn config_file<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let p = ctx.config_path;
    let fix = format!("chmod 600 {}", p.display());
    ready(match mode(p) {
        Err(e) => Finding::fail(
            format!("cannot read {}: {e}", p.display()),
            "pass --config PATH of the shop's storefort.toml",
        ),
        Ok(None) => Finding::warn(
            NO_MODES,
            "make sure only the shop's user can change the config file",
        ),
        Ok(Some(m)) if m & 0o022 != 0 => Finding::fail(
            format!(
                "{} is mode {m:04o}: other users can change it and point the shop elsewhere",
                p.display()
            ),
            fix,
        ),
        Ok(Some(m)) if m & 0o004 != 0 => Finding::warn(
            format!(
                "{} is mode {m:04o}: every user on this machine can read it",
                p.display()
            ),
            fix,
        ),
        Ok(Some(m)) => Finding::pass(format!("{} is mode {m:04o}", p.display())),
    })
}

/// The data dir holds the database, keys and certificates.
pub fn data_dir<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let d = &ctx.cfg.data_dir;
    let fix = format!("chmod 700 {}", d.display());
    ready(match mode(d) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Finding::fail(
            format!("data directory {} does not exist", d.display()),
            "run `storefort init --owner-email you@example.com`, or set data_dir to the shop's data directory",
        ),
        Err(e) => Finding::fail(format!("cannot inspect {}: {e}", d.display()), fix),
        Ok(_) if !d.is_dir() => {
            Finding::fail(format!("{} is not a directory", d.display()), "set data_dir to the shop's data directory")
        }
        Ok(None) => Finding::warn(NO_MODES, "make sure only the shop's user can open the data directory"),
        Ok(Some(m)) if m & 0o077 != 0 => Finding::fail(
            format!(
                "{} is mode {m:04o}: other users can open the database, keys and certificates inside",
                d.display()
            ),
            fix,
        ),
        Ok(Some(m)) => Finding::pass(format!("{} is mode {m:04o}", d.display())),
    })
}

/// The master key decrypts customer data; only the shop's user may read it.
pub fn master_key<'a>(ctx: &'a Ctx<'a>) -> BoxFuture<'a, Finding> {
    let p = match &ctx.key_source {
        KeySource::File(p) => p.clone(),
        KeySource::Env => {
            return ready(match crate::keyfile::load(ctx.cfg) {
                Ok(_) => Finding::pass(format!("taken from {MASTER_KEY_ENV} (no key file)")),
                Err(e) => Finding::fail(
                    e.to_string(),
                    format!("set {MASTER_KEY_ENV} to the shop's 64-hex-character master key"),
                ),
            })
        }
    };
    let fix = format!("chmod 600 {}", p.display());
    ready(match mode(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Finding::fail(
            format!("no master key at {}", p.display()),
            format!("run `storefort init` for a new shop, or restore the key file from your backup to {} (or set {MASTER_KEY_ENV})", p.display()),
        ),
        Err(e) => Finding::fail(format!("cannot inspect {}: {e}", p.display()), fix),
        // 0400 (read-only for the owner) is stricter than 0600 and just as good.
        Ok(Some(m)) if m != 0o600 && m != 0o400 => Finding::fail(
            format!("{} is mode {m:04o}; it must be 0600 (readable by the shop's user only)", p.display()),
            fix,
        ),
        Ok(m) => match MasterKey::load(&p) {
            Err(e) => Finding::fail(
                format!("{} is not a valid master key: {e}", p.display()),
                "restore master.key from your backup; without it encrypted data cannot be read",
            ),
            Ok(_) => match m {
                Some(m) => Finding::pass(format!("{} is mode {m:04o} and holds a 256-bit key", p.display())),
                None => Finding::warn(format!("{} holds a 256-bit key; {NO_MODES}", p.display()), fix),
            },
        },
    })
}
