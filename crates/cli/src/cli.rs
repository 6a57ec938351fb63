//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// storefort: a secure, self-hosted online shop and point of sale in one binary.
///
/// Quick start: `storefort demo` runs a demo shop on https://localhost:8443.
/// For a real shop: `storefort init --owner-email you@example.com`, then `storefort serve`.
#[derive(Debug, Parser)]
#[command(name = "storefort", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (settings can also come from STOREFORT_* environment variables).
    #[arg(
        long,
        global = true,
        env = "STOREFORT_CONFIG",
        default_value = "storefort.toml"
    )]
    pub config: PathBuf,
    /// Log format: `text` or `json` (overrides the config file).
    #[arg(long, global = true, value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new shop: a commented storefort.toml, the data directory (0700), the master key
    /// (0600, beside the config file, outside the data directory; or STOREFORT_MASTER_KEY when
    /// set) and the owner account, whose generated password is printed once.
    Init(InitArgs),
    /// Run the shop from its configuration: HTTPS, the HTTP redirect and the metrics listener.
    Serve,
    /// Run a demo shop on embedded SQLite with ~60 products, two locations and stock, over
    /// HTTPS with a self-signed certificate. Created on first run, reused afterwards.
    Demo(DemoArgs),
    /// Apply pending database migrations and exit (serve also migrates on start).
    Migrate,
    /// Check the shop's security set-up: each check says pass, warn or fail and how to fix it.
    /// Exits with status 1 if any check fails.
    Doctor(DoctorArgs),
    /// Measure performance and print figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Manage staff accounts: add, list, disable, enable, unlock, reset a password or MFA.
    /// Every change is recorded in the audit log (actor `cli`).
    #[command(subcommand)]
    User(UserCommand),
    /// Check, prune or export the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage the offline list of breached passwords that staff may not use.
    #[command(subcommand)]
    Passwords(PasswordsCommand),
    /// The keys that encrypt customers' personal data: see them, rotate the data key (online,
    /// resumable) or the master key. Every rotation is recorded in the audit log.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Secrets the shop needs (the SMTP password; gateway API keys later), kept encrypted in
    /// the database instead of in storefort.toml.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Tills (POS devices): register one and print its one-time pairing code, list them, make
    /// a new code, or revoke a lost or stolen till (its next request wipes it).
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Encrypted backups: create one now, list, verify with the recovery kit, prune, fetch,
    /// or make a new backup key pair. `serve` takes them on a schedule.
    #[command(subcommand)]
    Backup(crate::cli_backup::BackupCommand),
    /// Restore the shop from a backup with the recovery kit: checks it, swaps the database in
    /// atomically (the previous one kept aside), migrates it forward, re-applies customer
    /// erasures made since, and prints how long it took. Refuses while `serve` runs.
    Restore(crate::cli_backup::RestoreArgs),
    /// Plugins: build a package, write the examples, list them, switch one off. Installing
    /// needs the owner's approval on the admin's Plugins page.
    #[command(subcommand)]
    Plugin(crate::plugin_cmd::PluginCommand),
}

/// `storefort device ...`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Register a till and print its pairing code (8 characters, single use, 15 minutes).
    Add {
        /// What staff call it ("Front counter").
        #[arg(long)]
        name: String,
        /// Location name or ID (default: the first location).
        #[arg(long)]
        location: Option<String>,
    },
    /// List tills: location, status, current cashier, last seen.
    List,
    /// A new pairing code for a till (pairing again replaces its old credential).
    Code {
        /// The till's ID (`storefort device list`).
        id: String,
    },
    /// Revoke a till: its next request is refused and the app wipes its local data.
    Revoke {
        /// The till's ID.
        id: String,
    },
}

/// `storefort secrets ...`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Store a secret, read from standard input (one line), encrypted under the data key.
    /// Names: smtp.password.
    Set {
        /// Which secret.
        name: String,
    },
    /// Which secrets are stored (names only; values are never printed).
    List,
    /// Delete a stored secret.
    Remove {
        /// Which secret.
        name: String,
    },
}

/// `storefort keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the data keys (id, state, created, age) and what is still encrypted under keys
    /// being retired.
    Status,
    /// Make a new data key and re-encrypt every customer, order and secret under it, in
    /// batches, while the shop keeps serving. Interrupted? Run it again: it carries on where it
    /// stopped. The old key is destroyed only when nothing uses it any more.
    Rotate(KeysRotateArgs),
    /// Make a new master key and re-wrap every stored key under it (one transaction). With a key
    /// file, the new key replaces it; with STOREFORT_MASTER_KEY the new key is printed once to
    /// put in the variable. Restart running servers afterwards.
    RotateMaster,
}

/// `storefort keys rotate`.
#[derive(Debug, Args)]
pub struct KeysRotateArgs {
    /// Customers, rows or secrets re-encrypted per transaction (1 to 10000).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub batch: i64,
}

/// `storefort user ...`. Bad input (unknown email, bad role) exits with status 2 and changes
/// nothing.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a staff member. A strong temporary password is generated and printed once; they
    /// must choose their own at first sign-in (owners and managers also enrol MFA then).
    Add(UserAddArgs),
    /// List staff: email, name, role, MFA, locked, disabled, last sign-in (UTC).
    List,
    /// Disable an account: sign-in is refused, every session ends and the API keys they made
    /// stop working (until re-enabled). The last enabled owner cannot be disabled.
    Disable(UserEmail),
    /// Re-enable a disabled account.
    Enable(UserEmail),
    /// Lift a lockout after too many failed sign-ins.
    Unlock(UserEmail),
    /// Give an account a new temporary password (printed once), end every session, and make
    /// them choose their own at next sign-in. Use it when a device is lost or a password leaked.
    ResetPassword(UserEmail),
    /// Turn off someone's two-step sign-in (lost phone and recovery codes); every session ends
    /// and owners and managers must enrol again at next sign-in.
    ResetMfa(UserEmail),
}

/// `storefort user add`.
#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// Their sign-in email.
    pub email: String,
    /// Their name, as shown to other staff.
    #[arg(long)]
    pub name: String,
    /// What they may do: owner (everything), manager (catalog, stock, orders, refunds,
    /// customers) or cashier (sell, look up stock and orders).
    #[arg(long, value_parser = ["owner", "manager", "cashier"])]
    pub role: String,
}

/// A staff member named by email.
#[derive(Debug, Args)]
pub struct UserEmail {
    /// Their sign-in email.
    pub email: String,
}

/// `storefort audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain from the oldest kept entry. Prints "audit log intact: N entries"
    /// (exit 0) or the first entry that was changed, deleted or reordered (exit 1).
    Verify,
    /// Delete entries older than security.audit_retention_days (default 400) now; `serve`
    /// also does this at start and daily. The chain stays verifiable.
    Prune,
    /// Write the whole log, newest entry first, to a CSV file. Cells a
    /// spreadsheet would run as formulas are prefixed with `'`. The file is created 0600 and
    /// never overwritten.
    Export(AuditExportArgs),
}

/// `storefort audit export`.
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// The CSV file to create.
    #[arg(long = "csv", value_name = "FILE")]
    pub csv: PathBuf,
}

/// `storefort passwords ...`.
#[derive(Debug, Subcommand)]
pub enum PasswordsCommand {
    /// Import a breached-password list: SHA-1 hashes in hex, one a line, optionally followed by
    /// `:count` (the Have I Been Pwned "pwned-passwords-sha1" format). Only the first 16 hex
    /// digits are kept; other lines are skipped. Staff cannot then choose a listed password.
    ImportBreached(ImportBreachedArgs),
}

/// `storefort passwords import-breached`.
#[derive(Debug, Args)]
pub struct ImportBreachedArgs {
    /// The list to import.
    pub file: PathBuf,
}

/// `storefort init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Email address the owner signs in with.
    #[arg(long)]
    pub owner_email: String,
    /// Owner's display name.
    #[arg(long, default_value = "Owner")]
    pub owner_name: String,
    /// Shop name shown to customers.
    #[arg(long, default_value = "My Shop")]
    pub shop_name: String,
    /// Data directory (relative paths are relative to the config file).
    #[arg(long, default_value = "storefort-data")]
    pub data_dir: PathBuf,
    /// HTTPS address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
}

/// `storefort demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo shop lives (created on first run): its config and master key, with the
    /// database and certificates in its `data` subdirectory.
    #[arg(long, default_value = "storefort-demo")]
    pub data_dir: PathBuf,
    /// HTTPS address; `127.0.0.1:0` picks a free port.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Plain-HTTP address that redirects to HTTPS; an empty value disables it.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_listen: String,
    /// Give the existing demo owner a new password and print it.
    #[arg(long)]
    pub new_password: bool,
}

/// `storefort doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also search every text column of the database and the log files (log.file and *.log in
    /// the data dir) for card numbers, personal data outside its encrypted columns and the
    /// master key. Locations are reported, never the values.
    #[arg(long)]
    pub scan: bool,
}

/// `storefort bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load the catalog API and the storefront category page over HTTPS with keep-alive
    /// connections; print requests/s, p50, p99, the server's RSS and its time to first request.
    Catalog(BenchCatalogArgs),
    /// Measure the customer data vault in-process: create customer, lookup by email (from
    /// several tasks at once) and list 100 customers decrypting every field.
    Vault(BenchVaultArgs),
    /// Whole shopper journeys (product page, cart, checkout, sandbox payment, confirmation)
    /// in-process: completed orders/s, journey p50 and p99.
    Checkout(BenchCheckoutArgs),
    /// Fraud screening in-process with 100,000 prior orders behind it: velocity look-ups,
    /// customer history and scoring, p50 and p99 in microseconds.
    Fraud(BenchFraudArgs),
    /// Backup and restore of a shop with 1,000,000 orders: times, throughput and the peak
    /// memory of each.
    Backup(BenchBackupArgs),
    /// The till's API in-process on a 50,000-product catalog: product search latency (p50,
    /// p99) and completed cash sales/s from several tills at once.
    Pos(BenchPosArgs),
    /// The cost of one plugin hook call (a fresh sandbox instance plus the call) for each
    /// example plugin: median, p99 and calls/s.
    Plugins(BenchPluginsArgs),
}

/// `storefort bench plugins`.
#[derive(Debug, Args)]
pub struct BenchPluginsArgs {
    /// Calls measured per example plugin.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub calls: u64,
}

/// `storefort bench backup`.
#[derive(Debug, Args)]
pub struct BenchBackupArgs {
    /// Orders in the generated shop (each with a line and a payment).
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=10_000_000))]
    pub orders: u64,
    /// Where the shop, its backups and the restored copy are made (default: a temporary
    /// directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `storefort bench pos`.
#[derive(Debug, Args)]
pub struct BenchPosArgs {
    /// Products in the catalog (one variant each).
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1_000..=1_000_000))]
    pub products: u64,
    /// Tills selling at once, each with its own cashier.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub tills: u64,
    /// Seconds of selling measured.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Bench on PostgreSQL at this URL, in a throw-away schema (default: a temporary SQLite
    /// file).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// `storefort bench fraud`.
#[derive(Debug, Args)]
pub struct BenchFraudArgs {
    /// Prior orders (with their velocity events) written before measuring.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1_000..=5_000_000))]
    pub orders: u64,
    /// Bench on PostgreSQL at this URL, in a throw-away schema (default: a temporary SQLite
    /// file).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// `storefort bench checkout`.
#[derive(Debug, Args)]
pub struct BenchCheckoutArgs {
    /// Concurrent shoppers.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub shoppers: u64,
    /// Seconds measured (after a warm-up journey per shopper).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Bench on PostgreSQL at this URL, in a throw-away schema (default: a temporary SQLite
    /// file with synchronous=FULL).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Run with fraud screening off (to compare: screening is on by default, as in a shop).
    #[arg(long)]
    pub no_screening: bool,
}

/// `storefort bench vault`.
#[derive(Debug, Args)]
pub struct BenchVaultArgs {
    /// Customers (each with an address) created before the lookups and listings.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub customers: u64,
    /// Concurrent lookup tasks.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub tasks: u64,
    /// Seconds of lookups.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub seconds: u64,
    /// Bench on PostgreSQL at this URL, in a throw-away schema (default: a temporary SQLite
    /// file).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// `storefort bench catalog`.
#[derive(Debug, Args)]
pub struct BenchCatalogArgs {
    /// Bench a running shop at this base URL (e.g. https://localhost:8443) instead of starting one.
    #[arg(long, requires = "api_key")]
    pub url: Option<String>,
    /// A read-scope API key for --url.
    #[arg(long)]
    pub api_key: Option<String>,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Seconds per measured target.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Products in the self-started shop.
    #[arg(long, default_value_t = 10_000)]
    pub products: usize,
    /// Send this many requests a second in all, on a fixed schedule spread over the
    /// connections, instead of as many as the connections can (which saturates the machine).
    /// A request held up by a slow answer counts from when it was due.
    #[arg(long, value_name = "N")]
    pub rate: Option<u32>,
    /// While the catalog load runs, sign in this many times a second (POST /admin/login as a
    /// bench cashier, argon2id on the server) and report the sign-ins too. Self-started shop
    /// only.
    #[arg(long, default_value_t = 0, conflicts_with = "url")]
    pub logins_per_sec: u32,
    /// Run the catalog load twice, without and then with this many sign-ins a second, and
    /// print how much the catalog p99 moved. Self-started shop only.
    #[arg(long, value_name = "N", conflicts_with_all = ["url", "logins_per_sec"])]
    pub compare_logins: Option<u32>,
}
