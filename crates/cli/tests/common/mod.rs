//! Shared by the CLI tests: run the real binary against a shop made by `storefort init` in a temp
//! dir, and open that shop's database directly (as its operator, or an attacker, could).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use storefort_crypto::master_key::MasterKey;
use storefort_store::Db;

pub const OWNER: &str = "o@example.com";

/// A `storefort` command with no `STOREFORT_*` settings leaking in from the environment.
pub fn storefort(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_storefort"));
    for (k, _) in std::env::vars() {
        if k.starts_with("STOREFORT_") {
            c.env_remove(k);
        }
    }
    c.arg("--config").arg(config);
    c
}

/// Run `storefort --config CONFIG ARGS...`.
pub fn run(config: &Path, args: &[&str]) -> Output {
    storefort(config).args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh shop in a temp dir; returns the dir and the config path.
pub fn init_shop() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("storefort.toml");
    let out = run(&config, &["init", "--owner-email", OWNER]);
    assert!(out.status.success(), "init failed: {}", stderr(&out));
    (dir, config)
}

/// The shop's database, with its master key (`master.key` beside the config file).
pub async fn open_db(dir: &Path) -> Db {
    let data = dir.join("storefort-data");
    Db::connect(&format!("sqlite://{}", data.join("storefort.db").display()))
        .await
        .unwrap()
        .with_master_key(&MasterKey::load(&dir.join("master.key")).unwrap())
        .await
        .unwrap()
}

/// The password printed after `label` on a line of `text`.
pub fn password_after(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    line.rsplit(' ').next().unwrap().trim().to_string()
}

/// Create `n` customers through the store, each with a saved address and an order; returns
/// their ids.
pub async fn add_customers(db: &Db, n: usize) -> Vec<storefort_core::ids::CustomerId> {
    use storefort_core::customer::{Address, NewCustomer, NewOrder};
    let mut ids = Vec::new();
    for i in 0..n {
        let c = db
            .create_customer(
                &NewCustomer {
                    name: format!("Customer {i}"),
                    email: format!("customer{i}@example.com"),
                    phone: "+44 20 7946 0000".into(),
                    marketing_consent: false,
                    note: String::new(),
                },
                None,
            )
            .await
            .unwrap();
        let address = Address {
            name: format!("Customer {i}"),
            line1: "1 High Street".into(),
            line2: String::new(),
            city: "Bristol".into(),
            region: String::new(),
            postcode: "BS1 4DJ".into(),
            country: "GB".into(),
        };
        db.add_address(&c.id, "Home", &address).await.unwrap();
        db.create_order(&NewOrder {
            customer_id: c.id.clone(),
            status: "pending_payment".into(),
            currency: "GBP".into(),
            total_minor: 1250,
            email: c.email.clone(),
            phone: String::new(),
            billing: address,
            shipping: None,
        })
        .await
        .unwrap();
        ids.push(c.id);
    }
    ids
}

/// The active data key's id (the newest `active` data key).
pub async fn active_data_key(db: &Db) -> String {
    db.data_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == "active")
        .expect("an active data key")
        .id
}
