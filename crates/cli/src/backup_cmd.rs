//! `storefort backup create|list|verify|prune|fetch|new-identity`: the operator's side of
//! backups (restore is in `restore_cmd.rs`). The schedule inside `serve` uses the same service.

use std::process::ExitCode;
use std::sync::Arc;

use storefort_backup::keys;
use storefort_backup::service::BackupService;
use storefort_backup::settings::BackupStatus;
use storefort_store::Db;

use crate::cli_backup::{BackupCommand, BackupFetchArgs, BackupVerifyArgs};
use crate::config::Config;
use crate::setup::{self, CliResult};

/// Run a `storefort backup` subcommand.
pub async fn run(config_path: &std::path::Path, c: BackupCommand) -> CliResult<ExitCode> {
    if let BackupCommand::NewIdentity = c {
        return new_identity(config_path);
    }
    let cfg = Config::load(Some(config_path))?;
    if let BackupCommand::Verify(a) = c {
        return verify(&cfg, a).await;
    }
    let db = setup::open_db(&cfg).await?;
    let svc = service(&cfg, &db).await?.ok_or_else(not_set_up)?;
    match c {
        BackupCommand::Create => {
            let progress = crate::progress_bar::for_terminal();
            let r = svc.create("cli", progress.as_ref()).await?;
            println!(
                "backup {}: {} in {:.1} s",
                r.name,
                human_bytes(r.size),
                r.took.as_secs_f64()
            );
            let mut failed = 0;
            for (dest, outcome) in &r.destinations {
                match outcome {
                    Ok(()) => println!("  {dest}: stored and checked (size and SHA-256)"),
                    Err(e) => {
                        failed += 1;
                        println!("  {dest}: FAILED: {e}");
                    }
                }
            }
            // No pruning here: a backup taken by hand on a bad day must not push out the
            // good one from earlier this hour. The schedule (or `backup prune`) applies it.
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        BackupCommand::List => {
            for (dest, listing) in svc.list().await {
                match listing {
                    Ok(list) if list.is_empty() => println!("{dest}: no backups yet"),
                    Ok(list) => {
                        println!("{dest}: {} backup(s)", list.len());
                        for b in list {
                            println!(
                                "  {}  {}  {:>10}  sha256 {}",
                                b.name,
                                storefort_web::pages::render::utc(b.created_at),
                                human_bytes(b.size),
                                &b.sha256[..16.min(b.sha256.len())]
                            );
                        }
                    }
                    Err(e) => println!("{dest}: cannot list: {e}"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BackupCommand::Prune => {
            let r = svc.prune().await?;
            print_prune(&r);
            Ok(if r.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        BackupCommand::Fetch(a) => fetch(&svc, a).await,
        BackupCommand::Verify(_) | BackupCommand::NewIdentity => Ok(ExitCode::SUCCESS),
    }
}

/// The shop's backup service, or `None` when `[backup]` has no recipient yet.
pub async fn service(cfg: &Config, db: &Db) -> CliResult<Option<Arc<BackupService>>> {
    if cfg.backup.recipients.is_empty() {
        return Ok(None);
    }
    let svc = BackupService::new(
        db.clone(),
        cfg.database_url(),
        cfg.shop.name.clone(),
        cfg.backup_work_dir(),
        &cfg.backup,
        &cfg.base_dir,
    )
    .await?
    .with_erasure_ledger(cfg.erasure_ledger_path());
    Ok(Some(Arc::new(svc)))
}

fn not_set_up() -> Box<dyn std::error::Error + Send + Sync> {
    "backups are not set up: this shop's storefort.toml has no [backup] recipients. Run \
     `storefort backup new-identity`, keep the printed recovery kit offline, and add the \
     printed [backup] lines to storefort.toml (see docs/BACKUPS.md)"
        .into()
}

fn new_identity(config_path: &std::path::Path) -> CliResult<ExitCode> {
    let cfg = Config::load(Some(config_path)).ok();
    let id = keys::new_identity();
    let shop = cfg
        .as_ref()
        .map(|c| c.shop.name.clone())
        .unwrap_or_else(|| "storefort shop".into());
    let master = cfg
        .as_ref()
        .and_then(|c| crate::keyfile::key_hex(&crate::keyfile::KeySource::of(c)));
    println!(
        "{}",
        keys::recovery_kit(
            &shop,
            &id.identity,
            &id.recipient,
            master.as_deref(),
            storefort_store::Clock::now_ms(&storefort_store::SystemClock)
        )
    );
    println!(
        "Put this in storefort.toml (replacing any earlier `recipients` line), then restart serve:"
    );
    println!("[backup]\nrecipients = [{:?}]", id.recipient);
    Ok(ExitCode::SUCCESS)
}

async fn verify(cfg: &Config, a: BackupVerifyArgs) -> CliResult<ExitCode> {
    let identities = keys::read_identity_file(&a.identity)?;
    let work = cfg.backup_work_dir();
    setup::ensure_data_dir(&work)?;
    let db = setup::open_db(cfg).await.ok();
    let backend = storefort_store::Backend::from_url(&cfg.database_url())?;
    let (file, fetched) = match &db {
        Some(db) => local_or_fetched(cfg, db, &a.file).await?,
        None => (std::path::PathBuf::from(&a.file), None),
    };
    // Only a backup this shop stored counts for doctor, not any file verified here.
    let from_destination = fetched.is_some();
    let label = if from_destination {
        a.file.clone()
    } else {
        file.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    };
    let pg_admin = (backend == storefort_store::Backend::Postgres).then(|| cfg.database_url());
    let key = setup::master_key(cfg).ok();
    let progress = crate::progress_bar::for_terminal();
    let outcome = storefort_backup::verify::verify(
        &file,
        &identities,
        storefort_store::db::known_migrations(backend),
        &work,
        pg_admin.as_deref(),
        key.as_ref(),
        progress.as_ref(),
    )
    .await;
    drop(fetched);
    let (ok, note) = match &outcome {
        Ok(r) => (r.integrity == "ok", format!("integrity {}", r.integrity)),
        Err(e) => (false, e.to_string()),
    };
    if let Some(db) = &db {
        if from_destination {
            BackupStatus::record_verify(db, ok, &note).await?;
        }
        setup::audit_cli(db, "backup.verified", &label, &note).await?;
    }
    let r = outcome?;
    println!(
        "backup made {} by storefort {} ({}), schema {}",
        storefort_web::pages::render::utc(r.manifest.created_at),
        r.manifest.storefort_version,
        r.manifest.source.engine,
        r.manifest.schema_version
    );
    for p in &r.manifest.parts {
        println!("  {}: {} sha256 ok", p.name, human_bytes(p.size));
    }
    println!("integrity: {}", r.integrity);
    if let Some(audit) = &r.audit {
        println!("audit log: {audit}");
    }
    println!("rows:");
    for (table, n) in &r.row_counts {
        println!("  {table:<28} {n:>10}");
    }
    println!("verified in {:.1} s", r.took.as_secs_f64());
    if !from_destination {
        println!("(a file given by path is not recorded for `storefort doctor`: verify `latest` or a name from `storefort backup list`)");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn fetch(svc: &BackupService, a: BackupFetchArgs) -> CliResult<ExitCode> {
    if a.to.exists() {
        return Err(format!("{} already exists; not overwriting it", a.to.display()).into());
    }
    let (name, dest) = fetch_to(svc, &a.name, a.from.as_deref(), &a.to).await?;
    println!(
        "fetched {name} from {dest} to {} (SHA-256 checked)",
        a.to.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `arg` as a local file; or, when it is `latest` or a backup name, fetched from the
/// destinations into the work dir (removed when the returned guard drops).
pub async fn local_or_fetched(
    cfg: &Config,
    db: &Db,
    arg: &str,
) -> CliResult<(std::path::PathBuf, Option<tempfile::TempPath>)> {
    let path = std::path::PathBuf::from(arg);
    if path.is_file() {
        return Ok((path, None));
    }
    let by_name = arg == "latest" || storefort_backup::dest::parse_name(arg).is_some();
    if !by_name {
        return Err(format!(
            "{arg} is not a file: give a backup file, a name from `storefort backup list`, or `latest`"
        )
        .into());
    }
    let svc = service(cfg, db).await?.ok_or_else(not_set_up)?;
    let work = cfg.backup_work_dir();
    setup::ensure_data_dir(&work)?;
    let tmp = tempfile::Builder::new()
        .prefix(".fetch-")
        .suffix(".sfbak")
        .tempfile_in(&work)?
        .into_temp_path();
    let (name, dest) = fetch_to(&svc, arg, None, &tmp).await?;
    println!("fetched {name} from {dest}");
    Ok((tmp.to_path_buf(), Some(tmp)))
}

/// Copy the backup `name` (or `latest`) from `from` (or the first destination holding it) to
/// `to`, its SHA-256 checked; returns the backup's name and the destination.
async fn fetch_to(
    svc: &BackupService,
    name: &str,
    from: Option<&str>,
    to: &std::path::Path,
) -> CliResult<(String, String)> {
    let name = if name == "latest" {
        latest_name(svc, from).await?
    } else {
        name.to_string()
    };
    let dest = first_with(svc, &name, from).await?;
    svc.destination(&dest)
        .ok_or("destination vanished")?
        .fetch(&name, to)
        .await?;
    Ok((name, dest))
}

/// The newest good backup (on `from`, or on any destination).
async fn latest_name(svc: &BackupService, from: Option<&str>) -> CliResult<String> {
    known_destination(svc, from)?;
    let mut best: Option<(i64, String)> = None;
    for (dest, listing) in svc.list().await {
        if from.is_some_and(|f| f != dest) {
            continue;
        }
        if let Ok(list) = listing {
            for b in list {
                if best.as_ref().is_none_or(|(at, _)| b.created_at > *at) {
                    best = Some((b.created_at, b.name));
                }
            }
        }
    }
    best.map(|(_, n)| n)
        .ok_or_else(|| "no backups found on the destinations".into())
}

/// `--from` names a destination in `[backup]`.
fn known_destination(svc: &BackupService, from: Option<&str>) -> CliResult<()> {
    let Some(f) = from else { return Ok(()) };
    let mut names: Vec<&str> = svc.destinations().iter().map(|d| d.name.as_str()).collect();
    names.extend(svc.broken().iter().map(|(n, _)| n.as_str()));
    if names.contains(&f) {
        Ok(())
    } else {
        Err(format!(
            "--from: there is no destination named {f:?} (this shop has: {})",
            names.join(", ")
        )
        .into())
    }
}

/// The first destination (or `from`) holding `name`.
async fn first_with(svc: &BackupService, name: &str, from: Option<&str>) -> CliResult<String> {
    known_destination(svc, from)?;
    for (dest, listing) in svc.list().await {
        if from.is_some_and(|f| f != dest) {
            continue;
        }
        if listing.is_ok_and(|l| l.iter().any(|b| b.name == name)) {
            return Ok(dest);
        }
    }
    Err(format!("no destination holds a good backup named {name} (`storefort backup list`)").into())
}

fn print_prune(r: &storefort_backup::service::PruneReport) {
    if r.deleted.is_empty() {
        println!("retention: nothing to delete");
    }
    for (dest, name) in &r.deleted {
        println!("retention: deleted {name} from {dest}");
    }
    for (dest, reason) in &r.errors {
        println!("retention: {dest}: FAILED: {reason}");
    }
}

/// Sizes as the admin page shows them (1,500 bytes -> "1.5 KB").
pub fn human_bytes(n: u64) -> String {
    storefort_web::pages::admin_backups::human_size(n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(super::human_bytes(512), "512 bytes");
        assert_eq!(super::human_bytes(1500), "1.5 KB");
        assert_eq!(super::human_bytes(3_000_000_000), "3.0 GB");
    }
}
