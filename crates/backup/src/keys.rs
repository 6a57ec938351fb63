//! The owner's backup keys: an age x25519 identity (kept offline, in the recovery kit) and its
//! public recipient (the only half the server keeps), so a stolen server cannot read its own
//! backups.

use std::path::Path;

use age::secrecy::ExposeSecret;
use age::x25519::{Identity, Recipient};

use crate::BackupError;

/// The prefix every age secret key starts with (upper case, bech32).
const IDENTITY_PREFIX: &str = "AGE-SECRET-KEY-1";

/// A freshly generated key pair.
#[derive(Clone)]
pub struct NewIdentity {
    /// The secret half (`AGE-SECRET-KEY-1...`): goes into the recovery kit, never on the server.
    pub identity: String,
    /// The public half (`age1...`): goes into `backup.recipients`.
    pub recipient: String,
}

impl std::fmt::Debug for NewIdentity {
    // The secret half must never reach a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewIdentity")
            .field("identity", &"<redacted>")
            .field("recipient", &self.recipient)
            .finish()
    }
}

/// Generate a new age identity and its recipient.
pub fn new_identity() -> NewIdentity {
    let id = Identity::generate();
    NewIdentity {
        identity: id.to_string().expose_secret().to_string(),
        recipient: id.to_public().to_string(),
    }
}

/// Parse one `backup.recipients` entry.
pub fn parse_recipient(s: &str) -> Result<Recipient, BackupError> {
    s.trim().parse::<Recipient>().map_err(|_| {
        BackupError::Invalid(format!(
            "backup.recipients: {:?} is not an age recipient (age1...): use the recipient \
             printed by `storefort backup new-identity` or in the recovery kit",
            shorten(s.trim())
        ))
    })
}

/// Read every identity in a recovery kit (or a plain age key file): each line starting with
/// `AGE-SECRET-KEY-1`; every other line is ignored. `-` reads the kit from standard input, so
/// that it never has to be written to the server's disk.
pub fn read_identity_file(path: &Path) -> Result<Vec<Identity>, BackupError> {
    let (text, source) = if path == Path::new("-") {
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            eprintln!(
                "Paste the recovery kit (at least its AGE-SECRET-KEY line), then press Ctrl-D:"
            );
        }
        let mut t = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut t).map_err(|e| {
            BackupError::Invalid(format!("--identity: cannot read standard input: {e}"))
        })?;
        (t, "standard input".to_string())
    } else {
        let t = std::fs::read_to_string(path).map_err(|e| {
            BackupError::Invalid(format!("--identity: cannot read {}: {e}", path.display()))
        })?;
        (t, path.display().to_string())
    };
    parse_identities(&text, &source)
}

/// The identities in a kit's text; `source` names it in errors.
pub fn parse_identities(text: &str, source: &str) -> Result<Vec<Identity>, BackupError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if !line.starts_with(IDENTITY_PREFIX) {
            continue;
        }
        let id = line.parse::<Identity>().map_err(|_| {
            BackupError::Invalid(format!(
                "--identity: line {} of {source} looks like an age identity but is damaged \
                 (check it was copied in full)",
                n + 1,
            ))
        })?;
        out.push(id);
    }
    if out.is_empty() {
        return Err(BackupError::Invalid(format!(
            "--identity: {source} holds no age identity (a line starting {IDENTITY_PREFIX}): \
             pass the recovery kit printed by `storefort init`"
        )));
    }
    Ok(out)
}

/// Does `text` contain an age secret key? (`doctor` fails when one is found on the server.)
pub fn contains_identity(text: &str) -> bool {
    // A real key, not the prefix in code or docs that talk about keys.
    text.split_whitespace().any(|w| {
        w.starts_with(IDENTITY_PREFIX)
            && w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                .parse::<Identity>()
                .is_ok()
    })
}

/// The recovery kit: a plain-text page the owner prints or stores offline. It holds the
/// backup identity and, when given, the master key that unlocks customer data.
pub fn recovery_kit(
    shop_name: &str,
    identity: &str,
    recipient: &str,
    master_key_hex: Option<&str>,
    created_at_ms: i64,
) -> String {
    let created =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(created_at_ms) * 1_000_000)
            .map(|t| {
                format!(
                    "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                )
            })
            .unwrap_or_else(|_| "unknown".into());
    let master = match master_key_hex {
        Some(m) => format!(
            "MASTER KEY (unlocks customer data; without it a restored shop cannot read\n\
             customer names, emails, addresses or staff 2FA):\n\n    {m}\n\n\
             On a new machine `storefort restore` installs it as the master key file\n\
             (master.key beside storefort.toml), or set STOREFORT_MASTER_KEY to it.\n"
        ),
        None => "MASTER KEY: not included in this kit. Keep the master key file (master.key\n\
                 beside storefort.toml, or `master_key_file`) with this kit: a restore\n\
                 without it cannot read customer data.\n"
            .to_string(),
    };
    format!(
        "STOREFORT RECOVERY KIT - {shop_name}\n\
         Created {created}\n\
         \n\
         Keep this page OFFLINE (printed, or on a USB stick in a drawer). Do not keep it on\n\
         the shop's server: whoever holds it can read every backup of this shop.\n\
         \n\
         BACKUP IDENTITY (secret; opens the backups):\n\
         \n    {identity}\n\
         \n\
         BACKUP RECIPIENT (public; the server encrypts backups to it):\n\
         \n    {recipient}\n\
         \n\
         {master}\
         \n\
         HOW TO RESTORE\n\
         1. Install the same or a newer storefort on the machine (a new one is fine).\n\
         2. Save this page as a text file, e.g. kit.txt (only the key lines matter).\n\
         3. Get a backup file (.sfbak) from a backup destination, or use `latest`.\n\
         4. Check it:   storefort backup verify storefort-XXXX.sfbak --identity kit.txt\n\
         5. Restore:    storefort restore storefort-XXXX.sfbak --identity kit.txt\n\
            (add --stop-server if the shop is running on this machine)\n\
         6. Start:      storefort serve\n\
         The previous database is kept aside; the restore prints where and how long it took.\n"
    )
}

/// At most 24 characters of user input in an error message.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if s.chars().count() > 24 {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_identity_round_trips_through_a_kit_file() {
        let n = new_identity();
        assert!(n.identity.starts_with(IDENTITY_PREFIX));
        assert!(n.recipient.starts_with("age1"));
        assert!(!format!("{n:?}").contains(&n.identity));
        let r = parse_recipient(&n.recipient).unwrap();
        assert_eq!(r.to_string(), n.recipient);
        let kit = recovery_kit("Dog Shop", &n.identity, &n.recipient, Some("ab12"), 0);
        assert!(
            kit.contains("1970-01-01 00:00 UTC") && kit.contains("ab12"),
            "{kit}"
        );
        assert!(contains_identity(&kit));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kit.txt");
        std::fs::write(&path, &kit).unwrap();
        let ids = read_identity_file(&path).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].to_public().to_string(), n.recipient);
    }

    #[test]
    fn bad_recipients_and_kits_are_refused_with_the_field_named() {
        let e = parse_recipient("age1notreally").unwrap_err().to_string();
        assert!(e.starts_with("backup.recipients:"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kit.txt");
        std::fs::write(&path, "no keys here\n").unwrap();
        let e = read_identity_file(&path).err().unwrap().to_string();
        assert!(e.starts_with("--identity:"), "{e}");
        std::fs::write(&path, "AGE-SECRET-KEY-1BROKEN\n").unwrap();
        let e = read_identity_file(&path).err().unwrap().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert!(!contains_identity("age1abc"));
    }
}
