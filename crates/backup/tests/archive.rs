//! The `.sfbak` format: round trip, and every kind of bad file refused with the right error and
//! nothing left extracted: truncated, flipped bytes, wrong identity, newer storefort, bad tar
//! layouts; a full disk while writing; memory flat for a large part.

use std::io::{self, Read, Write};
use std::path::Path;

use storefort_backup::archive;
use storefort_backup::keys::{self, NewIdentity};
use storefort_backup::manifest::{Manifest, Part, Source, FORMAT_VERSION, STOREFORT_VERSION};
use storefort_backup::progress::NoProgress;
use storefort_backup::BackupError;

fn ids(n: &NewIdentity) -> (age::x25519::Recipient, age::x25519::Identity) {
    (
        keys::parse_recipient(&n.recipient).unwrap(),
        n.identity.parse().unwrap(),
    )
}

/// Deterministic, partly compressible bytes (like database pages: some text, some noise).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 512 < 256 {
                b"storefort "[i % 10]
            } else {
                x as u8
            }
        })
        .collect()
}

/// A parts dir holding `database.sqlite` with `content`, and a manifest describing it.
fn parts(dir: &Path, content: &[u8], schema: usize) -> Manifest {
    let path = dir.join("database.sqlite");
    std::fs::write(&path, content).unwrap();
    let (sha256, size) = archive::sha256_file(&path).unwrap();
    Manifest {
        format_version: FORMAT_VERSION,
        storefort_version: STOREFORT_VERSION.into(),
        schema_version: schema,
        created_at: 1_763_750_000_000,
        source: Source {
            engine: "sqlite".into(),
            pg_schema: None,
            shop_name: "Test Shop".into(),
            host: "test".into(),
        },
        parts: vec![Part {
            name: "database.sqlite".into(),
            size,
            sha256,
        }],
    }
}

fn sealed(content: &[u8], schema: usize) -> (Vec<u8>, Manifest, NewIdentity) {
    let src = tempfile::tempdir().unwrap();
    let m = parts(src.path(), content, schema);
    let n = keys::new_identity();
    let (r, _) = ids(&n);
    let out = archive::write(Vec::new(), &[r], &m, src.path(), &NoProgress).unwrap();
    (out, m, n)
}

fn open(file: &[u8], n: &NewIdentity, known: usize, into: &Path) -> Result<Manifest, BackupError> {
    let (_, id) = ids(n);
    archive::read(file, &[id], known, into, &NoProgress)
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_backup_round_trips_and_is_compressed_and_encrypted() {
    let content = bytes(1 << 20, 7);
    let (file, m, n) = sealed(&content, 5);
    assert!(file.starts_with(b"age-encryption.org/v1\n"), "binary age");
    assert!(file.len() < content.len() * 3 / 4, "zstd: {}", file.len());
    assert!(
        !file.windows(10).any(|w| w == b"storefort "),
        "plaintext leaked"
    );
    let out = tempfile::tempdir().unwrap();
    let got = open(&file, &n, 5, out.path()).unwrap();
    assert_eq!(got, m);
    assert_eq!(
        std::fs::read(out.path().join("database.sqlite")).unwrap(),
        content
    );
    // A second recipient opens it too (the 3-2-1 kit held by a partner).
    let src = tempfile::tempdir().unwrap();
    let m = parts(src.path(), &content, 5);
    let (a, b) = (keys::new_identity(), keys::new_identity());
    let file = archive::write(
        Vec::new(),
        &[ids(&a).0, ids(&b).0],
        &m,
        src.path(),
        &NoProgress,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    assert_eq!(open(&file, &b, 5, out.path()).unwrap(), m);
}

#[test]
fn a_truncated_file_is_corrupt_at_every_cut_and_nothing_is_left() {
    let (file, _, n) = sealed(&bytes(300_000, 3), 5);
    let len = file.len();
    for cut in [
        0,
        10,
        60,
        200,
        300,
        len / 3,
        len / 2,
        len - 100,
        len - 17,
        len - 1,
    ] {
        let out = tempfile::tempdir().unwrap();
        match open(&file[..cut], &n, 5, out.path()) {
            Err(BackupError::Corrupt(_)) => {}
            other => panic!("cut at {cut} of {len}: expected Corrupt, got {other:?}"),
        }
        assert!(entries(out.path()).is_empty(), "cut at {cut} left files");
    }
}

#[test]
fn a_flipped_byte_in_the_payload_is_corrupt() {
    let (file, _, n) = sealed(&bytes(300_000, 4), 5);
    // The header (recipient stanza + MAC) ends at the first "\n---" line; flip after it.
    let header_end = file.windows(4).position(|w| w == b"\n---").unwrap() + 50;
    for at in [header_end + 20, file.len() / 2, file.len() - 10] {
        let mut bad = file.clone();
        bad[at] ^= 0x01;
        let out = tempfile::tempdir().unwrap();
        let e = open(&bad, &n, 5, out.path()).unwrap_err();
        assert!(matches!(e, BackupError::Corrupt(_)), "flip at {at}: {e:?}");
        assert!(e.to_string().contains("damaged or incomplete"), "{e}");
        assert!(entries(out.path()).is_empty());
    }
    // Garbage that is not an age file at all.
    let out = tempfile::tempdir().unwrap();
    let e = open(b"PK\x03\x04 definitely a zip file", &n, 5, out.path()).unwrap_err();
    assert!(matches!(e, BackupError::Corrupt(_)), "{e:?}");
}

#[test]
fn another_identity_is_refused_as_the_wrong_kit() {
    let (file, _, _) = sealed(&bytes(10_000, 5), 5);
    let out = tempfile::tempdir().unwrap();
    let e = open(&file, &keys::new_identity(), 5, out.path()).unwrap_err();
    assert!(matches!(e, BackupError::WrongIdentity), "{e:?}");
    assert!(e.to_string().contains("different key"), "{e}");
    assert!(entries(out.path()).is_empty());
}

#[test]
fn a_backup_from_a_newer_storefort_is_refused_before_anything_is_extracted() {
    let (file, _, n) = sealed(&bytes(10_000, 6), 9);
    let out = tempfile::tempdir().unwrap();
    let e = open(&file, &n, 8, out.path()).unwrap_err();
    assert!(matches!(e, BackupError::TooNew { schema: 9, .. }), "{e:?}");
    assert!(entries(out.path()).is_empty());

    let src = tempfile::tempdir().unwrap();
    let mut m = parts(src.path(), b"x", 1);
    m.format_version = FORMAT_VERSION + 1;
    m.storefort_version = "9.0.0".into();
    let file = archive::write(Vec::new(), &[ids(&n).0], &m, src.path(), &NoProgress).unwrap();
    let e = open(&file, &n, 8, out.path()).unwrap_err();
    assert!(
        e.to_string().contains("install storefort 9.0.0 or newer"),
        "{e}"
    );
    assert!(entries(out.path()).is_empty());
}

/// Tar entries: (name, bytes).
type Entries<'a> = Vec<(&'a str, &'a [u8])>;

/// A hand-made archive (the right encryption and compression) with the given tar entries.
fn handmade(n: &NewIdentity, entries: &[(&str, &[u8])]) -> Vec<u8> {
    let enc = age::Encryptor::with_recipients(std::iter::once(&ids(n).0 as _)).unwrap();
    let w = enc.wrap_output(Vec::new()).unwrap();
    let z = zstd::stream::write::Encoder::new(w, 3).unwrap();
    let mut tar = tar::Builder::new(z);
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        // `append_data` refuses `..`; write the raw name like a hostile archive would.
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    tar.into_inner()
        .unwrap()
        .finish()
        .unwrap()
        .finish()
        .unwrap()
}

#[test]
fn extra_missing_renamed_or_tampered_entries_are_corrupt() {
    let n = keys::new_identity();
    let src = tempfile::tempdir().unwrap();
    let m = parts(src.path(), b"database bytes", 1);
    let json = serde_json::to_vec(&m).unwrap();
    let mut evil = m.clone();
    evil.parts[0].name = "x".into();
    let evil_json = serde_json::to_vec(&evil).unwrap();
    let cases: Vec<(&str, Entries)> = vec![
        (
            "no manifest first",
            vec![("database.sqlite", b"database bytes")],
        ),
        ("missing part", vec![("manifest.json", &json)]),
        (
            "extra entry",
            vec![
                ("manifest.json", &json),
                ("database.sqlite", b"database bytes"),
                ("../../etc/cron.d/x", b"* * * * * root sh"),
            ],
        ),
        (
            "renamed part",
            vec![
                ("manifest.json", &json),
                ("../database.sqlite", b"database bytes"),
            ],
        ),
        (
            "tampered part",
            vec![
                ("manifest.json", &json),
                ("database.sqlite", b"database bytez"),
            ],
        ),
        (
            "part not in order",
            vec![
                ("manifest.json", &evil_json),
                ("database.sqlite", b"database bytes"),
            ],
        ),
        ("manifest not json", vec![("manifest.json", b"{nope")]),
    ];
    for (what, es) in cases {
        let file = handmade(&n, &es);
        let out = tempfile::tempdir().unwrap();
        let e = open(&file, &n, 5, out.path()).unwrap_err();
        assert!(matches!(e, BackupError::Corrupt(_)), "{what}: {e:?}");
        assert!(entries(out.path()).is_empty(), "{what}: files left");
    }
    // The honest version of the same archive opens.
    let file = handmade(
        &n,
        &[
            ("manifest.json", &json),
            ("database.sqlite", b"database bytes"),
        ],
    );
    let out = tempfile::tempdir().unwrap();
    assert_eq!(open(&file, &n, 5, out.path()).unwrap(), m);
}

#[test]
fn a_part_that_changed_after_the_manifest_is_refused() {
    let src = tempfile::tempdir().unwrap();
    let m = parts(src.path(), b"original bytes", 1);
    std::fs::write(src.path().join("database.sqlite"), b"modified bytes").unwrap();
    let r = ids(&keys::new_identity()).0;
    let e = archive::write(Vec::new(), &[r], &m, src.path(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("changed while the backup"), "{e}");
}

/// A disk that fills up after `room` bytes.
#[derive(Debug)]
struct FullDisk {
    room: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_disk_while_writing_says_so() {
    let src = tempfile::tempdir().unwrap();
    let m = parts(src.path(), &bytes(2 << 20, 9), 1);
    let r = ids(&keys::new_identity()).0;
    for room in [0, 100, 70_000, 500_000] {
        let e = archive::write(
            FullDisk { room },
            std::slice::from_ref(&r),
            &m,
            src.path(),
            &NoProgress,
        )
        .unwrap_err();
        assert!(
            matches!(e, BackupError::DiskFull { .. }),
            "room {room}: {e:?}"
        );
        assert!(e.to_string().contains("disk is full"), "{e}");
    }
}

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn memory_stays_flat_for_a_large_part() {
    const SIZE: u64 = 160 << 20;
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    // Write the part in 1 MiB pieces so building it does not itself raise the peak.
    let path = src.join("database.sqlite");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = bytes(1 << 20, 11);
    for i in 0..(SIZE >> 20) {
        f.write_all(&chunk[..(1 << 20) - 8]).unwrap();
        f.write_all(&i.to_le_bytes()).unwrap();
    }
    drop(f);
    let other = tempfile::tempdir().unwrap();
    let mut m = parts(other.path(), b"", 1);
    let (sha256, size) = archive::sha256_file(&path).unwrap();
    m.parts[0].size = size;
    m.parts[0].sha256 = sha256.clone();
    let before = vm_hwm_kb();
    let n = keys::new_identity();
    let file = dir.path().join("big.sfbak");
    let out = std::fs::File::create(&file).unwrap();
    archive::write(out, &[ids(&n).0], &m, &src, &NoProgress).unwrap();
    std::fs::remove_file(&path).unwrap();
    let into = dir.path().join("into");
    std::fs::create_dir(&into).unwrap();
    let mut input = std::fs::File::open(&file).unwrap();
    let mut magic = [0u8; 3];
    input.read_exact(&mut magic).unwrap();
    assert_eq!(&magic, b"age");
    let input = std::fs::File::open(&file).unwrap();
    archive::read(input, &[ids(&n).1], 1, &into, &NoProgress).unwrap();
    let grew_mb = vm_hwm_kb().saturating_sub(before) / 1024;
    assert_eq!(
        archive::sha256_file(&into.join("database.sqlite")).unwrap(),
        (sha256, SIZE)
    );
    assert!(
        grew_mb < 50,
        "peak memory grew by {grew_mb} MB for a 160 MB part"
    );
}
