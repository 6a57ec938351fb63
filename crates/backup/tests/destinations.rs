//! Destinations on their own: a local directory always, S3 against moto on 127.0.0.1 (skipped
//! with a notice when moto is not installed, unless CI=true or STOREFORT_REQUIRE_MOTO=1).

mod moto;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use storefort_backup::dest::{backup_name, Destination};
use storefort_backup::progress::NoProgress;
use storefort_backup::settings::{BackupConfig, DestinationConfig, DestinationKind};
use storefort_backup::BackupError;

const MIB: usize = 1024 * 1024;

/// A file of `len` random bytes; its SHA-256 and size.
fn random_file(dir: &Path, len: usize) -> (PathBuf, String, u64) {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut bytes)
        .unwrap();
    let path = dir.join("upload.bin");
    std::fs::write(&path, &bytes).unwrap();
    let (sha, size) = storefort_backup::archive::sha256_file(&path).unwrap();
    (path, sha, size)
}

fn local(name: &str, path: &str) -> DestinationConfig {
    DestinationConfig {
        name: name.into(),
        kind: DestinationKind::Local { path: path.into() },
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Upload, list, fetch, stream, check and delete on one destination.
async fn round_trip(d: &Destination, work: &Path, len: usize) {
    let (file, sha, size) = random_file(work, len);
    let created = now_ms() / 1000 * 1000;
    let name = backup_name(created);
    d.upload(&file, &name, &sha, size, &NoProgress)
        .await
        .unwrap();

    let list = d.list().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0].name.as_str(),
            list[0].created_at,
            list[0].size,
            list[0].sha256.as_str()
        ),
        (name.as_str(), created, size, sha.as_str())
    );
    d.check(&list[0]).await.unwrap();

    let back = work.join("back.bin");
    d.fetch(&name, &back).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&file).unwrap());

    let (len_said, mut stream) = d.open_read(&name).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(len_said, size);
    assert_eq!(streamed, std::fs::read(&file).unwrap());

    d.delete(&name).await.unwrap();
    assert!(d.list().await.unwrap().is_empty());
    assert!(d.incomplete().await.unwrap().is_empty());
}

#[tokio::test]
async fn local_directory_round_trip_is_verified_and_private() {
    let base = tempfile::tempdir().unwrap();
    let d = Destination::open(&local("local", "backups/main"), base.path(), None).unwrap();
    assert!(!d.offsite);
    let dir = base.path().join("backups/main");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "backup directory is owner-only");
    round_trip(&d, base.path(), 3 * MIB + 17).await;
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "delete removes file and sidecar: {left:?}");
}

#[tokio::test]
async fn a_damaged_stored_file_fails_check_and_fetch_naming_it() {
    let base = tempfile::tempdir().unwrap();
    let d = Destination::open(&local("local", "b"), base.path(), None).unwrap();
    let (file, sha, size) = random_file(base.path(), 100_000);
    let name = backup_name(now_ms());
    d.upload(&file, &name, &sha, size, &NoProgress)
        .await
        .unwrap();
    let stored = base.path().join("b").join(&name);

    // One flipped byte, same size.
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[50_000] ^= 0x01;
    std::fs::write(&stored, &bytes).unwrap();
    let b = d.list().await.unwrap().remove(0);
    let e = d.check(&b).await.unwrap_err().to_string();
    assert!(
        e.contains(&name) && e.contains("damaged") && e.contains("local"),
        "{e}"
    );
    let out = base.path().join("fetched");
    let e = d.fetch(&name, &out).await.unwrap_err().to_string();
    assert!(e.contains(&name) && e.contains("damaged"), "{e}");
    assert!(!out.exists(), "a damaged download is not left behind");

    // Cut short: still listed (the sidecar says what it should be) and fails the check.
    std::fs::write(&stored, &bytes[..1000]).unwrap();
    let b = d.list().await.unwrap().remove(0);
    assert_eq!(b.size, size);
    let e = d.check(&b).await.unwrap_err().to_string();
    assert!(e.contains("1000 bytes"), "{e}");

    // Gone altogether.
    std::fs::remove_file(&stored).unwrap();
    let e = d.check(&b).await.unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
}

#[tokio::test]
async fn a_file_without_sidecar_is_never_listed_and_is_pruned_once_stale() {
    let base = tempfile::tempdir().unwrap();
    let d = Destination::open(&local("local", "b"), base.path(), None).unwrap();
    let dir = base.path().join("b");
    let fresh = backup_name(now_ms());
    let stale = backup_name(now_ms() - 3 * 3_600_000);
    for n in [&fresh, &stale] {
        std::fs::write(dir.join(n), b"half an upload").unwrap();
    }
    let f = std::fs::File::options()
        .write(true)
        .open(dir.join(&stale))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    // Not backups at all: ignored.
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();

    assert!(d.list().await.unwrap().is_empty());
    // The fresh one may still be uploading from another process: left alone.
    assert_eq!(d.incomplete().await.unwrap(), vec![stale.clone()]);
    // A garbage sidecar vouches for nothing; the file is still given its hour before it
    // counts as an interrupted upload.
    std::fs::write(dir.join(format!("{fresh}.sha256")), b"{not json").unwrap();
    assert!(d.list().await.unwrap().is_empty());
    assert_eq!(d.incomplete().await.unwrap(), vec![stale.clone()]);
    std::fs::File::options()
        .write(true)
        .open(dir.join(&fresh))
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 3600))
        .unwrap();
    assert_eq!(d.incomplete().await.unwrap().len(), 2);
}

#[tokio::test]
async fn names_from_users_are_checked_before_use() {
    let base = tempfile::tempdir().unwrap();
    let d = Destination::open(&local("local", "b"), base.path(), None).unwrap();
    std::fs::write(base.path().join("secret.sfbak"), b"x").unwrap();
    for bad in [
        "../secret.sfbak",
        "storefort-x.sfbak",
        "a/storefort-20260101T000000Z.sfbak",
    ] {
        assert!(
            matches!(d.delete(bad).await, Err(BackupError::Invalid(_))),
            "{bad}"
        );
        assert!(
            matches!(d.open_read(bad).await, Err(BackupError::Invalid(_))),
            "{bad}"
        );
        let to = base.path().join("out");
        assert!(
            matches!(d.fetch(bad, &to).await, Err(BackupError::Invalid(_))),
            "{bad}"
        );
        let up = d
            .upload(&base.path().join("secret.sfbak"), bad, "00", 1, &NoProgress)
            .await;
        assert!(matches!(up, Err(BackupError::Invalid(_))), "{bad}");
    }
    assert!(base.path().join("secret.sfbak").exists());
    // A well-formed name that was never stored.
    let e = d
        .fetch(&backup_name(0), &base.path().join("out"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no complete backup"), "{e}");
}

#[tokio::test]
async fn config_errors_name_the_field() {
    let s3 = |bucket: &str, endpoint: &str, allow_http: bool| DestinationConfig {
        name: "offsite".into(),
        kind: DestinationKind::S3 {
            bucket: bucket.into(),
            prefix: String::new(),
            region: None,
            endpoint: Some(endpoint.into()),
            access_key_id: Some("k".into()),
            allow_http,
        },
    };
    let recipient = storefort_backup::keys::new_identity().recipient;
    let cases: Vec<(BackupConfig, &str)> = vec![
        (
            BackupConfig {
                recipients: vec!["age1nope".into()],
                destinations: vec![local("a", "x")],
            },
            "backup.recipients",
        ),
        (
            BackupConfig {
                recipients: vec![recipient.clone()],
                destinations: vec![],
            },
            "backup.destinations",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![local("Main Disk", "x")],
            },
            "backup.destinations[0].name",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![local("a", "x"), local("a", "y")],
            },
            "backup.destinations[1].name",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![local("a", "")],
            },
            "backup.destinations[0].path",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![
                    local("a", "x"),
                    s3("Bad_Bucket", "https://s3.example.com", false),
                ],
            },
            "backup.destinations[1].bucket",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![s3("shop-backups", "http://10.0.0.5:9000", false)],
            },
            "backup.destinations[0].endpoint",
        ),
        (
            BackupConfig {
                recipients: vec![],
                destinations: vec![s3("shop-backups", "ftp://x", true)],
            },
            "backup.destinations[0].endpoint",
        ),
    ];
    for (cfg, field) in cases {
        let e = cfg.validate().unwrap_err();
        assert!(matches!(e, BackupError::Invalid(_)), "{e:?}");
        assert!(e.to_string().starts_with(field), "want {field}: {e}");
    }
    let good = BackupConfig {
        recipients: vec![recipient],
        destinations: vec![
            local("local", "b"),
            s3("shop-backups", "http://127.0.0.1:9000", true),
        ],
    };
    good.validate().unwrap();

    // An S3 destination without a secret says where to put it.
    let e = Destination::open(&good.destinations[1], Path::new("/tmp"), None).unwrap_err();
    assert!(
        e.to_string().contains("backup.offsite.secret_access_key"),
        "{e}"
    );
}

#[tokio::test]
async fn s3_round_trip_with_multipart_upload() {
    let Some(moto) = moto::start().await else {
        return;
    };
    moto.bucket("roundtrip").await;
    let work = tempfile::tempdir().unwrap();
    let cfg = moto::Moto::dest("offsite", "roundtrip", moto.addr);
    let d = Destination::open(&cfg, work.path(), Some(moto::SECRET.into())).unwrap();
    assert!(d.offsite);
    assert_eq!(d.location, "s3://roundtrip/shop1");

    // 20 MiB: three 8 MiB parts, the last one short.
    let (file, sha, size) = random_file(work.path(), 20 * MIB);
    let name = backup_name(now_ms());
    d.upload(&file, &name, &sha, size, &NoProgress)
        .await
        .unwrap();
    let mut keys = moto.keys("roundtrip").await;
    keys.sort();
    assert_eq!(
        keys,
        vec![format!("shop1/{name}"), format!("shop1/{name}.sha256")]
    );
    d.delete(&name).await.unwrap();
    assert!(moto.keys("roundtrip").await.is_empty());

    round_trip(&d, work.path(), 9 * MIB).await;
}

#[tokio::test]
async fn s3_endpoint_going_away_mid_upload_leaves_nothing_listed() {
    let Some(moto) = moto::start().await else {
        return;
    };
    moto.bucket("cut").await;
    let work = tempfile::tempdir().unwrap();
    let proxy = moto::CuttingProxy::start(moto.addr, 12 * MIB).await;
    let via_proxy = moto::Moto::dest("offsite", "cut", proxy.addr);
    let d = Destination::open(&via_proxy, work.path(), Some(moto::SECRET.into())).unwrap();
    let (file, sha, size) = random_file(work.path(), 20 * MIB);
    let name = backup_name(now_ms());

    let started = Instant::now();
    let e = d
        .upload(&file, &name, &sha, size, &NoProgress)
        .await
        .unwrap_err();
    let took = started.elapsed();
    let msg = e.to_string();
    assert!(
        matches!(e, BackupError::Destination { ref name, .. } if name == "offsite"),
        "{e:?}"
    );
    assert!(msg.contains(&name) && msg.contains("not stored"), "{msg}");
    assert!(took < Duration::from_secs(90), "gave up in time: {took:?}");
    let forwarded = proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        forwarded > 12 * MIB && forwarded < 20 * MIB,
        "cut mid-upload: {forwarded}"
    );

    // Straight to moto: nothing there, nothing listed.
    assert!(moto.keys("cut").await.is_empty());
    let direct = moto::Moto::dest("offsite", "cut", moto.addr);
    let direct = Destination::open(&direct, work.path(), Some(moto::SECRET.into())).unwrap();
    assert!(direct.list().await.unwrap().is_empty());
    // And the gone endpoint cannot be listed at all (not "empty, all fine").
    assert!(d.list().await.is_err());
}
