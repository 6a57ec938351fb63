//! A byte scanner for personal data at rest: each string in its common encodings (exact, any
//! ASCII case, UTF-16, base64 at every alignment in both alphabets, hex, percent- and
//! JSON-escaped), searched in raw files or a database dump.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// One encoded form of one string.
#[derive(Debug, Clone)]
pub struct Needle {
    /// Which string (e.g. `customer 0 name`).
    pub label: String,
    /// Which encoding (e.g. `base64 offset 1`).
    pub encoding: String,
    /// The bytes searched for.
    pub bytes: Vec<u8>,
    /// Compare ignoring ASCII case (lower, upper and mixed case are all found).
    pub fold: bool,
}

/// Shortest encoded form searched (shorter ones would match random ciphertext by chance).
const MIN_LEN: usize = 6;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn percent(value: &str, space: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// JSON string body with every non-ASCII character as `\uXXXX` (as some serializers write).
fn json_ascii(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap();
    let body = &quoted[1..quoted.len() - 1];
    let mut out = String::new();
    for ch in body.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for u in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// The base64 characters that any encoding of a longer text containing `value` must contain,
/// for the 3 possible alignments of `value` in that text.
fn base64_forms(value: &[u8], engine: &impl Engine) -> Vec<String> {
    (0..3usize)
        .map(|offset| {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(value);
            let enc = engine.encode(&bytes);
            let skip = (offset * 8).div_ceil(6);
            let bits = bytes.len() * 8;
            let end = if bits % 6 == 0 {
                enc.len()
            } else {
                enc.len() - 1
            };
            enc[skip..end.max(skip)].to_string()
        })
        .collect()
}

/// Every encoded form of `value` to search for.
pub fn needles(label: &str, value: &str) -> Vec<Needle> {
    let mut forms: Vec<(String, Vec<u8>, bool)> = vec![
        (
            "text (any ASCII case)".into(),
            value.as_bytes().to_vec(),
            true,
        ),
        (
            "lower-case".into(),
            value.to_lowercase().into_bytes(),
            false,
        ),
        (
            "upper-case".into(),
            value.to_uppercase().into_bytes(),
            false,
        ),
    ];
    let utf16 = |s: &str, le: bool| -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    };
    forms.push(("UTF-16LE".into(), utf16(value, true), false));
    forms.push((
        "UTF-16LE lower-case".into(),
        utf16(&value.to_lowercase(), true),
        false,
    ));
    forms.push(("UTF-16BE".into(), utf16(value, false), false));
    for (alphabet, forms_of) in [
        ("base64", base64_forms(value.as_bytes(), &STANDARD_NO_PAD)),
        (
            "base64url",
            base64_forms(value.as_bytes(), &URL_SAFE_NO_PAD),
        ),
        (
            "base64 of lower-case",
            base64_forms(value.to_lowercase().as_bytes(), &STANDARD_NO_PAD),
        ),
    ] {
        for (offset, f) in forms_of.into_iter().enumerate() {
            forms.push((format!("{alphabet} offset {offset}"), f.into_bytes(), false));
        }
    }
    forms.push((
        "hex (any case)".into(),
        hex(value.as_bytes()).into_bytes(),
        true,
    ));
    forms.push((
        "percent-encoded".into(),
        percent(value, "%20").into_bytes(),
        true,
    ));
    forms.push((
        "form-encoded".into(),
        percent(value, "+").into_bytes(),
        true,
    ));
    let json = serde_json::to_string(value).unwrap();
    forms.push((
        "JSON-escaped".into(),
        json.as_bytes()[1..json.len() - 1].to_vec(),
        true,
    ));
    forms.push((
        "JSON \\u-escaped".into(),
        json_ascii(value).into_bytes(),
        true,
    ));
    let mut out: Vec<Needle> = Vec::new();
    for (encoding, bytes, fold) in forms {
        if bytes.len() < MIN_LEN || out.iter().any(|n| n.bytes == bytes && n.fold == fold) {
            continue;
        }
        out.push(Needle {
            label: label.to_string(),
            encoding,
            bytes,
            fold,
        });
    }
    out
}

/// A named blob of bytes to search (a file, a dump).
pub struct Haystack {
    /// Where the bytes came from.
    pub name: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    folded: Vec<u8>,
}

impl Haystack {
    /// Wrap bytes for searching.
    pub fn new(name: impl Into<String>, bytes: Vec<u8>) -> Self {
        let folded = bytes.to_ascii_lowercase();
        Self {
            name: name.into(),
            bytes,
            folded,
        }
    }
}

/// Every needle found, one line each: `label as encoding found in file at byte N` (first
/// occurrence per needle and haystack). One pass per haystack: candidates are picked by their
/// first [`MIN_LEN`] bytes, then compared in full.
pub fn scan(hay: &[Haystack], needles: &[Needle]) -> Vec<String> {
    let mut by_start: HashMap<(bool, &[u8]), Vec<usize>> = HashMap::new();
    let patterns: Vec<Vec<u8>> = needles
        .iter()
        .map(|n| match n.fold {
            true => n.bytes.to_ascii_lowercase(),
            false => n.bytes.clone(),
        })
        .collect();
    for (i, (n, pat)) in needles.iter().zip(&patterns).enumerate() {
        by_start
            .entry((n.fold, &pat[..MIN_LEN]))
            .or_default()
            .push(i);
    }
    let mut hits = Vec::new();
    for h in hay {
        let mut found: Vec<Option<usize>> = vec![None; needles.len()];
        for at in 0..h.bytes.len().saturating_sub(MIN_LEN - 1) {
            for (fold, text) in [(false, &h.bytes), (true, &h.folded)] {
                let Some(cands) = by_start.get(&(fold, &text[at..at + MIN_LEN])) else {
                    continue;
                };
                for &i in cands {
                    if found[i].is_none() && text[at..].starts_with(&patterns[i]) {
                        found[i] = Some(at);
                    }
                }
            }
        }
        for (n, at) in needles.iter().zip(found) {
            if let Some(at) = at {
                hits.push(format!(
                    "{:?} as {} found in {} at byte {at}",
                    n.label, n.encoding, h.name
                ));
            }
        }
    }
    hits
}

/// The SQLite file and, when present, its `-wal` and `-shm` files, read as they are now.
pub fn sqlite_files(file: &Path) -> Vec<Haystack> {
    let mut out = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", file.display()));
        if let Ok(bytes) = std::fs::read(&path) {
            out.push(Haystack::new(path.display().to_string(), bytes));
        }
    }
    out
}

/// `pg_dump`: on PATH, else the newest under /usr/lib/postgresql/*/bin.
pub fn pg_dump_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("pg_dump"))
            .find(|f| f.is_file())
    });
    on_path.or_else(|| {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin/pg_dump"))
            .filter(|f| f.is_file())
            .collect();
        found.sort();
        found.pop()
    })
}

/// A plain-text `pg_dump` of one schema (schema and data), as a haystack.
pub fn pg_dump(binary: &Path, url: &str, schema: &str) -> Haystack {
    let out = Command::new(binary)
        .arg(format!("--dbname={url}"))
        .arg(format!("--schema={schema}"))
        .args(["--no-owner", "--no-privileges", "--format=plain"])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Haystack::new(format!("pg_dump of schema {schema}"), out.stdout)
}

/// Fallback when no `pg_dump` binary exists: every row of every table in the schema as JSON.
pub async fn pg_rows_json(db: &storefort_store::Db, schema: &str) -> Haystack {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(schema)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut text = String::new();
    for t in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT row_to_json(t)::text FROM {schema}.{t} t"))
                .fetch_all(&db.pool)
                .await
                .unwrap();
        text.push_str(&rows.join("\n"));
    }
    Haystack::new(
        format!("rows of schema {schema} as JSON"),
        text.into_bytes(),
    )
}

/// Every encoded form of every (label, value).
pub fn all_needles(sensitive: &[(String, String)]) -> Vec<Needle> {
    sensitive.iter().flat_map(|(l, v)| needles(l, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_finds_every_encoding_it_claims() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        use base64::Engine;
        let value = "Zoë Þórhallsdóttir-Wibberley";
        let n = needles("probe", value);
        let hex: String = format!("{{{value}}}")
            .bytes()
            .map(|b| format!("{b:02X}"))
            .collect();
        let utf16: Vec<u8> = format!("name={value};")
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut samples = vec![
            (
                "upper-case",
                "ZOË ÞÓRHALLSDÓTTIR-WIBBERLEY".as_bytes().to_vec(),
            ),
            (
                "mixed case",
                "zOë Þórhallsdóttir-WIBBERLEY".as_bytes().to_vec(),
            ),
            ("hex", hex.into_bytes()),
            ("UTF-16LE", utf16),
            (
                "percent",
                b"x=Zo%C3%AB%20%C3%9E%C3%B3rhallsd%C3%B3ttir-Wibberley&".to_vec(),
            ),
            (
                "form",
                b"x=Zo%c3%ab+%c3%9e%c3%b3rhallsd%c3%b3ttir-Wibberley&".to_vec(),
            ),
            (
                "JSON \\u",
                br#"{"n":"Zo\u00eb \u00de\u00f3rhallsd\u00f3ttir-Wibberley"}"#.to_vec(),
            ),
        ];
        for prefix in ["", "a", "ab", "abc"] {
            let text = format!("{prefix}{value}!?>");
            samples.push(("base64", STANDARD.encode(&text).into_bytes()));
            samples.push(("base64url", URL_SAFE.encode(&text).into_bytes()));
        }
        for (what, bytes) in samples {
            let hits = scan(&[Haystack::new(what, bytes)], &n);
            assert!(!hits.is_empty(), "the scanner missed {what}");
        }
        let noise: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(scan(&[Haystack::new("noise", noise)], &n).is_empty());
    }
}
