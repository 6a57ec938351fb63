//! `storefort audit ...`: verify the hash chain, apply retention, export as CSV. The daily
//! retention task `serve` runs lives in [`crate::retention`].

use std::path::Path;
use std::process::ExitCode;

use storefort_store::audit::{AuditFilter, AuditVerdict};
use storefort_store::Db;
use storefort_web::pages::admin_audit::{CsvExport, CSV_LIMIT};

use crate::cli::AuditCommand;
use crate::config::Config;
use crate::setup::{self, audit_cli, bad_input, CliResult};

/// Run an `audit` subcommand.
pub async fn run(cfg: &Config, cmd: AuditCommand) -> CliResult<ExitCode> {
    let db = setup::open_db(cfg).await?;
    let code = match cmd {
        AuditCommand::Verify => verify(&db).await?,
        AuditCommand::Prune => {
            let n = db.prune_audit().await?;
            println!(
                "removed {n} audit entries older than {} days",
                cfg.security.audit_retention_days
            );
            ExitCode::SUCCESS
        }
        AuditCommand::Export(a) => export(&db, &a.csv).await?,
    };
    db.pool.close().await;
    Ok(code)
}

async fn verify(db: &Db) -> CliResult<ExitCode> {
    Ok(match db.verify_audit().await? {
        AuditVerdict::Intact { entries } => {
            println!("audit log intact: {entries} entries");
            ExitCode::SUCCESS
        }
        AuditVerdict::Broken { seq, reason } => {
            println!("audit log BROKEN at entry #{seq}: {reason}");
            println!("Keep a copy of the database as evidence before changing anything.");
            ExitCode::FAILURE
        }
    })
}

/// Create `path` (0600, never over an existing file) and write the whole log into it.
async fn export(db: &Db, path: &Path) -> CliResult<ExitCode> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) => return Ok(bad_input(format!("cannot create {}: {e}", path.display()))),
    };
    let mut out = CsvExport::new(std::io::BufWriter::new(file))?;
    let mut filter = AuditFilter {
        limit: Some(CSV_LIMIT),
        ..Default::default()
    };
    let mut rows = 0usize;
    loop {
        let page = db.audit_entries(&filter).await?;
        out.write(&page)?;
        rows += page.len();
        match page.last() {
            Some(last) if page.len() as i64 == CSV_LIMIT => filter.before_seq = Some(last.seq),
            _ => break,
        }
    }
    use std::io::Write;
    out.finish()?.flush()?;
    audit_cli(
        db,
        "audit.exported",
        &path.display().to_string(),
        &format!("{rows} entries as CSV"),
    )
    .await?;
    println!("wrote {rows} audit entries to {}", path.display());
    Ok(ExitCode::SUCCESS)
}
