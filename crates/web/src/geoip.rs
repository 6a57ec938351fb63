//! The country of a shopper's IP address, from a GeoIP database in MaxMind's mmdb format that
//! the owner configures (GeoLite2-Country, GeoIP2-Country or City, DB-IP's country lite...).
//! Optional: without one, the "IP country differs from billing country" signal stays silent.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{PathElement, Reader};

/// An opened GeoIP database (read into memory once at start).
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
    /// The file it was read from.
    pub path: String,
    /// The database's type as its metadata says ("GeoLite2-Country").
    pub kind: String,
    /// Built, UTC seconds (from the metadata).
    pub built_at: u64,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish()
    }
}

impl GeoIp {
    /// Open a database; the error says what is wrong with the file.
    pub fn open(path: &Path) -> Result<GeoIp, String> {
        let reader = Reader::open_readfile(path)
            .map_err(|e| format!("cannot read GeoIP database {}: {e}", path.display()))?;
        let kind = reader.metadata().database_type.clone();
        let built_at = reader.metadata().build_epoch;
        Ok(GeoIp {
            reader,
            path: path.display().to_string(),
            kind,
            built_at,
        })
    }

    /// ISO country code (`GB`) of an address; `None` when the database has no answer (private
    /// and loopback addresses, unknown networks).
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip).ok()?;
        let code: Option<String> = found
            .decode_path(&[PathElement::Key("country"), PathElement::Key("iso_code")])
            .ok()
            .flatten();
        code.filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()))
            .map(|c| c.to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_db() -> GeoIp {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geoip-test.mmdb");
        GeoIp::open(&p).unwrap()
    }

    #[test]
    fn looks_up_countries_from_the_generated_test_database() {
        let g = test_db();
        assert_eq!(g.kind, "storefort-test-Country");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(g.country(ip("81.2.69.160")).as_deref(), Some("GB"));
        assert_eq!(g.country(ip("216.160.83.56")).as_deref(), Some("US"));
        assert_eq!(g.country(ip("2a02:8010::1")).as_deref(), Some("GB"));
        // Loopback, private and unknown networks have no answer.
        assert_eq!(g.country(ip("127.0.0.1")), None);
        assert_eq!(g.country(ip("10.1.2.3")), None);
        assert_eq!(g.country(ip("8.8.8.8")), None);
    }

    #[test]
    fn a_file_that_is_not_a_geoip_database_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broken.mmdb");
        std::fs::write(&p, b"not a database").unwrap();
        let e = GeoIp::open(&p).unwrap_err();
        assert!(e.contains("broken.mmdb"), "{e}");
        let missing = GeoIp::open(&dir.path().join("missing.mmdb")).unwrap_err();
        assert!(missing.contains("missing.mmdb"), "{missing}");
    }
}
