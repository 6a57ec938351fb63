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
    /// (0600) and the owner account, whose generated password is printed once.
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
    /// Where the demo shop lives (created on first run).
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
}

/// `storefort bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Load the catalog API and the storefront category page over HTTPS with keep-alive
    /// connections; print requests/s, p50, p99, the server's RSS and its time to first request.
    Catalog(BenchCatalogArgs),
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
}
