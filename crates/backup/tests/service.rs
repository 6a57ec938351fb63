//! The backup service end to end on real databases: create to every destination (local, and S3
//! on moto when available), the S3 endpoint going away mid-upload, a damaged stored copy,
//! retention, settings, status, audit and the scheduler.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod moto;

use std::io::Read;
use std::sync::{Arc, Mutex};

use storefort_backup::dest::Destination;
use storefort_backup::progress::NoProgress;
use storefort_backup::schedule::{tick, TickOutcome};
use storefort_backup::service::BackupService;
use storefort_backup::settings::{
    BackupConfig, BackupSettings, BackupStatus, DestinationConfig, DestinationKind,
};
use storefort_backup::BackupError;
use storefort_store::audit::AuditFilter;
use storefort_store::{Db, ManualClock};

const HOUR: i64 = 3_600_000;

fn local(name: &str, path: &str) -> DestinationConfig {
    DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Local { path: path.into() },
    }
}

fn url_of(t: &common::TestDb) -> String {
    match t.name {
        // pg_dump connects with it; SQLite snapshots go through the pool.
        "postgres" => std::env::var("STOREFORT_TEST_POSTGRES_URL").unwrap(),
        _ => "sqlite://unused".into(),
    }
}

struct Setup {
    svc: BackupService,
    identity: age::x25519::Identity,
    base: tempfile::TempDir,
}

async fn service(db: &Db, url: String, destinations: Vec<DestinationConfig>) -> Setup {
    let kit = storefort_backup::keys::new_identity();
    let base = tempfile::tempdir().unwrap();
    let cfg = BackupConfig {
        recipients: vec![kit.recipient],
        destinations,
    };
    // S3 secrets come from the vault, as in production.
    db.set_secret("backup.offsite.secret_access_key", moto::SECRET)
        .await
        .unwrap();
    let svc = BackupService::new(
        db.clone(),
        url,
        "Test Shop".into(),
        base.path().join("work"),
        &cfg,
        base.path(),
    )
    .await
    .unwrap();
    Setup {
        svc,
        identity: kit.identity.parse().unwrap(),
        base,
    }
}

async fn audited(db: &Db, action: &str) -> Vec<storefort_store::audit::AuditEntry> {
    db.audit_entries(&AuditFilter {
        action: Some(action.into()),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Make the database a few MB of incompressible data, so uploads take many packets.
async fn bulk_up(db: &Db, bytes: usize) {
    let mut raw = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut raw)
        .unwrap();
    db.set_setting("test.bulk", &hex::encode(raw))
        .await
        .unwrap();
}

#[tokio::test]
async fn create_stores_a_readable_backup_on_every_destination() {
    let moto = moto::start().await;
    if let Some(m) = &moto {
        m.bucket("everywhere").await;
    }
    for t in common::backends().await {
        let mut dests = vec![local("local", "backups")];
        if let Some(m) = &moto {
            dests.push(moto::Moto::dest("offsite", "everywhere", m.addr));
        }
        let s = service(&t.db, url_of(&t), dests).await;
        let r = s
            .svc
            .create("owner@example.com", &NoProgress)
            .await
            .unwrap();
        for (d, res) in &r.destinations {
            assert!(res.is_ok(), "{}: {d}: {res:?}", t.name);
        }
        assert_eq!(r.destinations.len(), s.svc.destinations().len());
        assert!(r.failures().is_none());

        for (d, list) in s.svc.list().await {
            let list = list.unwrap();
            assert_eq!(list[0].name, r.name, "{d}");
            assert_eq!(list[0].size, r.size, "{d}");
        }
        // The stored copy is a real backup: it decrypts with the kit and holds the database.
        let stored = s.base.path().join("backups").join(&r.name);
        let out = s.base.path().join("unpacked");
        std::fs::create_dir(&out).unwrap();
        let m = storefort_backup::archive::read(
            std::fs::File::open(&stored).unwrap(),
            std::slice::from_ref(&s.identity),
            t.db.known_migrations(),
            &out,
            &NoProgress,
        )
        .unwrap();
        assert_eq!(m.source.shop_name, "Test Shop");
        assert!(out.join(&m.parts[0].name).exists());
        assert_eq!(
            storefort_backup::dest::parse_name(&r.name),
            Some(m.created_at / 1000 * 1000)
        );

        // Nothing left in the work directory.
        let left: Vec<_> = std::fs::read_dir(s.base.path().join("work"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{}: {left:?}", t.name);

        let st = BackupStatus::load(&t.db).await.unwrap();
        assert_eq!(st.last_success_name.as_deref(), Some(r.name.as_str()));
        assert!(st.last_attempt_at.is_some() && st.last_failure_at.is_none());
        let a = audited(&t.db, "backup.created").await;
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].actor.as_str(), a[0].target.as_str()),
            ("owner@example.com", r.name.as_str())
        );

        let check = s.svc.check_latest().await.unwrap();
        assert!(check.ok(), "{}", check.note());
        if moto.is_some() {
            // Leave the bucket clean for the next backend.
            for d in s.svc.destinations() {
                d.delete(&r.name).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn s3_going_away_mid_upload_fails_that_destination_only() {
    let Some(moto) = moto::start().await else {
        return;
    };
    moto.bucket("cut").await;
    let t = common::backends().await.remove(0);
    bulk_up(&t.db, 3 * 1024 * 1024).await;
    let proxy = moto::CuttingProxy::start(moto.addr, 1024 * 1024).await;
    let s = service(
        &t.db,
        url_of(&t),
        vec![
            local("local", "backups"),
            moto::Moto::dest("offsite", "cut", proxy.addr),
        ],
    )
    .await;

    let r = s.svc.create("system", &NoProgress).await.unwrap();
    assert!(
        r.size > 2 * 1024 * 1024,
        "the backup is bigger than the cut: {}",
        r.size
    );
    assert_eq!(r.destinations[0], ("local".to_string(), Ok(())));
    let (name, res) = &r.destinations[1];
    let why = res.as_ref().unwrap_err();
    assert_eq!(name, "offsite");
    assert!(why.contains("not stored"), "{why}");
    let forwarded = proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        forwarded > 1024 * 1024 && (forwarded as u64) < r.size,
        "cut mid-upload: {forwarded}"
    );

    // Nothing in the bucket, nothing listed there; the local copy is good.
    assert!(moto.keys("cut").await.is_empty());
    let direct = moto::Moto::dest("offsite", "cut", moto.addr);
    let direct = Destination::open(&direct, s.base.path(), Some(moto::SECRET.into())).unwrap();
    assert!(direct.list().await.unwrap().is_empty());
    let local = s.svc.destination("local").unwrap();
    let b = local.list().await.unwrap().remove(0);
    local.check(&b).await.unwrap();

    // The owner sees that the off-site copy failed.
    let st = BackupStatus::load(&t.db).await.unwrap();
    assert_eq!(st.last_success_name.as_deref(), Some(r.name.as_str()));
    let reason = st.last_failure_reason.unwrap();
    assert!(
        reason.contains("offsite") && reason.contains(&r.name),
        "{reason}"
    );
    let a = audited(&t.db, "backup.created").await;
    assert!(
        a[0].details.contains("offsite") && a[0].details.contains("\"ok\":[\"local\"]"),
        "{}",
        a[0].details
    );
}

#[tokio::test]
async fn a_backup_no_destination_took_is_a_failure() {
    let t = common::backends().await.remove(0);
    let s = service(&t.db, url_of(&t), vec![local("local", "backups")]).await;
    // The directory is replaced by a file: nothing can be written there.
    let dir = s.base.path().join("backups");
    std::fs::remove_dir(&dir).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let e = s.svc.create("system", &NoProgress).await.unwrap_err();
    assert!(
        matches!(e, BackupError::Destination { ref name, .. } if name == "local"),
        "{e:?}"
    );
    let st = BackupStatus::load(&t.db).await.unwrap();
    assert!(st.last_success_at.is_none());
    assert!(st.last_failure_reason.unwrap().contains("local"));
    assert_eq!(audited(&t.db, "backup.failed").await.len(), 1);
    let left: Vec<_> = std::fs::read_dir(s.base.path().join("work"))
        .unwrap()
        .collect();
    assert!(
        left.is_empty(),
        "temp files removed on failure too: {left:?}"
    );
}

#[tokio::test]
async fn a_hand_corrupted_stored_file_fails_check_latest_naming_it() {
    let t = common::backends().await.remove(0);
    let s = service(
        &t.db,
        url_of(&t),
        vec![local("local", "a"), local("usb", "b")],
    )
    .await;
    let r = s.svc.create("system", &NoProgress).await.unwrap();
    assert!(s.svc.check_latest().await.unwrap().ok());
    assert_eq!(
        BackupStatus::load(&t.db).await.unwrap().last_check_ok,
        Some(true)
    );

    let stored = s.base.path().join("b").join(&r.name);
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x80;
    std::fs::write(&stored, &bytes).unwrap();

    let c = s.svc.check_latest().await.unwrap();
    assert!(!c.ok());
    assert_eq!(c.destinations[0], ("local".to_string(), Ok(r.name.clone())));
    let why = c.destinations[1].1.as_ref().unwrap_err();
    assert!(why.contains(&r.name) && why.contains("damaged"), "{why}");
    let st = BackupStatus::load(&t.db).await.unwrap();
    assert_eq!(st.last_check_ok, Some(false));
    assert!(st
        .last_check_note
        .unwrap()
        .contains(&format!("usb: {} is damaged", r.name)));
}

#[tokio::test]
async fn retention_prunes_every_destination() {
    let moto = moto::start().await;
    if let Some(m) = &moto {
        m.bucket("prune").await;
    }
    let clock = Arc::new(ManualClock::new(1_767_571_200_000)); // Monday 2026-01-05
    let t = common::backends_with_clock(clock.clone()).await.remove(0);
    let mut dests = vec![local("local", "a"), local("usb", "b")];
    if let Some(m) = &moto {
        dests.push(moto::Moto::dest("offsite", "prune", m.addr));
    }
    let s = service(&t.db, url_of(&t), dests).await;
    BackupSettings {
        keep_hourly: 3,
        keep_daily: 0,
        keep_weekly: 0,
        ..BackupSettings::default()
    }
    .save(&t.db)
    .await
    .unwrap();
    let mut names = Vec::new();
    for _ in 0..5 {
        names.push(s.svc.create("system", &NoProgress).await.unwrap().name);
        clock.advance(HOUR);
    }
    // An interrupted upload from long ago, and one that may still be running.
    let stale = storefort_backup::dest::backup_name(1_000_000_000_000);
    let fresh = storefort_backup::dest::backup_name(1_100_000_000_000);
    for n in [&stale, &fresh] {
        std::fs::write(s.base.path().join("a").join(n), b"partial").unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(s.base.path().join("a").join(&stale))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();

    let p = s.svc.prune().await.unwrap();
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let per_dest = s.svc.destinations().len();
    assert_eq!(p.deleted.len(), 2 * per_dest + 1, "{:?}", p.deleted);
    assert!(p.deleted.contains(&("local".into(), stale.clone())));
    for (d, list) in s.svc.list().await {
        let kept: Vec<String> = list.unwrap().into_iter().map(|b| b.name).collect();
        let want: Vec<String> = names[2..].iter().rev().cloned().collect();
        assert_eq!(kept, want, "{d}");
    }
    assert!(s.base.path().join("a").join(&fresh).exists());
    let a = audited(&t.db, "backup.pruned").await;
    assert_eq!(a.len(), 1);
    assert!(a[0].details.contains(&names[0]), "{}", a[0].details);
    // Nothing more to do: no second audit.
    assert!(s.svc.prune().await.unwrap().deleted.is_empty());
    assert_eq!(audited(&t.db, "backup.pruned").await.len(), 1);
}

#[tokio::test]
async fn settings_are_validated_by_field_and_kept_in_the_database() {
    let t = common::backends().await.remove(0);
    assert_eq!(
        BackupSettings::load(&t.db).await.unwrap(),
        BackupSettings::default()
    );
    let cases = [
        (
            BackupSettings {
                interval_minutes: 4,
                ..Default::default()
            },
            "interval_minutes",
        ),
        (
            BackupSettings {
                interval_minutes: 1441,
                ..Default::default()
            },
            "interval_minutes",
        ),
        (
            BackupSettings {
                keep_hourly: 1001,
                ..Default::default()
            },
            "keep_hourly",
        ),
        (
            BackupSettings {
                keep_daily: 5000,
                ..Default::default()
            },
            "keep_daily",
        ),
        (
            BackupSettings {
                keep_weekly: u32::MAX,
                ..Default::default()
            },
            "keep_weekly",
        ),
    ];
    for (bad, field) in cases {
        let e = bad.save(&t.db).await.unwrap_err();
        assert!(matches!(e, BackupError::Invalid(_)));
        assert!(e.to_string().starts_with(field), "{field}: {e}");
    }
    assert_eq!(
        BackupSettings::load(&t.db).await.unwrap(),
        BackupSettings::default()
    );
    let good = BackupSettings {
        interval_minutes: 5,
        keep_hourly: 0,
        keep_daily: 1000,
        keep_weekly: 2,
    };
    good.save(&t.db).await.unwrap();
    assert_eq!(BackupSettings::load(&t.db).await.unwrap(), good);

    BackupStatus::record_verify(&t.db, false, "row counts differ")
        .await
        .unwrap();
    let st = BackupStatus::load(&t.db).await.unwrap();
    assert_eq!(
        (st.last_verify_ok, st.last_verify_note.as_deref()),
        (Some(false), Some("row counts differ"))
    );
    assert!(st.last_verify_at.is_some());
}

#[tokio::test]
async fn no_recipient_is_refused_and_one_backup_runs_at_a_time() {
    let t = common::backends().await.remove(0);
    let base = tempfile::tempdir().unwrap();
    let cfg = BackupConfig {
        recipients: vec![],
        destinations: vec![local("local", "b")],
    };
    let e = BackupService::new(
        t.db.clone(),
        url_of(&t),
        "S".into(),
        base.path().join("w"),
        &cfg,
        base.path(),
    )
    .await
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("storefort backup new-identity"),
        "{e}"
    );

    let s = service(&t.db, url_of(&t), vec![local("local", "b")]).await;
    let (a, b) = tokio::join!(
        s.svc.create("system", &NoProgress),
        s.svc.create("system", &NoProgress)
    );
    assert!(a.is_ok());
    assert!(b.unwrap_err().to_string().contains("already running"));
}

#[tokio::test]
async fn the_scheduler_backs_up_when_due_and_tells_the_owner_about_failures() {
    let clock = Arc::new(ManualClock::new(1_767_571_200_000));
    let t = common::backends_with_clock(clock.clone()).await.remove(0);
    let s = service(&t.db, url_of(&t), vec![local("local", "b")]).await;
    let told = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = told.clone();
    let on_failure = move |m: String| sink.lock().unwrap().push(m);

    let first = tick(&s.svc, &on_failure).await.unwrap();
    let TickOutcome::Ran {
        create,
        prune,
        check,
    } = first
    else {
        panic!("first tick backs up")
    };
    assert!(create.is_ok() && prune.is_some());
    assert!(check.unwrap().ok(), "the first tick also checks");
    assert!(matches!(
        tick(&s.svc, &on_failure).await.unwrap(),
        TickOutcome::NotDue
    ));
    clock.advance(59 * 60_000);
    assert!(matches!(
        tick(&s.svc, &on_failure).await.unwrap(),
        TickOutcome::NotDue
    ));
    clock.advance(60_000);
    let TickOutcome::Ran { create, check, .. } = tick(&s.svc, &on_failure).await.unwrap() else {
        panic!("due after the interval")
    };
    assert!(create.is_ok());
    assert!(check.is_none(), "checked once a day");
    assert!(told.lock().unwrap().is_empty());

    // The destination breaks: the next scheduled backup fails and the owner is told.
    let dir = s.base.path().join("b");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    clock.advance(HOUR);
    let TickOutcome::Ran { create, .. } = tick(&s.svc, &on_failure).await.unwrap() else {
        panic!()
    };
    assert!(create.is_err());
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 1);
    assert!(
        told[0].starts_with("The scheduled backup failed") && told[0].contains("local"),
        "{told:?}"
    );
}
