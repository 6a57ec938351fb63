//! Outgoing email over SMTP (lettre): password-reset links and staff invitations. Without an
//! SMTP server configured, nothing is sent and callers show the link to the owner instead.

use lettre::message::header::ContentType;
use lettre::message::MessageBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How to reach the SMTP server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection (only for a relay on this machine or a test sink).
    None,
    /// STARTTLS on the submission port (587), required.
    Starttls,
    /// TLS from the first byte (465).
    Tls,
}

/// SMTP settings.
#[derive(Clone, serde::Deserialize, serde::Serialize)]
pub struct SmtpConfig {
    /// Server host name.
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS, 25 for a local relay).
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// Login, if the server wants one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// The From address, e.g. `Corner Shop <shop@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Why an email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured.
    #[error("email is not set up for this shop (add an [smtp] section to storefort.toml)")]
    NotConfigured,
    /// An address or the message was malformed.
    #[error("bad email address or message: {0}")]
    Message(String),
    /// The server refused or could not be reached.
    #[error("the mail server did not accept the message: {0}")]
    Send(String),
}

/// The start of every message: from the shop, to `to`, with `subject`.
fn headers(cfg: &SmtpConfig, to: &str, subject: &str) -> Result<MessageBuilder, MailError> {
    Ok(Message::builder()
        .from(
            cfg.from
                .parse()
                .map_err(|e| MailError::Message(format!("from: {e}")))?,
        )
        .to(to
            .parse()
            .map_err(|e| MailError::Message(format!("to: {e}")))?)
        .subject(subject))
}

/// Hand a message to the configured SMTP server.
async fn deliver(cfg: &SmtpConfig, msg: Message) -> Result<(), MailError> {
    let tls = || TlsParameters::new(cfg.host.clone()).map_err(|e| MailError::Send(e.to_string()));
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
        .port(cfg.port)
        .timeout(Some(std::time::Duration::from_secs(20)));
    b = match cfg.security {
        SmtpSecurity::None => b.tls(Tls::None),
        SmtpSecurity::Starttls => b.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
    };
    if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    b.build()
        .send(msg)
        .await
        .map_err(|e| MailError::Send(e.to_string()))?;
    Ok(())
}

/// Send a plain-text email.
pub async fn send(
    smtp: Option<&SmtpConfig>,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), MailError> {
    let cfg = smtp.ok_or(MailError::NotConfigured)?;
    let msg = headers(cfg, to, subject)?
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_string())
        .map_err(|e| MailError::Message(e.to_string()))?;
    deliver(cfg, msg).await
}

/// Send an email with a plain-text and an HTML version (`multipart/alternative`; mail clients
/// show the HTML, or the text where HTML is off).
pub async fn send_multipart(
    smtp: Option<&SmtpConfig>,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
) -> Result<(), MailError> {
    let cfg = smtp.ok_or(MailError::NotConfigured)?;
    let msg = headers(cfg, to, subject)?
        .multipart(lettre::message::MultiPart::alternative_plain_html(
            text.to_string(),
            html.to_string(),
        ))
        .map_err(|e| MailError::Message(e.to_string()))?;
    deliver(cfg, msg).await
}
