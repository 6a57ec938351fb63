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

/// Check a secret's name; the error lists the names that exist.
fn known(name: &str) -> CliResult<()> {
    if KNOWN.contains(&name) {
        Ok(())
    } else {
        Err(format!(
            "unknown secret {name:?}: the shop uses {}",
            KNOWN.join(", ")
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
        known(name)?;
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
            for name in db.secret_names().await? {
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
        assert!(known("smtp.password").is_ok());
        let e = known("smtp.pasword").unwrap_err().to_string();
        assert!(e.contains("smtp.password"), "{e}");
        assert_eq!(read_value(&b"s3cret pass\n"[..]).unwrap(), "s3cret pass");
        assert_eq!(read_value(&b"x\r\n"[..]).unwrap(), "x");
        assert!(read_value(&b"\n"[..]).is_err());
        assert!(read_value(&b""[..]).is_err());
        assert!(read_value("y".repeat(MAX_LEN + 1).as_bytes()).is_err());
    }
}
