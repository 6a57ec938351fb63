//! Arguments of `storefort backup ...` and `storefort restore`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `storefort backup ...`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now while the shop keeps serving: a consistent snapshot, compressed and
    /// encrypted to the shop's backup recipient, sent to every destination in `[backup]` and
    /// checked there (size and SHA-256) before it counts.
    Create,
    /// List the good backups on every destination, newest first.
    List,
    /// Open a backup with the recovery kit, check every checksum, load it into a temporary
    /// database, run the integrity checks and print the row counts. FILE is a path, or
    /// `latest` for the newest backup on the first destination that has one.
    Verify(BackupVerifyArgs),
    /// Delete backups that retention no longer keeps (serve does this after every backup).
    Prune,
    /// Copy a backup from a destination to a local file (checked against its SHA-256).
    Fetch(BackupFetchArgs),
    /// Make a new backup key pair: prints the recovery kit (keep it offline) and the
    /// recipient line to put in storefort.toml. Backups made before keep needing the old kit.
    NewIdentity,
}

/// `storefort backup verify`.
#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// A backup file, or `latest`.
    pub file: String,
    /// The recovery kit (a text file holding the AGE-SECRET-KEY line); `-` reads it from
    /// standard input (paste it, then Ctrl-D), so it is never written to the server's disk.
    #[arg(long, value_name = "KIT")]
    pub identity: PathBuf,
}

/// `storefort backup fetch`.
#[derive(Debug, Args)]
pub struct BackupFetchArgs {
    /// The backup's name (`storefort backup list`), or `latest`.
    pub name: String,
    /// The file to write (not overwritten if it exists).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// The destination to fetch from (default: the first that has it).
    #[arg(long)]
    pub from: Option<String>,
}

/// `storefort restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file (`storefort backup fetch` copies one from a destination).
    pub file: PathBuf,
    /// The recovery kit (a text file holding the AGE-SECRET-KEY line); `-` reads it from
    /// standard input (paste it, then Ctrl-D), so it is never written to the server's disk.
    #[arg(long, value_name = "KIT")]
    pub identity: PathBuf,
    /// If `storefort serve` is running on this shop, stop it first (otherwise restore refuses).
    #[arg(long)]
    pub stop_server: bool,
}
