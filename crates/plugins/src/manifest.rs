//! The plugin manifest: what the owner reads and approves. Checked field by field; an error
//! names the field.

use serde::{Deserialize, Serialize};

use crate::{Hook, Permission};

/// A manifest field that breaks a rule, with a sentence for the owner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ManifestError {
    /// The field (`name`, `hooks`, ...).
    pub field: &'static str,
    /// What is wrong, and what is expected.
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> ManifestError {
    ManifestError {
        field,
        message: message.into(),
    }
}

/// `manifest.json` of a plugin package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// 1-40 characters: lower-case letters, digits and `-`, starting with a letter.
    pub name: String,
    /// 1-20 characters: letters, digits, `.`, `-`, `+`.
    pub version: String,
    /// 1-80 characters.
    pub author: String,
    /// Up to 500 characters.
    #[serde(default)]
    pub description: String,
    /// The hooks it implements, each once.
    pub hooks: Vec<Hook>,
    /// The permissions it asks for, each once.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// SHA-256 (hex) of `plugin.wasm`.
    #[serde(default)]
    pub module_sha256: String,
    /// Where order notifications go (with the `webhook` permission only).
    #[serde(default)]
    pub webhook_url: Option<String>,
}

fn plain(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), ManifestError> {
    let n = s.chars().count();
    if n < min || n > max || s.chars().any(char::is_control) || s.trim() != s {
        return Err(bad(
            field,
            format!("use {min} to {max} characters of plain text (no line breaks, no leading or trailing spaces)"),
        ));
    }
    Ok(())
}

/// Is this a valid plugin name?
pub fn valid_name(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Manifest {
    /// Check every field. The module's hash is checked against the module by the package.
    pub fn validate(&self) -> Result<(), ManifestError> {
        if !valid_name(&self.name) {
            return Err(bad(
                "name",
                "use 1 to 40 lower-case letters, digits and '-', starting with a letter",
            ));
        }
        let version_ok = (1..=20).contains(&self.version.len())
            && self
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if !version_ok {
            return Err(bad(
                "version",
                "use 1 to 20 letters, digits, '.', '-' or '+' (like 1.2.0)",
            ));
        }
        plain("author", &self.author, 1, 80)?;
        if self.description.chars().count() > 500
            || self
                .description
                .chars()
                .any(|c| c.is_control() && c != '\n')
        {
            return Err(bad("description", "use up to 500 characters of plain text"));
        }
        if self.hooks.is_empty() {
            return Err(bad("hooks", "name at least one hook the plugin implements"));
        }
        if has_repeats(&self.hooks) {
            return Err(bad("hooks", "name each hook once"));
        }
        if has_repeats(&self.permissions) {
            return Err(bad("permissions", "name each permission once"));
        }
        for h in &self.hooks {
            let need = h.permission();
            if !self.permissions.contains(&need) {
                return Err(bad(
                    "permissions",
                    format!("the {} hook needs the {} permission", h.name(), need.name()),
                ));
            }
        }
        let wants_webhook = self.permissions.contains(&Permission::Webhook);
        match (&self.webhook_url, wants_webhook) {
            (Some(u), true) => check_webhook_url(u)?,
            (None, true) => {
                return Err(bad(
                    "webhook_url",
                    "the webhook permission needs the address notifications go to",
                ))
            }
            (Some(_), false) => {
                return Err(bad(
                    "webhook_url",
                    "a webhook address needs the webhook permission",
                ))
            }
            (None, false) => {}
        }
        let hex_ok = self.module_sha256.len() == 64
            && self
                .module_sha256
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if !hex_ok {
            return Err(bad(
                "module_sha256",
                "give the module's SHA-256 as 64 lower-case hex digits",
            ));
        }
        Ok(())
    }
}

fn has_repeats<T: Ord + Clone>(v: &[T]) -> bool {
    let mut s = v.to_vec();
    s.sort();
    s.windows(2).any(|w| w[0] == w[1])
}

/// An `https://` address, or `http://` to this machine (for testing); no user name or password.
pub fn check_webhook_url(u: &str) -> Result<(), ManifestError> {
    // URL parsing silently drops tabs and line breaks: refuse them, so the address the owner
    // reads is the address used.
    if u.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad(
            "webhook_url",
            "the address must not contain spaces, tabs or line breaks",
        ));
    }
    let url = reqwest::Url::parse(u).map_err(|_| {
        bad(
            "webhook_url",
            "give a full web address, like https://hooks.example.com/orders",
        )
    })?;
    let loopback = matches!(
        url.host_str(),
        Some("localhost") | Some("127.0.0.1") | Some("[::1]")
    );
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || url.host_str().is_none() {
        return Err(bad(
            "webhook_url",
            "use an https:// address (plain http:// only to localhost, for testing)",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "webhook_url",
            "do not put a user name or password in the address",
        ));
    }
    if u.len() > 500 {
        return Err(bad("webhook_url", "use an address of up to 500 characters"));
    }
    Ok(())
}
