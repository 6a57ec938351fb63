//! `storefort passwords import-breached FILE`: load an offline breached-password list (SHA-1
//! hashes, e.g. Have I Been Pwned's) so staff cannot choose a listed password.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use storefort_crypto::password::breached_line_prefix;
use storefort_store::Db;

use crate::cli::PasswordsCommand;
use crate::config::Config;
use crate::setup::{self, audit_cli, bad_input, CliResult};

/// Prefixes per transaction.
const BATCH: usize = 10_000;
/// Lines between progress reports on stderr.
const PROGRESS_EVERY: u64 = 1_000_000;
/// Longest line read (a SHA-1 with a count is about 50 bytes).
const MAX_LINE: usize = 4096;

/// Run a `passwords` subcommand.
pub async fn run(cfg: &Config, cmd: PasswordsCommand) -> CliResult<ExitCode> {
    match cmd {
        PasswordsCommand::ImportBreached(a) => {
            let file = match std::fs::File::open(&a.file) {
                Ok(f) => f,
                Err(e) => return Ok(bad_input(format!("cannot read {}: {e}", a.file.display()))),
            };
            let db = setup::open_db(cfg).await?;
            let code = import(&db, &a.file, std::io::BufReader::new(file)).await?;
            db.pool.close().await;
            Ok(code)
        }
    }
}

async fn import(db: &Db, path: &Path, mut input: impl BufRead) -> CliResult<ExitCode> {
    let (mut added, mut skipped, mut lines) = (0u64, 0u64, 0u64);
    let mut batch = Vec::with_capacity(BATCH);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = std::io::Read::take(&mut input, MAX_LINE as u64)
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        if n == MAX_LINE && buf.last() != Some(&b'\n') {
            skip_line(&mut input)?;
        }
        lines += 1;
        match breached_line_prefix(&String::from_utf8_lossy(&buf)) {
            Some(p) => batch.push(p),
            None => skipped += 1,
        }
        if batch.len() >= BATCH {
            added += db.import_breached(&batch).await?;
            batch.clear();
        }
        if lines % PROGRESS_EVERY == 0 {
            eprintln!("{lines} lines read, {added} new entries so far...");
        }
    }
    if !batch.is_empty() {
        added += db.import_breached(&batch).await?;
    }
    audit_cli(
        db,
        "passwords.breached_imported",
        &path.display().to_string(),
        &format!("{added} new entries; {skipped} lines skipped"),
    )
    .await?;
    println!("imported {added} new entries ({skipped} lines skipped)");
    println!(
        "the breached list now holds {} entries",
        db.breached_count().await?
    );
    Ok(ExitCode::SUCCESS)
}

/// Skip the rest of an overlong line without holding it in memory.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_overlong_lines_to_the_next_one() {
        let mut input = std::io::Cursor::new(b"xxxxxxxx\nnext\n".to_vec());
        skip_line(&mut input).unwrap();
        let mut rest = String::new();
        input.read_line(&mut rest).unwrap();
        assert_eq!(rest, "next\n");
    }
}
