//! `storefort plugin ...`: build a package from a plugin's sources, write the example
//! packages, list the installed plugins with their module's state, and switch one off from
//! the server's shell (installing needs the owner's approval on the admin's Plugins page).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use storefort_plugins::service::{module_state_in, parse_permissions, ModuleState, Who};
use storefort_plugins::{examples, Package};

use crate::config::Config;
use crate::setup::{self, CliResult};

/// `storefort plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Build NAME.sfplugin from a folder holding manifest.json (without module_sha256) and
    /// plugin.wat or plugin.wasm; the module's SHA-256 is filled in.
    Pack {
        /// The plugin's source folder.
        dir: PathBuf,
        /// Where to write the package (default: NAME.sfplugin in the current folder).
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Write the example plugins' packages (bulk-discount, fraud-rule, order-webhook) into a
    /// folder, ready to upload on the admin's Plugins page.
    Examples {
        /// The folder (created if missing).
        #[arg(default_value = "example-plugins")]
        dir: PathBuf,
    },
    /// List installed plugins: on or off, permissions, and whether each module file is still
    /// the one approved.
    List,
    /// Switch a plugin off now (recorded in the audit log as `cli`).
    Disable {
        /// The plugin's name.
        name: String,
    },
}

/// Run a plugin subcommand.
pub async fn run(config_path: &Path, c: PluginCommand) -> CliResult<ExitCode> {
    match c {
        PluginCommand::Pack { dir, out } => {
            let bytes = Package::build_dir(&dir)?;
            let name = Package::read(&bytes)?.manifest.name;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}.sfplugin")));
            std::fs::write(&out, &bytes)?;
            println!("{}: {} bytes", out.display(), bytes.len());
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Examples { dir } => {
            write_examples(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::List => list(&Config::load(Some(config_path))?).await,
        PluginCommand::Disable { name } => {
            let cfg = Config::load(Some(config_path))?;
            let db = setup::open_db(&cfg).await?;
            let svc = crate::plugin_setup::open_quiet(&cfg, &db).await?;
            let who = Who {
                id: String::new(),
                email: "cli".into(),
                ip: "cli".into(),
            };
            svc.set_enabled(&name, false, &who).await?;
            println!("{name} is off (a running server stops calling it within a minute)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Write each example's package into `dir`; returns the files.
pub fn write_examples(dir: &Path) -> CliResult<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for name in examples::names() {
        let bytes = examples::package(name).ok_or("unknown example")??;
        let path = dir.join(format!("{name}.sfplugin"));
        std::fs::write(&path, bytes)?;
        println!("{}", path.display());
        out.push(path);
    }
    Ok(out)
}

async fn list(cfg: &Config) -> CliResult<ExitCode> {
    // Only reads: opening the service would switch off a plugin whose module changed.
    let db = setup::open_db(cfg).await?;
    let dir = crate::plugin_setup::plugins_dir(cfg);
    let all = db.plugins().await?;
    if all.is_empty() {
        println!("no plugins installed");
    }
    for r in &all {
        let state = if r.enabled { "on" } else { "off" };
        let module = match module_state_in(&dir, r) {
            ModuleState::Matches => "module as approved",
            ModuleState::Changed => "MODULE CHANGED since approval",
            ModuleState::Missing => "MODULE FILE MISSING",
        };
        println!(
            "{} {} by {}: {state}, {module}",
            r.name, r.version, r.author
        );
        let words: Vec<&str> = parse_permissions(&r.permissions)
            .iter()
            .map(|p| p.words())
            .collect();
        if !words.is_empty() {
            println!("  may {}", words.join("; "));
        }
        if let Some(u) = &r.webhook_url {
            println!("  sends to {u}");
        }
        if !r.disabled_reason.is_empty() {
            println!("  switched off: {}", r.disabled_reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}
