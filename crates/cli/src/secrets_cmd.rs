//! `storefort secrets ...`: secrets the shop needs at run time, kept sealed in the database
//! (under the active data key, re-encrypted by `keys rotate`) instead of in clear in
//! storefort.toml.

use std::io::BufRead;
use std::process::ExitCode;

use crate::cli::SecretsCommand;
use crate::config::Config;
use crate::setup::{self, audit_cli, CliResult};

/// The SMTP password, used when `[smtp]` has no `password`.
pub const SMTP_PASSWORD: &str = "smtp.password";
/// Every secret name the shop knows.
pub const KNOWN: [&str; 1] = [SMTP_PASSWORD];
/// Longest secret accepted.
const MAX_LEN: usize = 4096;

/// The secret key of an S3 backup destination: `backup.<name>.secret_access_key`.
fn s3_secret(dest: &str) -> String {
    format!("backup.{dest}.secret_access_key")
}

/// Check a secret's name against the shop's config; the error lists the names that exist.
fn known(cfg: &Config, name: &str) -> CliResult<()> {
    let s3: Vec<String> = cfg
        .backup
        .destinations
        .iter()
        .filter(|d| {
            matches!(
                d.kind,
                storefort_backup::settings::DestinationKind::S3 { .. }
            )
        })
        .map(|d| s3_secret(&d.name))
        .collect();
    if KNOWN.contains(&name) || s3.iter().any(|s| s == name) {
        Ok(())
    } else {
        let mut names: Vec<String> = KNOWN.iter().map(|s| s.to_string()).collect();
        names.extend(s3);
        Err(format!(
            "unknown secret {name:?}: the shop uses {} (an S3 backup destination's key, \
             backup.<name>.secret_access_key, is known once that destination is in [backup])",
            names.join(", ")
        )
        .into())
    }
}

/// The value from the first line of `input`, without its line ending; empty is refused.
pub fn read_value(input: impl BufRead) -> CliResult<String> {
    let line = input.lines().next().transpose()?.unwrap_or_default();
    let value = line.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        return Err("no value on standard input: pipe or type the secret, then Enter".into());
    }
    if value.len() > MAX_LEN {
        return Err(format!("the secret is longer than {MAX_LEN} bytes").into());
    }
    Ok(value)
}

/// Run a `secrets` subcommand.
pub async fn run(cfg: &Config, cmd: SecretsCommand) -> CliResult<ExitCode> {
    if let SecretsCommand::Set { name } | SecretsCommand::Remove { name } = &cmd {
        known(cfg, name)?;
    }
    let db = setup::open_db(cfg).await?;
    match cmd {
        SecretsCommand::Set { name } => {
            let value = read_value(std::io::stdin().lock())?;
            db.set_secret(&name, &value).await?;
            audit_cli(&db, "secret.set", &name, "stored encrypted").await?;
            println!("{name} stored encrypted; restart `storefort serve` to use it");
        }
        SecretsCommand::List => {
            let names = db.secret_names().await?;
            if names.is_empty() {
                println!("no secrets stored");
            }
            for name in names {
                println!("{name}");
            }
        }
        SecretsCommand::Remove { name } => {
            if db.remove_secret(&name).await? {
                audit_cli(&db, "secret.removed", &name, "").await?;
                println!("{name} removed");
            } else {
                return Err(format!("no secret {name:?} is stored").into());
            }
        }
    }
    db.pool.close().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_checked() {
        let mut cfg = Config::default();
        assert!(known(&cfg, "smtp.password").is_ok());
        let e = known(&cfg, "smtp.pasword").unwrap_err().to_string();
        assert!(e.contains("smtp.password"), "{e}");
        // An S3 backup destination's key is known only when that destination is configured.
        assert!(known(&cfg, "backup.offsite.secret_access_key").is_err());
        cfg.backup.destinations.push(
            toml::from_str("name = \"offsite\"\nkind = \"s3\"\nbucket = \"shop-backups\"\n")
                .unwrap(),
        );
        assert!(known(&cfg, "backup.offsite.secret_access_key").is_ok());
        let e = known(&cfg, "backup.other.secret_access_key")
            .unwrap_err()
            .to_string();
        assert!(e.contains("backup.offsite.secret_access_key"), "{e}");
        assert_eq!(read_value(&b"s3cret pass\n"[..]).unwrap(), "s3cret pass");
        assert_eq!(read_value(&b"x\r\n"[..]).unwrap(), "x");
        assert!(read_value(&b"\n"[..]).is_err());
        assert!(read_value(&b""[..]).is_err());
        assert!(read_value("y".repeat(MAX_LEN + 1).as_bytes()).is_err());
    }
}
