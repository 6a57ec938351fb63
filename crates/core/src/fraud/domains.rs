//! Throwaway (disposable) email domains: a bundled list, refreshed by
//! `scripts/update_disposable_domains.py`, plus the shop's own additions and exceptions.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The bundled list: one domain per line, `#` starts a comment line.
const BUNDLED: &str = include_str!("disposable_domains.txt");

/// The bundled list as a set, built once on first use (about 10,000 entries).
fn bundled() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        BUNDLED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// Decides whether an email address is at a throwaway domain.
///
/// A subdomain of a listed domain counts (`x.mailinator.com`); an allowed domain, or a
/// subdomain of one, never counts, even when the bundled list has it.
#[derive(Debug, Clone, Default)]
pub struct DisposableDomains {
    extra: HashSet<String>,
    allowed: HashSet<String>,
}

impl DisposableDomains {
    /// The bundled list plus `extra`, minus `allowed` (both compared in lower case; entries
    /// that are not domains are ignored, [`super::FraudSettings::validate`] refuses them).
    pub fn new(extra: &[String], allowed: &[String]) -> Self {
        let clean = |v: &[String]| -> HashSet<String> {
            v.iter()
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| looks_like_domain(d))
                .collect()
        };
        Self {
            extra: clean(extra),
            allowed: clean(allowed),
        }
    }

    /// How many domains the bundled list holds.
    pub fn bundled_len() -> usize {
        bundled().len()
    }

    /// Is the email's domain (the part after the last `@`) or one of its parent domains
    /// listed? An address without `@` or with an empty domain is not disposable (the phone
    /// and other checks deal with junk input).
    pub fn is_disposable(&self, email: &str) -> bool {
        let Some((_, domain)) = email.trim().rsplit_once('@') else {
            return false;
        };
        let domain = domain.trim_end_matches('.');
        if domain.is_empty() || domain.len() > 253 {
            return false;
        }
        // Lower-case into a stack buffer when it fits, so the hot path does not allocate.
        let mut buf = [0u8; 253];
        let bytes = domain.as_bytes();
        buf[..bytes.len()].copy_from_slice(bytes);
        buf[..bytes.len()].make_ascii_lowercase();
        let Ok(lower) = std::str::from_utf8(&buf[..bytes.len()]) else {
            return false;
        };
        let listed = |d: &str| bundled().contains(d) || self.extra.contains(d);
        let mut found = false;
        for suffix in suffixes(lower) {
            if self.allowed.contains(suffix) {
                return false;
            }
            if !found && listed(suffix) {
                found = true;
            }
        }
        found
    }
}

/// `a.b.example.com`, `b.example.com`, `example.com`, `com`.
fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    let starts = std::iter::once(0).chain(
        domain
            .char_indices()
            .filter(|&(_, c)| c == '.')
            .map(|(i, _)| i + 1),
    );
    starts.map(move |i| &domain[i..])
}

/// Letters, digits and `-` in dot-separated labels of 1-63, at least two labels, at most 253
/// characters, case-insensitive: `example.com`, `mail.example.co.uk`.
pub(super) fn looks_like_domain(d: &str) -> bool {
    if d.is_empty() || d.len() > 253 {
        return false;
    }
    let mut labels = 0;
    for label in d.split('.') {
        labels += 1;
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return false;
        }
    }
    labels >= 2
}
