//! `storefort restore FILE --identity KIT`: the bad day. Checks the backup, swaps it in
//! atomically (the previous database kept aside), migrates it forward, re-applies the customer
//! erasures recorded since, ends every staff session, audits, and prints how long it took.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use storefort_backup::{keys, lock, restore};
use storefort_store::Backend;

use crate::cli_backup::RestoreArgs;
use crate::config::Config;
use crate::keyfile::KeySource;
use crate::setup::{self, CliResult};

/// Run a restore.
pub async fn run(cfg: &Config, a: RestoreArgs) -> CliResult<ExitCode> {
    let started = Instant::now();
    let identities = keys::read_identity_file(&a.identity)?;
    setup::ensure_data_dir(&cfg.data_dir)?;
    if let Some(pid) = lock::holder(&cfg.data_dir) {
        if !a.stop_server {
            return Err(storefort_backup::BackupError::ServerRunning { pid }.into());
        }
        stop_server(&cfg.data_dir, pid).await?;
    }
    // Hold the shop's lock until the restored database is migrated and audited, so that
    // `serve` cannot start in between.
    let lock = lock::acquire(&cfg.data_dir)?;
    // A backup name or `latest` is fetched from the destinations first (the database is
    // opened for that only, and closed again before anything is swapped).
    // The erasure ledgers stored beside the backups are merged into this one too, so that
    // a restore on a new machine re-applies erasures made after the backup.
    let arg = a.file.to_string_lossy().to_string();
    let (file, _fetched) = match setup::open_db(cfg).await {
        Ok(db) => {
            merge_remote_ledgers(cfg, &db).await;
            let got = if a.file.is_file() {
                Ok((a.file.clone(), None))
            } else {
                crate::backup_cmd::local_or_fetched(cfg, &db, &arg).await
            };
            db.pool.close().await;
            got?
        }
        Err(_) if a.file.is_file() => (a.file.clone(), None),
        Err(e) => return Err(e),
    };
    let url = cfg.database_url();
    let backend = Backend::from_url(&url)?;
    let target = restore::RestoreTarget {
        db_url: url.clone(),
        pg_schema: pg_schema(&url, backend).await?,
        data_dir: cfg.data_dir.clone(),
    };
    let work = cfg.backup_work_dir();
    setup::ensure_data_dir(&work)?;
    let progress = crate::progress_bar::for_terminal();
    let report = match restore::restore_holding(
        &lock,
        &file,
        &identities,
        storefort_store::db::known_migrations(backend),
        &target,
        progress.as_ref(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            audit_failure(cfg, &a.file, &e.to_string()).await;
            return Err(e.into());
        }
    };
    println!(
        "restored the backup made {} by storefort {} (schema {}); the previous database is kept as {}",
        storefort_web::pages::render::utc(report.manifest.created_at),
        report.manifest.storefort_version,
        report.manifest.schema_version,
        report.kept_aside
    );
    let db = open_restored(cfg, &a.identity, &report.kept_aside).await?;
    // Sessions in the backup are old ones: everyone signs in again.
    let ended = sqlx::query("DELETE FROM sessions")
        .execute(&db.pool)
        .await?;
    let tills = db.pos_devices().await.unwrap_or_default();
    let active_tills: Vec<String> = tills
        .iter()
        .filter(|d| d.revoked_at.is_none())
        .map(|d| d.name.clone())
        .collect();
    let took = started.elapsed();
    setup::audit_cli(
        &db,
        "backup.restored",
        &a.file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        &format!(
            "backup made {}; previous database kept as {}; {} staff session(s) ended; took {:.1} s",
            storefort_web::pages::render::utc(report.manifest.created_at),
            report.kept_aside,
            ended.rows_affected(),
            took.as_secs_f64()
        ),
    )
    .await?;
    println!(
        "database migrated and checked; {} staff session(s) ended (everyone signs in again)",
        ended.rows_affected()
    );
    if !active_tills.is_empty() {
        println!(
            "tills paired in this backup: {}. Revoke again any till lost or revoked since the backup was made (`storefort device list`).",
            active_tills.join(", ")
        );
    }
    println!(
        "restore took {} (unpack and swap {:.1} s)",
        seconds(took),
        report.took.as_secs_f64()
    );
    println!("Start the shop again with `storefort serve`.");
    Ok(ExitCode::SUCCESS)
}

/// Record a refused or failed restore in the live database's audit log, when it opens.
async fn audit_failure(cfg: &Config, file: &std::path::Path, reason: &str) {
    if let Ok(db) = setup::open_db(cfg).await {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let _ = setup::audit_cli(&db, "backup.restore_failed", &name, reason).await;
        db.pool.close().await;
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The PostgreSQL schema the shop lives in (`public` unless the URL says otherwise).
async fn pg_schema(url: &str, backend: Backend) -> CliResult<String> {
    if backend != Backend::Postgres {
        return Ok(String::new());
    }
    let db = storefort_store::Db::connect(url).await?;
    let s: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(&db.pool)
        .await?;
    db.pool.close().await;
    Ok(s)
}

/// Open the restored database the normal way (migrate forward, re-apply erasures). When the
/// key here does not open it and the recovery kit carries the shop's master key, the kit's key
/// is installed (the one here kept aside) and the database opened with it.
async fn open_restored(
    cfg: &Config,
    kit: &std::path::Path,
    kept_aside: &str,
) -> CliResult<storefort_store::Db> {
    let first = setup::open_db(cfg).await;
    let e = match first {
        Ok(db) => return Ok(db),
        Err(e) => e,
    };
    let kit_key = kit_master_key(&std::fs::read_to_string(kit)?);
    let wrong_key = e.to_string().contains("master key");
    match (KeySource::of(cfg), kit_key) {
        (KeySource::File(path), Some(hex)) if wrong_key || !path.exists() => {
            // Named like the database kept aside: `.before-restore-<UTC time>`.
            let stamp = kept_aside
                .rsplit("before_restore_")
                .next()
                .and_then(|t| t.rsplit("before-restore-").next())
                .filter(|t| !t.is_empty() && !t.contains('/'))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    storefort_store::Clock::now_ms(&storefort_store::SystemClock).to_string()
                });
            let aside = path.with_extension(format!("key.before-restore-{stamp}"));
            let had = path.exists();
            if had {
                std::fs::rename(&path, &aside)?;
            }
            setup::write_private(&path, &format!("{hex}\n"))?;
            std::fs::File::open(&path)?.sync_all()?;
            match setup::open_db(cfg).await {
                Ok(db) => {
                    if had {
                        println!(
                            "the master key here did not open the backup: installed the one from the recovery kit at {} (the previous key is kept as {})",
                            path.display(),
                            aside.display()
                        );
                        println!(
                            "A recovery kit printed on this machine before (by `init`) now holds the wrong master key: \
                             run `storefort backup new-identity`, keep the new kit offline and put its recipient in [backup]."
                        );
                    } else {
                        println!("installed the master key from the recovery kit at {}", path.display());
                    }
                    Ok(db)
                }
                Err(e2) => {
                    // Neither key opens it: put the original back.
                    let _ = std::fs::remove_file(&path);
                    if had {
                        let _ = std::fs::rename(&aside, &path);
                    }
                    Err(format!(
                        "the backup was restored but neither this shop's master key nor the kit's opens it: {e2}. \
                         The previous database is kept as {kept_aside}"
                    )
                    .into())
                }
            }
        }
        _ => Err(format!(
            "the backup was restored but cannot be opened: {e}. The previous database is kept as {kept_aside}; \
             put the master key from the recovery kit in place (or set STOREFORT_MASTER_KEY) and run `storefort migrate`"
        )
        .into()),
    }
}

/// Add to the local erasure ledger every line of the destinations' copies it lacks. Problems
/// are printed, not fatal: the local ledger still applies.
async fn merge_remote_ledgers(cfg: &Config, db: &storefort_store::Db) {
    let svc = match crate::backup_cmd::service(cfg, db).await {
        Ok(Some(s)) => s,
        _ => return,
    };
    let path = cfg.erasure_ledger_path();
    let mut have: std::collections::BTreeSet<String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let mut added = Vec::new();
    for d in svc.destinations() {
        match d.get_ledger().await {
            Ok(Some(bytes)) => {
                for line in String::from_utf8_lossy(&bytes).lines() {
                    let line = line.trim();
                    if !line.is_empty() && have.insert(line.to_string()) {
                        added.push(line.to_string());
                    }
                }
            }
            Ok(None) => {}
            Err(e) => println!("erasure ledger: {e} (the local ledger still applies)"),
        }
    }
    if added.is_empty() {
        return;
    }
    let mut open = std::fs::OpenOptions::new();
    open.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    let appended = open.open(&path).and_then(|mut f| {
        use std::io::Write;
        for l in &added {
            writeln!(f, "{l}")?;
        }
        f.sync_all()
    });
    match appended {
        Ok(()) => println!(
            "erasure ledger: {} erasure(s) recorded beside the backups added to {}",
            added.len(),
            path.display()
        ),
        Err(e) => println!("erasure ledger: cannot add to {}: {e}", path.display()),
    }
}

/// The master key in a recovery kit: a line of exactly 64 hex characters.
fn kit_master_key(kit: &str) -> Option<String> {
    kit.lines()
        .map(str::trim)
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
}

/// Ask the running server to stop (SIGTERM) and wait up to 30 s for it to let go.
async fn stop_server(data_dir: &std::path::Path, pid: u32) -> CliResult<()> {
    let raw = i32::try_from(pid).map_err(|_| format!("bad pid {pid}"))?;
    let p = rustix::process::Pid::from_raw(raw).ok_or_else(|| format!("bad pid {pid}"))?;
    rustix::process::kill_process(p, rustix::process::Signal::TERM)
        .map_err(|e| format!("cannot stop storefort serve (pid {pid}): {e}"))?;
    println!("asked storefort serve (pid {pid}) to stop");
    for _ in 0..300 {
        // Gone when it let go of the shop and the process itself has ended (it may still be
        // closing connections after releasing the lock).
        let exited = rustix::process::test_kill_process(p).is_err();
        if lock::holder(data_dir).is_none() && exited {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(
        format!("storefort serve (pid {pid}) did not stop within 30 s; nothing was restored")
            .into(),
    )
}
