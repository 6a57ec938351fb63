//! The `.sfbak` file: age( zstd( tar[ manifest.json, parts... ] ) ). Writing and reading both
//! stream through fixed-size buffers, so memory stays flat whatever the database size.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{Manifest, MANIFEST_ENTRY};
use crate::progress::Progress;
use crate::BackupError;

/// zstd level 3: the library default, a good speed/size balance for database pages.
const ZSTD_LEVEL: i32 = 3;
/// A manifest is a few hundred bytes; anything bigger is not ours.
const MANIFEST_MAX: u64 = 1 << 20;
/// Copy buffer size.
const BUF: usize = 64 * 1024;

/// Marks an I/O error that came from reading a part file (not from writing the backup), so it
/// is not reported as "the disk is full while writing".
#[derive(Debug)]
struct ReadingPart(String);

impl std::fmt::Display for ReadingPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadingPart {}

/// Reads a part file, hashing and counting what passes through and reporting progress.
struct Hashing<'a, R> {
    inner: R,
    path: &'a Path,
    hash: Sha256,
    count: u64,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                ReadingPart(format!("reading {}: {e}", self.path.display())),
            )
        })?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

/// Encrypt `manifest` and the part files it lists (found in `parts_dir`) into `out`. Returns
/// the inner writer once age has written its final chunk; the caller fsyncs it.
pub fn write<W: Write>(
    out: W,
    recipients: &[age::x25519::Recipient],
    manifest: &Manifest,
    parts_dir: &Path,
    progress: &dyn Progress,
) -> Result<W, BackupError> {
    if recipients.is_empty() {
        return Err(BackupError::Invalid(
            "no backup recipient: add one to backup.recipients (see `storefort backup new-identity`)"
                .into(),
        ));
    }
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| BackupError::Invalid(format!("backup.recipients: {e}")))?;
    let total = manifest.parts.iter().map(|p| p.size).sum();
    progress.start("encrypt", Some(total));
    let result = write_inner(encryptor, out, manifest, parts_dir, progress);
    progress.finish();
    result.map_err(|e| match e {
        Failure::Backup(b) => b,
        Failure::Io(e) if is_reading_part(&e) => BackupError::Io(e),
        Failure::Io(e) if is_disk_full(&e) => BackupError::DiskFull {
            path: "the backup file".into(),
        },
        Failure::Io(e) => BackupError::writing(Path::new("the backup file"), e),
    })
}

enum Failure {
    Backup(BackupError),
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

fn is_reading_part(e: &io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<ReadingPart>().is_some())
}

/// ENOSPC, also when a layer (age writes its header through its own error type) wrapped it.
fn is_disk_full(e: &io::Error) -> bool {
    let full =
        |e: &io::Error| e.kind() == io::ErrorKind::StorageFull || e.raw_os_error() == Some(28);
    if full(e) {
        return true;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(s) = source {
        if s.downcast_ref::<io::Error>().is_some_and(full) {
            return true;
        }
        source = s.source();
    }
    // age keeps the original error only in its Debug text.
    format!("{e:?}").contains("StorageFull")
}

fn write_inner<W: Write>(
    encryptor: age::Encryptor,
    out: W,
    manifest: &Manifest,
    parts_dir: &Path,
    progress: &dyn Progress,
) -> Result<W, Failure> {
    let sealed = encryptor.wrap_output(WholeWrites(out))?;
    let mut zstd = zstd::stream::write::Encoder::new(sealed, ZSTD_LEVEL)?;
    zstd.include_checksum(true)?;
    let mut tar = tar::Builder::new(zstd);
    let mtime = u64::try_from(manifest.created_at / 1000).unwrap_or(0);
    let json = serde_json::to_vec_pretty(manifest)
        .map_err(|e| Failure::Backup(BackupError::Invalid(format!("manifest: {e}"))))?;
    tar.append_data(
        &mut header(json.len() as u64, mtime),
        MANIFEST_ENTRY,
        json.as_slice(),
    )?;
    for part in &manifest.parts {
        let path = parts_dir.join(&part.name);
        let file = File::open(&path).map_err(|e| {
            Failure::Backup(BackupError::Io(io::Error::new(
                e.kind(),
                format!("reading {}: {e}", path.display()),
            )))
        })?;
        let on_disk = file.metadata()?.len();
        if on_disk != part.size {
            return Err(changed(&path));
        }
        let mut reader = Hashing {
            inner: BufReader::with_capacity(BUF, file).take(part.size),
            path: &path,
            hash: Sha256::new(),
            count: 0,
            progress,
        };
        tar.append_data(&mut header(part.size, mtime), &part.name, &mut reader)?;
        // The manifest's checksum was taken from this file just before; a difference means it
        // changed underneath us and the archive would not match its own manifest.
        if reader.count != part.size || hex::encode(reader.hash.finalize()) != part.sha256 {
            return Err(changed(&path));
        }
    }
    let zstd = tar.into_inner()?;
    let sealed = zstd.finish()?;
    Ok(sealed.finish()?.0)
}

/// Turns a short write into either a complete write or the error behind it: age writes its
/// header through a serializer that reports a short write as "buffer too small", hiding a
/// full disk.
struct WholeWrites<W>(W);

impl<W: Write> Write for WholeWrites<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn changed(path: &Path) -> Failure {
    Failure::Backup(BackupError::Invalid(format!(
        "{} changed while the backup was being written; nothing was kept, run the backup again",
        path.display()
    )))
}

fn header(size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o600);
    h.set_mtime(mtime);
    h
}

/// Decrypt and unpack a backup into `into_dir`: the manifest is read and checked against
/// `known_schema` before anything is extracted; each part is written to `into_dir/<name>` and
/// its size and SHA-256 checked. Extracted files are removed again on any failure.
pub fn read<R: Read>(
    input: R,
    identities: &[age::x25519::Identity],
    known_schema: usize,
    into_dir: &Path,
    progress: &dyn Progress,
) -> Result<Manifest, BackupError> {
    let decryptor = age::Decryptor::new_buffered(BufReader::with_capacity(BUF, input))
        .map_err(decrypt_error)?;
    let plain = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(decrypt_error)?;
    let zstd = zstd::stream::read::Decoder::new(plain).map_err(corrupt)?;
    let mut tar = tar::Archive::new(zstd);
    let mut written: Vec<PathBuf> = Vec::new();
    let result = unpack(&mut tar, known_schema, into_dir, progress, &mut written);
    let result = result.and_then(|m| {
        // Read to the very end so a file cut after the last tar block is still caught by
        // age's final-chunk check and zstd's frame checksum.
        io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(corrupt)?;
        Ok(m)
    });
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn unpack<R: Read>(
    tar: &mut tar::Archive<R>,
    known_schema: usize,
    into_dir: &Path,
    progress: &dyn Progress,
    written: &mut Vec<PathBuf>,
) -> Result<Manifest, BackupError> {
    // Raw entries: GNU long names and PAX headers are not read into memory (a crafted header
    // of gigabytes would be); they show up as entries of their own and are refused below.
    let mut entries = tar.entries().map_err(corrupt)?.raw(true);
    let mut first = entries
        .next()
        .ok_or_else(|| BackupError::Corrupt("the archive is empty".into()))?
        .map_err(corrupt)?;
    if first.header().entry_type() != tar::EntryType::Regular
        || entry_name(&first)? != MANIFEST_ENTRY
        || first.header().size().map_err(corrupt)? > MANIFEST_MAX
    {
        return Err(BackupError::Corrupt(
            "it does not start with a storefort manifest".into(),
        ));
    }
    let mut json = Vec::new();
    (&mut first)
        .take(MANIFEST_MAX)
        .read_to_end(&mut json)
        .map_err(corrupt)?;
    drop(first);
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| BackupError::Corrupt(format!("its manifest is unreadable: {e}")))?;
    manifest.check_supported(known_schema)?;
    let total = manifest.parts.iter().map(|p| p.size).sum();
    progress.start("decrypt", Some(total));
    let mut buf = vec![0u8; BUF];
    for part in &manifest.parts {
        let mut entry = entries
            .next()
            .ok_or_else(|| BackupError::Corrupt(format!("{} is missing", part.name)))?
            .map_err(corrupt)?;
        if entry_name(&entry)? != part.name
            || entry.header().entry_type() != tar::EntryType::Regular
            || entry.header().size().map_err(corrupt)? != part.size
        {
            return Err(BackupError::Corrupt(format!(
                "expected {} ({} bytes) next in the archive",
                part.name, part.size
            )));
        }
        let path = into_dir.join(&part.name);
        // The plaintext database: readable by this user only.
        let mut out = private_file(&path).map_err(|e| BackupError::writing(&path, e))?;
        written.push(path.clone());
        let mut hash = Sha256::new();
        let mut count = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(corrupt)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            count += n as u64;
            out.write_all(&buf[..n])
                .map_err(|e| BackupError::writing(&path, e))?;
            progress.advance(n as u64);
        }
        out.sync_all().map_err(|e| BackupError::writing(&path, e))?;
        if count != part.size || hex::encode(hash.finalize()) != part.sha256 {
            return Err(BackupError::Corrupt(format!(
                "{} does not match its checksum",
                part.name
            )));
        }
    }
    if let Some(extra) = entries.next() {
        let name = extra.map_err(corrupt).and_then(|e| entry_name(&e))?;
        return Err(BackupError::Corrupt(format!(
            "it holds an unexpected entry {name:?}"
        )));
    }
    progress.finish();
    Ok(manifest)
}

fn entry_name<R: Read>(e: &tar::Entry<'_, R>) -> Result<String, BackupError> {
    let bytes = e.path_bytes();
    String::from_utf8(bytes.into_owned())
        .map_err(|_| BackupError::Corrupt("an entry has a garbled name".into()))
}

fn corrupt(e: io::Error) -> BackupError {
    BackupError::Corrupt(e.to_string())
}

fn decrypt_error(e: age::DecryptError) -> BackupError {
    match e {
        age::DecryptError::NoMatchingKeys => BackupError::WrongIdentity,
        age::DecryptError::InvalidHeader | age::DecryptError::UnknownFormat => {
            BackupError::Corrupt("it is not a storefort backup (no age header)".into())
        }
        other => BackupError::Corrupt(other.to_string()),
    }
}

/// Create (or truncate) a file only its owner can read (0600).
pub(crate) fn private_file(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// SHA-256 (lowercase hex) and size of a file, read in a stream.
pub fn sha256_file(path: &Path) -> Result<(String, u64), BackupError> {
    let mut file = File::open(path).map_err(|e| {
        BackupError::Io(io::Error::new(
            e.kind(),
            format!("reading {}: {e}", path.display()),
        ))
    })?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; BUF];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hash.finalize()), size))
}
