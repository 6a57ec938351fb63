//! The `.sfplugin` package: a tar archive of `manifest.json` and `plugin.wasm`, the module's
//! SHA-256 recorded in the manifest.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{Manifest, ManifestError};

/// Largest package accepted (the module and its manifest).
pub const MAX_PACKAGE_BYTES: usize = 8 * 1024 * 1024;
/// Largest manifest accepted.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024;

/// Why a package was refused.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Not a package, or one with something missing or extra.
    #[error("this is not a storefort plugin package: {0}")]
    NotAPackage(String),
    /// The manifest breaks a rule.
    #[error("the plugin's manifest is not valid: {0}")]
    Manifest(#[from] ManifestError),
    /// The module is not the one the manifest names.
    #[error("the module's SHA-256 is {actual}, but the manifest says {claimed}: the package was changed after it was built")]
    HashMismatch {
        /// In the manifest.
        claimed: String,
        /// Of the module.
        actual: String,
    },
    /// Reading a source file failed.
    #[error("{0}")]
    Io(String),
}

/// A package, read and checked.
#[derive(Debug, Clone)]
pub struct Package {
    /// Its manifest (validated, hash checked).
    pub manifest: Manifest,
    /// The module's bytes.
    pub wasm: Vec<u8>,
}

/// SHA-256 of some bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Package {
    /// Read a package file's bytes: exactly `manifest.json` and `plugin.wasm`, the manifest
    /// valid, the module's hash the one the manifest names.
    pub fn read(bytes: &[u8]) -> Result<Package, PackageError> {
        let not = |m: &str| PackageError::NotAPackage(m.to_string());
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(not("it is larger than 8 MB"));
        }
        let mut archive = tar::Archive::new(bytes);
        let entries = archive
            .entries()
            .map_err(|_| not("it is not a tar archive"))?;
        let (mut manifest, mut wasm) = (None, None);
        for entry in entries {
            let mut e = entry.map_err(|_| not("the archive is damaged"))?;
            if e.header().entry_type() != tar::EntryType::Regular {
                return Err(not("it holds something other than plain files"));
            }
            let path = e.path().map_err(|_| not("a file name is unreadable"))?;
            let name = path.to_string_lossy().to_string();
            let limit = match name.as_str() {
                "manifest.json" => MAX_MANIFEST_BYTES,
                "plugin.wasm" => MAX_PACKAGE_BYTES as u64,
                other => {
                    return Err(PackageError::NotAPackage(format!(
                        "unexpected file {other:?} (only manifest.json and plugin.wasm)"
                    )))
                }
            };
            let mut buf = Vec::new();
            (&mut e)
                .take(limit + 1)
                .read_to_end(&mut buf)
                .map_err(|_| not("the archive is damaged"))?;
            if buf.len() as u64 > limit {
                return Err(PackageError::NotAPackage(format!("{name} is too large")));
            }
            let slot = if name == "manifest.json" {
                &mut manifest
            } else {
                &mut wasm
            };
            if slot.replace(buf).is_some() {
                return Err(PackageError::NotAPackage(format!("{name} appears twice")));
            }
        }
        let manifest = manifest.ok_or_else(|| not("manifest.json is missing"))?;
        let wasm = wasm.ok_or_else(|| not("plugin.wasm is missing"))?;
        let manifest: Manifest = serde_json::from_slice(&manifest)
            .map_err(|e| PackageError::NotAPackage(format!("manifest.json: {e}")))?;
        manifest.validate()?;
        let actual = sha256_hex(&wasm);
        if actual != manifest.module_sha256 {
            return Err(PackageError::HashMismatch {
                claimed: manifest.module_sha256,
                actual,
            });
        }
        Ok(Package { manifest, wasm })
    }

    /// Build a package from a manifest (its `module_sha256` is filled in) and a module.
    pub fn build(mut manifest: Manifest, wasm: Vec<u8>) -> Result<Vec<u8>, PackageError> {
        manifest.module_sha256 = sha256_hex(&wasm);
        manifest.validate()?;
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| PackageError::Io(format!("manifest: {e}")))?;
        let mut out = tar::Builder::new(Vec::new());
        for (name, data) in [("manifest.json", &json), ("plugin.wasm", &wasm)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            out.append_data(&mut h, name, data.as_slice())
                .map_err(|e| PackageError::Io(e.to_string()))?;
        }
        out.into_inner()
            .map_err(|e| PackageError::Io(e.to_string()))
    }

    /// Build a package from a plugin's source folder: `manifest.json` (without the hash) and
    /// `plugin.wat` (compiled here) or `plugin.wasm`.
    pub fn build_dir(dir: &Path) -> Result<Vec<u8>, PackageError> {
        let io = |what: &Path, e: std::io::Error| {
            PackageError::Io(format!("cannot read {}: {e}", what.display()))
        };
        let mpath = dir.join("manifest.json");
        let text = std::fs::read(&mpath).map_err(|e| io(&mpath, e))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| PackageError::NotAPackage(format!("manifest.json: {e}")))?;
        let wat = dir.join("plugin.wat");
        let wasm = if wat.exists() {
            wat::parse_file(&wat).map_err(|e| PackageError::Io(format!("{e}")))?
        } else {
            let p = dir.join("plugin.wasm");
            std::fs::read(&p).map_err(|e| io(&p, e))?
        };
        Package::build(manifest, wasm)
    }
}
