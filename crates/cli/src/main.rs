//! The `storefort` binary. Thin: parse arguments, set up logging, run the command.
#![forbid(unsafe_code)]

use clap::Parser;

mod audit_cmd;
mod backup_cmd;
mod backup_schedule;
mod bench;
mod cli;
mod cli_backup;
mod commands;
mod config;
mod config_fraud;
mod config_payments;
mod config_policy;
mod config_toml;
mod device_cmd;
mod doctor;
mod keyfile;
mod keys_cmd;
mod owner_mail;
mod passwords_cmd;
mod plugin_cmd;
mod plugin_setup;
mod progress_bar;
mod redacting_writer;
mod restore_cmd;
mod retention;
mod secrets_cmd;
mod seed;
mod seed_checkout;
mod seed_customers;
mod seed_pos;
mod setup;
mod user;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
