//! `storefort device ...`: tills for operators. Register a till and print its one-time pairing
//! code, list tills, make a new code, revoke a lost or stolen till (its next request wipes it).
//! Every change is audited with actor `cli`; bad input exits with status 2 and changes nothing.

use std::process::ExitCode;

use storefort_store::{Db, StoreError};

use crate::cli::DeviceCommand;
use crate::config::Config;
use crate::setup::{self, audit_cli, bad_input, CliResult};

/// Run a `device` subcommand.
pub async fn run(cfg: &Config, cmd: DeviceCommand) -> CliResult<ExitCode> {
    let db = setup::open_db(cfg).await?;
    let code = match cmd {
        DeviceCommand::Add { name, location } => add(&db, &name, location.as_deref()).await?,
        DeviceCommand::List => list(&db).await?,
        DeviceCommand::Code { id } => code(&db, &id).await?,
        DeviceCommand::Revoke { id } => revoke(&db, &id).await?,
    };
    db.pool.close().await;
    Ok(code)
}

fn grouped(code: &str) -> String {
    let mid = 4.min(code.len());
    format!("{}-{}", &code[..mid], &code[mid..])
}

fn print_code(code: &str) {
    println!("Pairing code: {}", grouped(code));
    println!(
        "On the till, open https://<your shop>/pos and type it. It works once, for 15 minutes."
    );
}

async fn add(db: &Db, name: &str, location: Option<&str>) -> CliResult<ExitCode> {
    let locations = db.locations().await?;
    let found = match location {
        Some(l) => locations
            .iter()
            .find(|x| x.id.as_str() == l || x.name.eq_ignore_ascii_case(l.trim())),
        None => locations.first(),
    };
    let Some(loc) = found else {
        let names: Vec<&str> = locations.iter().map(|l| l.name.as_str()).collect();
        return Ok(bad_input(format!(
            "no location {:?}; the shop has: {}",
            location.unwrap_or(""),
            names.join(", ")
        )));
    };
    match db.register_device(name, loc.id.as_str(), "cli").await {
        Ok((d, code)) => {
            audit_cli(
                db,
                "pos.device_registered",
                &d.id,
                &format!("till {:?} at {}", d.name, loc.name),
            )
            .await?;
            println!(
                "Registered till {:?} at {} (id {}).",
                d.name, loc.name, d.id
            );
            print_code(&code);
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::Invalid(v)) => Ok(bad_input(format!("{}: {}", v.field, v.message))),
        Err(e) => Err(e.into()),
    }
}

async fn list(db: &Db) -> CliResult<ExitCode> {
    let devices = db.pos_devices().await?;
    if devices.is_empty() {
        println!("No tills yet: `storefort device add --name \"Front counter\"` registers one.");
    }
    for d in devices {
        println!(
            "{}  {:<24} {:<20} {:<8} cashier: {:<20} last seen: {}",
            d.id,
            d.name,
            d.location_name,
            d.status,
            d.cashier_name.as_deref().unwrap_or("-"),
            d.last_seen_at
                .map(storefort_web::pages::render::utc)
                .unwrap_or_else(|| "never".into()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn code(db: &Db, id: &str) -> CliResult<ExitCode> {
    match db.new_pairing_code(id, "cli").await {
        Ok(code) => {
            audit_cli(db, "pos.pairing_code", id, "new pairing code made").await?;
            print_code(&code);
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::NotFound { .. }) => Ok(bad_input(format!(
            "no till with id {id}; `storefort device list` shows them"
        ))),
        Err(StoreError::State { message, .. }) => Ok(bad_input(message)),
        Err(e) => Err(e.into()),
    }
}

async fn revoke(db: &Db, id: &str) -> CliResult<ExitCode> {
    match db.revoke_device(id, "cli").await {
        Ok(d) => {
            audit_cli(
                db,
                "pos.device_revoked",
                &d.id,
                &format!("till {:?} revoked", d.name),
            )
            .await?;
            println!(
                "Revoked till {:?}: its next request wipes it and shows that it was removed.",
                d.name
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::NotFound { .. }) => Ok(bad_input(format!(
            "no till with id {id}; `storefort device list` shows them"
        ))),
        Err(StoreError::State { message, .. }) => Ok(bad_input(message)),
        Err(e) => Err(e.into()),
    }
}
