//! The manifest: what a backup holds and who made it. It is the first entry of the archive, so
//! a backup from a newer storefort is refused before anything else is unpacked.

use serde::{Deserialize, Serialize};

use crate::BackupError;

/// The archive layout this build writes and reads. A higher number is refused.
pub const FORMAT_VERSION: u32 = 1;

/// The storefort version that made a backup (this build's, when writing).
pub const STOREFORT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The archive entry name of the manifest.
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The archive layout ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The storefort version that made it.
    pub storefort_version: String,
    /// How many migrations the database had applied.
    pub schema_version: usize,
    /// When the snapshot was taken (UTC milliseconds).
    pub created_at: i64,
    /// Where it came from.
    pub source: Source,
    /// The files in the archive after the manifest, in order.
    pub parts: Vec<Part>,
}

/// Where a backup came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// The PostgreSQL schema that was dumped (`public` for most shops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_schema: Option<String>,
    /// The shop's name, to tell backups of several shops apart.
    pub shop_name: String,
    /// The machine's host name.
    pub host: String,
}

/// One file in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Its entry name (`database.sqlite` or `database.pgdump`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// Refuse a backup this build cannot restore: a newer archive format, or a database schema
    /// with more migrations than this build knows (`known_schema`).
    pub fn check_supported(&self, known_schema: usize) -> Result<(), BackupError> {
        if self.format_version > FORMAT_VERSION || self.schema_version > known_schema {
            return Err(BackupError::TooNew {
                made_by: self.storefort_version.clone(),
                format: self.format_version,
                schema: self.schema_version,
                ours: STOREFORT_VERSION.to_string(),
            });
        }
        if self.parts.is_empty() {
            return Err(BackupError::Corrupt(
                "the manifest lists no database".into(),
            ));
        }
        for p in &self.parts {
            let safe = !p.name.is_empty()
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
                && !p.name.starts_with('.');
            if !safe || p.sha256.len() != 64 {
                return Err(BackupError::Corrupt(format!(
                    "the manifest lists a bad part {:?}",
                    p.name
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            storefort_version: STOREFORT_VERSION.into(),
            schema_version: 7,
            created_at: 1,
            source: Source {
                engine: "sqlite".into(),
                pg_schema: None,
                shop_name: "Shop".into(),
                host: "h".into(),
            },
            parts: vec![Part {
                name: "database.sqlite".into(),
                size: 1,
                sha256: "a".repeat(64),
            }],
        }
    }

    #[test]
    fn newer_format_or_schema_is_refused_with_the_version_to_install() {
        assert!(sample().check_supported(7).is_ok());
        let mut m = sample();
        m.schema_version = 8;
        m.storefort_version = "9.1.0".into();
        let e = m.check_supported(7).unwrap_err().to_string();
        assert!(e.contains("install storefort 9.1.0 or newer"), "{e}");
        let mut m = sample();
        m.format_version = FORMAT_VERSION + 1;
        assert!(matches!(
            m.check_supported(7),
            Err(BackupError::TooNew { .. })
        ));
    }

    #[test]
    fn path_tricks_in_part_names_are_refused() {
        for bad in ["../x", "/etc/passwd", ".hidden", "a/b", ""] {
            let mut m = sample();
            m.parts[0].name = bad.into();
            assert!(m.check_supported(7).is_err(), "{bad}");
        }
    }
}
