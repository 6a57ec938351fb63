//! POS devices, cashier PINs and POS settings on both engines: pairing codes are single use
//! (even raced), expire and are stored only hashed; revoked devices are recognised so they can
//! be wiped; cashier sessions respect remote sign-out and the idle lock; PINs are keyed hashes,
//! lock after five wrong tries (even raced) and refuse easy PINs; settings refuse out-of-range
//! numbers and change nothing.

mod common;

use std::sync::Arc;

use storefort_core::catalog::{LocationInput, LocationKind};
use storefort_core::pos_device_rules::PosSettings;
use storefort_store::pos_devices::{DeviceAuth, PAIRING_TTL_MS};
use storefort_store::pos_pins::{PinCheck, PIN_TRIES};
use storefort_store::{Db, ManualClock, StoreError};

const MINUTE: i64 = 60_000;

async fn location(db: &Db) -> String {
    db.create_location(LocationInput {
        name: "High Street".into(),
        kind: LocationKind::Shop,
    })
    .await
    .unwrap()
    .id
    .as_str()
    .to_string()
}

async fn staff(db: &Db, email: &str, name: &str, role: &str) -> String {
    db.create_user(email, name, role, "$argon2id$not-used-here", 4)
        .await
        .unwrap()
        .id
        .0
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

fn field_of(e: &StoreError) -> (&'static str, String) {
    match e {
        StoreError::Invalid(v) => ("invalid", v.field.clone()),
        StoreError::State { field, .. } => ("state", field.clone()),
        other => panic!("unexpected error {other:?}"),
    }
}

/// An active device at a new location, plus its credential.
async fn paired(db: &Db) -> (String, String) {
    let loc = location(db).await;
    let (d, code) = db
        .register_device("Front till", &loc, "owner")
        .await
        .unwrap();
    let (_, cred) = db.pair_device(&code, "1.0.0").await.unwrap();
    (d.id, cred)
}

#[tokio::test]
async fn register_pair_expire_reuse_and_bad_input() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let loc = location(db).await;
        let (d, code) = db
            .register_device(" Front till ", &loc, "owner")
            .await
            .unwrap();
        assert_eq!(
            (d.name.as_str(), d.status.as_str()),
            ("Front till", "pending")
        );
        assert_eq!(d.location_name, "High Street");
        assert_eq!(d.pairing_expires_at, Some(db.now() + PAIRING_TTL_MS));
        assert_eq!(code.len(), 8, "{}", t.name);
        let stored: String = sqlx::query_scalar("SELECT pairing_hash FROM pos_devices")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert!(!stored.contains(&code), "only the code's hash is stored");

        // Typed in lowercase, grouped 4-4: still the code.
        let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
        let (dev, cred) = db.pair_device(&typed, "1.2.3").await.unwrap();
        assert_eq!(
            (dev.status.as_str(), dev.app_version.as_str()),
            ("active", "1.2.3")
        );
        assert_eq!(dev.pairing_expires_at, None);
        match db.device_by_credential(&cred).await.unwrap() {
            DeviceAuth::Active(a) => assert_eq!(a.id, d.id),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            db.device_by_credential("junk").await.unwrap(),
            DeviceAuth::Unknown
        );

        // Reused: the hash was cleared on use, so the code is unknown.
        let e = db.pair_device(&code, "1.0").await.unwrap_err();
        assert_eq!(field_of(&e), ("invalid", "code".into()), "{}", t.name);
        assert!(e.to_string().contains("No device is waiting"), "{e}");

        // Expired: refused as expired, device still pending.
        let (d2, code2) = db
            .register_device("Back till", &loc, "owner")
            .await
            .unwrap();
        clock.advance(PAIRING_TTL_MS + 1);
        let e = db.pair_device(&code2, "1.0").await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "code".into()), "{}", t.name);
        assert!(e.to_string().contains("expired"), "{e}");
        assert_eq!(db.pos_device(&d2.id).await.unwrap().status, "pending");

        // A new code works (and the list: newest first).
        let code3 = db.new_pairing_code(&d2.id, "owner").await.unwrap();
        db.pair_device(&code3, "1.0").await.unwrap();
        let list: Vec<String> = db
            .pos_devices()
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(list, ["Back till", "Front till"]);

        // Bad input names the field and writes nothing.
        let before = count(db, "SELECT COUNT(*) FROM pos_devices").await;
        for (name, loc_id, field) in [
            ("", loc.as_str(), "name"),
            (&"x".repeat(61), loc.as_str(), "name"),
            ("Till", "not-an-id", "location_id"),
            (
                "Till",
                "0190aaaa-aaaa-7aaa-8aaa-aaaaaaaaaaaa",
                "location_id",
            ),
        ] {
            let e = db.register_device(name, loc_id, "owner").await.unwrap_err();
            assert_eq!(field_of(&e), ("invalid", field.into()));
        }
        assert_eq!(count(db, "SELECT COUNT(*) FROM pos_devices").await, before);
        for bad in ["", "ABC", "OOOOOOOO", "ABCDEFGHJ"] {
            let e = db.pair_device(bad, "1.0").await.unwrap_err();
            assert_eq!(field_of(&e), ("invalid", "code".into()), "{bad}");
        }
        let e = db.pair_device(&code3, &"9".repeat(41)).await.unwrap_err();
        assert_eq!(field_of(&e), ("invalid", "app_version".into()));
        let e = db.touch_device(&d.id, "1.0", -1).await.unwrap_err();
        assert_eq!(field_of(&e), ("invalid", "queued".into()));
        db.touch_device(&d.id, "1.3.0", 2).await.unwrap();
        let seen = db.pos_device(&d.id).await.unwrap();
        assert_eq!((seen.app_version.as_str(), seen.queued_sales), ("1.3.0", 2));
        assert!(matches!(
            db.pos_device("nope").await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn one_code_raced_gives_exactly_one_credential() {
    for t in common::backends().await {
        let db = &t.db;
        let loc = location(db).await;
        let (_, code) = db.register_device("Till", &loc, "owner").await.unwrap();
        let tries = (0..8).map(|_| {
            let (db, code) = (db.clone(), code.clone());
            tokio::spawn(async move { db.pair_device(&code, "1.0").await })
        });
        let results = futures::future::join_all(tries).await;
        let wins = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(wins, 1, "{}", t.name);
        for r in results.into_iter().map(|r| r.unwrap()) {
            if let Err(e) = r {
                assert_eq!(field_of(&e), ("invalid", "code".into()));
            }
        }
        let creds = count(
            db,
            "SELECT COUNT(*) FROM pos_devices WHERE credential_hash IS NOT NULL",
        );
        assert_eq!(creds.await, 1);
    }
}

#[tokio::test]
async fn revoke_and_repair() {
    for t in common::backends().await {
        let db = &t.db;
        let (id, cred) = paired(db).await;
        let cashier = staff(db, "cara@shop.test", "Cara", "cashier").await;
        db.start_cashier(&id, &cashier).await.unwrap();

        // Re-pairing: the old credential stops at once, the device waits for the new code.
        let code = db.new_pairing_code(&id, "owner").await.unwrap();
        assert_eq!(
            db.device_by_credential(&cred).await.unwrap(),
            DeviceAuth::Unknown
        );
        let d = db.pos_device(&id).await.unwrap();
        assert_eq!(
            (d.status.as_str(), d.cashier_id.as_deref()),
            ("pending", None)
        );
        let (_, cred2) = db.pair_device(&code, "2.0").await.unwrap();
        assert!(matches!(
            db.device_by_credential(&cred2).await.unwrap(),
            DeviceAuth::Active(_)
        ));

        assert_eq!(
            db.device_by_credential(&cred).await.unwrap(),
            DeviceAuth::Unknown
        );

        // Revoke, even in the middle of a re-pair: the last credential is recognised as
        // revoked (so the device wipes itself), the pending code dies.
        let spare = db.new_pairing_code(&id, "owner").await.unwrap();
        assert_eq!(
            db.device_by_credential(&cred2).await.unwrap(),
            DeviceAuth::Unknown
        );
        let r = db.revoke_device(&id, "owner").await.unwrap();
        assert_eq!(r.status, "revoked");
        assert!(r.revoked_at.is_some() && r.pairing_expires_at.is_none());
        // The spare code died with the revocation.
        let e = db.pair_device(&spare, "2.0").await.unwrap_err();
        assert_eq!(field_of(&e), ("invalid", "code".into()));
        match db.device_by_credential(&cred2).await.unwrap() {
            DeviceAuth::Revoked(d) => assert_eq!((d.id, d.cashier_id), (id.clone(), None)),
            other => panic!("{other:?}"),
        }
        // Revocation is per device.
        let (_, other) = paired_at(db, "Kiosk").await;
        assert!(matches!(
            db.device_by_credential(&other).await.unwrap(),
            DeviceAuth::Active(_)
        ));
        let e = db.revoke_device(&id, "owner").await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "status".into()), "{}", t.name);
        let e = db.new_pairing_code(&id, "owner").await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "status".into()));
        let e = db.touch_device(&id, "1", 0).await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "status".into()));
        let list = db.pos_devices().await.unwrap();
        assert_eq!(
            list.first().map(|d| d.status.as_str()),
            Some("active"),
            "revoked last"
        );
        assert_eq!(list.last().map(|d| d.status.as_str()), Some("revoked"));
        assert!(matches!(
            db.revoke_device("nope", "owner").await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

async fn location_named(db: &Db, name: &str) -> String {
    let l = LocationInput {
        name: name.into(),
        kind: LocationKind::Shop,
    };
    db.create_location(l).await.unwrap().id.as_str().to_string()
}

async fn paired_at(db: &Db, name: &str) -> (String, String) {
    let loc = location_named(db, name).await;
    let (d, code) = db.register_device(name, &loc, "owner").await.unwrap();
    let (_, cred) = db.pair_device(&code, "1.0.0").await.unwrap();
    (d.id, cred)
}

#[tokio::test]
async fn cashier_sessions_sign_out_and_idle_lock() {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    for t in common::backends_with_clock(clock.clone()).await {
        let db = &t.db;
        let (id, _) = paired(db).await;
        let cara = staff(db, "cara@shop.test", "Cara", "cashier").await;
        let idle = 5 * MINUTE;

        let tok = db.start_cashier(&id, &cara).await.unwrap();
        let d = db.pos_device(&id).await.unwrap();
        assert_eq!(d.cashier_name.as_deref(), Some("Cara"));
        assert_eq!(
            db.cashier_on_device(&id, &tok, idle, true).await.unwrap(),
            Some(cara.clone())
        );
        assert_eq!(
            db.cashier_on_device(&id, "other", idle, true)
                .await
                .unwrap(),
            None
        );

        // Touching keeps it alive; untouched for longer than the window locks it for good.
        clock.advance(4 * MINUTE);
        assert!(db
            .cashier_on_device(&id, &tok, idle, true)
            .await
            .unwrap()
            .is_some());
        clock.advance(4 * MINUTE);
        assert!(db
            .cashier_on_device(&id, &tok, idle, false)
            .await
            .unwrap()
            .is_some());
        clock.advance(2 * MINUTE);
        assert_eq!(
            db.cashier_on_device(&id, &tok, idle, true).await.unwrap(),
            None
        );
        assert_eq!(
            db.cashier_on_device(&id, &tok, 60 * MINUTE, true)
                .await
                .unwrap(),
            None,
            "an idle-expired token was cleared, a longer window does not revive it"
        );
        let d = db.pos_device(&id).await.unwrap();
        assert_eq!(
            d.cashier_id.as_deref(),
            Some(cara.as_str()),
            "still the current cashier"
        );

        // Remote sign-out clears the cashier; a second one is a 409.
        let tok = db.start_cashier(&id, &cara).await.unwrap();
        let d = db.sign_out_cashier(&id).await.unwrap();
        assert_eq!((d.cashier_id, d.cashier_since), (None, None));
        assert_eq!(
            db.cashier_on_device(&id, &tok, idle, true).await.unwrap(),
            None
        );
        let e = db.sign_out_cashier(&id).await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "cashier".into()), "{}", t.name);

        // Another cashier taking over ends the first one's token.
        let dan = staff(db, "dan@shop.test", "Dan", "manager").await;
        let tok_c = db.start_cashier(&id, &cara).await.unwrap();
        let tok_d = db.start_cashier(&id, &dan).await.unwrap();
        assert_eq!(
            db.cashier_on_device(&id, &tok_c, idle, true).await.unwrap(),
            None
        );
        assert_eq!(
            db.cashier_on_device(&id, &tok_d, idle, true).await.unwrap(),
            Some(dan.clone())
        );

        // Lock keeps the cashier shown; end clears both.
        db.lock_device(&id).await.unwrap();
        assert_eq!(
            db.cashier_on_device(&id, &tok_d, idle, true).await.unwrap(),
            None
        );
        assert_eq!(
            db.pos_device(&id).await.unwrap().cashier_id,
            Some(dan.clone())
        );
        let tok_d = db.start_cashier(&id, &dan).await.unwrap();
        db.end_cashier(&id).await.unwrap();
        assert_eq!(
            db.cashier_on_device(&id, &tok_d, idle, true).await.unwrap(),
            None
        );
        assert_eq!(db.pos_device(&id).await.unwrap().cashier_id, None);

        // A disabled account's session ends; it cannot start a new one.
        let tok_d = db.start_cashier(&id, &dan).await.unwrap();
        db.set_disabled(&dan, true).await.unwrap();
        assert_eq!(
            db.cashier_on_device(&id, &tok_d, idle, true).await.unwrap(),
            None
        );
        let e = db.start_cashier(&id, &dan).await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "cashier_id".into()));

        // Revoking signs the cashier out.
        let tok = db.start_cashier(&id, &cara).await.unwrap();
        db.revoke_device(&id, "owner").await.unwrap();
        assert_eq!(
            db.cashier_on_device(&id, &tok, idle, true).await.unwrap(),
            None
        );
        let e = db.start_cashier(&id, &cara).await.unwrap_err();
        assert_eq!(field_of(&e), ("state", "status".into()));
    }
}

#[tokio::test]
async fn pins_verify_lock_after_five_and_reset() {
    for t in common::backends().await {
        let db = &t.db;
        let cara = staff(db, "cara@shop.test", "Cara", "cashier").await;
        let owner = staff(db, "olive@shop.test", "Olive", "owner").await;
        assert_eq!(db.verify_pin(&cara, "2580").await.unwrap(), PinCheck::NoPin);
        db.set_pin(&cara, "2580", &cara).await.unwrap();
        assert_eq!(db.verify_pin(&cara, "2580").await.unwrap(), PinCheck::Ok);
        assert_eq!(
            db.verify_pin(&cara, "9999").await.unwrap(),
            PinCheck::Wrong { tries_left: 4 }
        );
        // A right PIN resets the count.
        assert_eq!(db.verify_pin(&cara, "2580").await.unwrap(), PinCheck::Ok);
        for left in (1..PIN_TRIES).rev() {
            let r = db.verify_pin(&cara, "1357").await.unwrap();
            assert_eq!(r, PinCheck::Wrong { tries_left: left }, "{}", t.name);
        }
        assert_eq!(
            db.verify_pin(&cara, "1357").await.unwrap(),
            PinCheck::Locked
        );
        assert_eq!(
            db.verify_pin(&cara, "2580").await.unwrap(),
            PinCheck::Locked,
            "right PIN too"
        );
        let list = db.pos_cashiers().await.unwrap();
        let c = list.iter().find(|p| p.user_id == cara).unwrap();
        assert!(c.has_pin && c.locked);
        let o = list.iter().find(|p| p.user_id == owner).unwrap();
        assert!(!o.has_pin && !o.locked);
        assert_eq!(
            list.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["Cara", "Olive"]
        );

        // A manager's reset unlocks.
        db.set_pin(&cara, "4680", &owner).await.unwrap();
        assert_eq!(
            db.verify_pin(&cara, "2580").await.unwrap(),
            PinCheck::Wrong { tries_left: 4 }
        );
        assert_eq!(db.verify_pin(&cara, "4680").await.unwrap(), PinCheck::Ok);
        let set_by: String = sqlx::query_scalar("SELECT set_by FROM pos_pins WHERE user_id = $1")
            .bind(&cara)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(set_by, owner);

        // Disabled accounts are not cashiers and their PIN is not checked.
        db.set_disabled(&cara, true).await.unwrap();
        assert_eq!(
            db.verify_pin(&cara, "4680").await.unwrap(),
            PinCheck::Disabled
        );
        assert!(db
            .pos_cashiers()
            .await
            .unwrap()
            .iter()
            .all(|p| p.user_id != cara));
        db.set_disabled(&cara, false).await.unwrap();

        db.remove_pin(&cara).await.unwrap();
        assert_eq!(db.verify_pin(&cara, "4680").await.unwrap(), PinCheck::NoPin);
        assert!(matches!(
            db.remove_pin(&cara).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            db.verify_pin("nobody", "2580").await,
            Err(StoreError::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn parallel_wrong_guesses_never_get_more_than_five_tries() {
    for t in common::backends().await {
        let db = &t.db;
        let cara = staff(db, "cara@shop.test", "Cara", "cashier").await;
        db.set_pin(&cara, "2580", &cara).await.unwrap();
        let guesses = (0..10).map(|i| {
            let (db, cara) = (db.clone(), cara.clone());
            tokio::spawn(async move { db.verify_pin(&cara, &format!("{:04}", 3000 + i)).await })
        });
        let results: Vec<PinCheck> = futures::future::join_all(guesses)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap())
            .collect();
        let wrong = results
            .iter()
            .filter(|r| matches!(r, PinCheck::Wrong { .. }))
            .count();
        let locked = results.iter().filter(|r| **r == PinCheck::Locked).count();
        assert_eq!((wrong, locked), (4, 6), "{}: {results:?}", t.name);
        let failed = count(db, "SELECT failed_count FROM pos_pins").await;
        assert_eq!(failed, PIN_TRIES);
        assert_eq!(
            db.verify_pin(&cara, "2580").await.unwrap(),
            PinCheck::Locked
        );
    }
}

#[tokio::test]
async fn bad_pins_are_refused_and_hashes_are_keyed() {
    for t in common::backends().await {
        let db = &t.db;
        let a = staff(db, "ann@shop.test", "Ann", "cashier").await;
        let b = staff(db, "bob@shop.test", "Bob", "cashier").await;
        for bad in ["1234", "0000", "12", "abcd", "123456789", "98765", ""] {
            let e = db.set_pin(&a, bad, &a).await.unwrap_err();
            assert_eq!(field_of(&e), ("invalid", "pin".into()), "{bad}");
        }
        assert_eq!(
            count(db, "SELECT COUNT(*) FROM pos_pins").await,
            0,
            "nothing saved"
        );
        assert!(matches!(
            db.set_pin("nobody", "2580", &a).await,
            Err(StoreError::NotFound { .. })
        ));

        db.set_pin(&a, "2580", &a).await.unwrap();
        db.set_pin(&b, "2580", &b).await.unwrap();
        let hashes: Vec<String> = sqlx::query_scalar("SELECT pin_hash FROM pos_pins")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(hashes.len(), 2);
        assert_ne!(hashes[0], hashes[1], "{}", t.name);
        for h in &hashes {
            assert!(h.starts_with("$argon2id$") && !h.contains("2580"), "{h}");
            // Keyed: the PIN on its own does not match (a copied database is not enough).
            assert!(!storefort_crypto::password::verify("2580", h).unwrap());
        }
    }
}

#[tokio::test]
async fn settings_default_validate_and_save() {
    for t in common::backends().await {
        let db = &t.db;
        assert_eq!(db.pos_settings().await.unwrap(), PosSettings::default());
        let s = PosSettings {
            idle_lock_minutes: 10,
            cashier_discount_limit_bp: 2_500,
            ..PosSettings::default()
        };
        assert_eq!(db.set_pos_settings(&s).await.unwrap(), s);
        for idle in [0, 16] {
            let bad = PosSettings {
                idle_lock_minutes: idle,
                ..s
            };
            let e = db.set_pos_settings(&bad).await.unwrap_err();
            assert_eq!(
                field_of(&e),
                ("invalid", "idle_lock_minutes".into()),
                "{}",
                t.name
            );
        }
        let bad = PosSettings {
            offline_grace_hours: 0,
            ..s
        };
        let e = db.set_pos_settings(&bad).await.unwrap_err();
        assert_eq!(field_of(&e), ("invalid", "offline_grace_hours".into()));
        assert_eq!(
            db.pos_settings().await.unwrap(),
            s,
            "refused changes saved nothing"
        );
        assert_eq!(db.pos_settings().await.unwrap().idle_ms(), 10 * MINUTE);
    }
}
