//! The demo's till: a device waiting to be paired at the High Street shop, a demo cashier with
//! a PIN, and a PIN for the owner (who approves discounts, refunds and cash counts). PINs are
//! printed when they are made; pairing codes on every start while the till is unpaired.

use rand::Rng;
use storefort_store::Db;

use crate::setup::{self, CliResult};

/// The demo cashier's login (they sell with their PIN; the password is never needed).
pub const DEMO_CASHIER: &str = "cashier@storefort.demo";
/// The demo till's name.
pub const DEMO_TILL: &str = "Demo till";

/// A random PIN of `len` digits that the PIN rules accept (no runs, not all one digit).
pub fn random_pin(len: usize) -> String {
    let mut rng = rand::rngs::OsRng;
    loop {
        let pin: String = (0..len)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        if storefort_core::pos_device_rules::check_pin(&pin).is_ok() {
            return pin;
        }
    }
}

/// What the demo prints about its till.
pub struct DemoTill {
    /// Lines to print.
    pub lines: Vec<String>,
}

/// Make the demo cashier and PINs (first run), and a pairing code while the till is unpaired.
pub async fn demo_pos(db: &Db, owner_email: &str, fresh: bool) -> CliResult<DemoTill> {
    let mut lines = Vec::new();
    if db.user_by_email(DEMO_CASHIER).await?.is_none() {
        let pw = storefort_crypto::password::generate();
        let score = storefort_crypto::password::check_policy(&pw, &[])?;
        let hash =
            tokio::task::spawn_blocking(move || storefort_crypto::password::hash(&pw)).await??;
        let cashier = db
            .create_user(DEMO_CASHIER, "Casey Cashier", "cashier", &hash, score)
            .await?;
        let pin = random_pin(4);
        db.set_pin(&cashier.id.0, &pin, "cli").await?;
        lines.push(format!(
            "  Cashier PIN: Casey Cashier / {pin}   (shown once; managers reset PINs on the Staff page)"
        ));
        if let Some(owner) = db.user_by_email(owner_email).await? {
            let pin = random_pin(6);
            db.set_pin(&owner.id.0, &pin, "cli").await?;
            lines.push(format!(
                "  Owner PIN:   Demo Owner / {pin}   (approves discounts, refunds and cash counts at the till)"
            ));
        }
        setup::audit_cli(
            db,
            "pos.pin_set",
            DEMO_CASHIER,
            "demo cashier and owner PINs set",
        )
        .await?;
    } else if !fresh {
        lines.push(
            "  Cashier PIN: shown when this demo was created (reset it on the Staff page)".into(),
        );
    }
    let devices = db.pos_devices().await?;
    let till = devices
        .iter()
        .find(|d| d.name == DEMO_TILL && d.status != "revoked");
    let code = match till {
        Some(d) if d.status == "active" => None,
        Some(d) => Some(db.new_pairing_code(&d.id, "cli").await?),
        None => {
            let location = db
                .locations()
                .await?
                .into_iter()
                .find(|l| l.name == "High Street shop")
                .or(db.locations().await?.into_iter().next())
                .ok_or("the demo has no location for its till")?;
            let (_, code) = db
                .register_device(DEMO_TILL, location.id.as_str(), "cli")
                .await?;
            Some(code)
        }
    };
    match code {
        Some(code) => {
            setup::audit_cli(
                db,
                "pos.pairing_code",
                DEMO_TILL,
                "demo pairing code printed",
            )
            .await?;
            lines.push(format!(
                "  Till pairing code: {}-{}   (open the POS address and type it; works once, for 15 minutes)",
                &code[..4.min(code.len())],
                &code[4.min(code.len())..]
            ));
        }
        None => lines.push(format!(
            "  Till: {DEMO_TILL:?} is paired; pair another with `storefort device add --name NAME`"
        )),
    }
    Ok(DemoTill { lines })
}
