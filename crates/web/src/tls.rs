//! TLS with rustls only (TLS 1.2 and 1.3, ring provider): certificates from PEM files, a
//! self-signed certificate for localhost/demo, or automatic ACME (TLS-ALPN-01).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

/// TLS set-up failures, with the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// Certificate generation failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The crypto provider every TLS config here uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Read a certificate chain and private key from PEM files.
pub fn load_pem(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let cert_bytes = std::fs::read(cert).map_err(io_err(cert))?;
    let chain = rustls_pemfile::certs(&mut cert_bytes.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_err(cert))?;
    if chain.is_empty() {
        return Err(TlsError::Pem(format!(
            "{}: no certificate found",
            cert.display()
        )));
    }
    let key_bytes = std::fs::read(key).map_err(io_err(key))?;
    let key_der = rustls_pemfile::private_key(&mut key_bytes.as_slice())
        .map_err(io_err(key))?
        .ok_or_else(|| TlsError::Pem(format!("{}: no private key found", key.display())))?;
    Ok((chain, key_der))
}

/// A server config for a fixed certificate: TLS 1.2 + 1.3, ALPN h2 and http/1.1.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// Paths of the self-signed certificate kept in the data dir.
pub fn self_signed_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join("tls/self-signed.crt"),
        dir.join("tls/self-signed.key"),
    )
}

/// Load the self-signed certificate from `dir/tls`, creating (or renewing, when it has less
/// than 30 days left) a one-year certificate for `names`.
pub fn self_signed(dir: &Path, names: &[String]) -> Result<(PathBuf, PathBuf), TlsError> {
    let (cert, key) = self_signed_paths(dir);
    let fresh = std::fs::read(&cert)
        .ok()
        .and_then(|pem| cert_info(&pem).ok())
        .is_some_and(|i| i.days_left(now_secs()) > 30);
    if fresh && key.exists() {
        return Ok((cert, key));
    }
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir).map_err(io_err(&tls_dir))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "storefort self-signed");
    let now = time_now();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(365);
    let key_pair = rcgen::KeyPair::generate()?;
    let c = params.self_signed(&key_pair)?;
    write_private(&key, key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert, c.pem()).map_err(io_err(&cert))?;
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(now_secs())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What `doctor` needs to know about a certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Not valid before (Unix seconds).
    pub not_before: i64,
    /// Not valid after (Unix seconds).
    pub not_after: i64,
    /// Issuer equals subject.
    pub self_signed: bool,
    /// DNS names it covers.
    pub names: Vec<String>,
}

impl CertInfo {
    /// Whole days until expiry (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// Parse the first certificate of a PEM file.
pub fn cert_info(pem: &[u8]) -> Result<CertInfo, TlsError> {
    let der = rustls_pemfile::certs(&mut &pem[..])
        .next()
        .ok_or_else(|| TlsError::Pem("no certificate in PEM".into()))?
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CertInfo {
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: cert.issuer() == cert.subject(),
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_created_once_and_parses() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_string()];
        let (cert, key) = self_signed(dir.path(), &names).unwrap();
        let first = std::fs::read(&cert).unwrap();
        let info = cert_info(&first).unwrap();
        assert!(info.self_signed);
        assert_eq!(info.names, names);
        assert!((360..=366).contains(&info.days_left(now_secs())));
        self_signed(dir.path(), &names).unwrap();
        assert_eq!(
            std::fs::read(&cert).unwrap(),
            first,
            "reused, not regenerated"
        );
        let (chain, k) = load_pem(&cert, &key).unwrap();
        assert!(server_config(chain, k).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(
            matches!(load_pem(&key, &key), Err(TlsError::Pem(_))),
            "a key is not a certificate"
        );
    }
}
