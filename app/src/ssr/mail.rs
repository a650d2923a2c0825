//! Email over SMTP (`lettre`): the settings the operator configures (`[notifications.email]`),
//! a message with a plain-text and an HTML part, and sending it. The SMTP server and its
//! credentials come from the configuration, never from a page: a password is only ever sent to
//! the server the operator named. A leaf: `services::email` decides who gets what.

use std::sync::Mutex;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::ssr::delivery::DeliveryError;
use crate::ssr::secrets::{CachedSecrets, SecretRef};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required: no fallback), usually port 587.
    StartTls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption: only to a server on this machine (a local relay, a test server).
    None,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Result<SmtpSecurity, String> {
        match text.trim() {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            other => Err(format!(
                "`{other}`: use starttls, tls, or none (a server on this machine only)"
            )),
        }
    }
}

/// Where and how Gatepass sends email (from the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The sender, e.g. `Gatepass <gatepass@example.com>`.
    pub from: String,
    pub username: String,
    /// The SMTP password's secret reference; `None`: no authentication.
    pub password_ref: Option<SecretRef>,
    /// Gatepass's public URL, for the links in messages.
    pub links: String,
}

impl EmailSettings {
    /// Checks the configured values: (the setting at fault, why) on error.
    pub fn parse(
        host: &str,
        port: u16,
        security: &str,
        from: &str,
        username: &str,
        password_ref: &str,
        links: &str,
    ) -> Result<EmailSettings, (&'static str, String)> {
        let host = host.trim();
        if host.is_empty() || host.contains(['/', ' ', ':']) {
            return Err((
                "smtp_host",
                "a host name or address, without scheme or port".into(),
            ));
        }
        if port == 0 {
            return Err((
                "smtp_port",
                "a port number (587 for STARTTLS, 465 for TLS)".into(),
            ));
        }
        let security = SmtpSecurity::parse(security).map_err(|m| ("security", m))?;
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if security == SmtpSecurity::None && !loopback {
            return Err((
                "security",
                "none is only for a server on this machine (127.0.0.1): use starttls or tls".into(),
            ));
        }
        from.parse::<Mailbox>()
            .map_err(|e| ("from", format!("not an email address ({e})")))?;
        let password_ref = match password_ref.trim() {
            "" => None,
            r => Some(r.parse().map_err(|m| ("password_ref", m))?),
        };
        if password_ref.is_some() && username.trim().is_empty() {
            return Err(("username", "a password needs a user name".into()));
        }
        Ok(EmailSettings {
            host: host.to_owned(),
            port,
            security,
            from: from.trim().to_owned(),
            username: username.trim().to_owned(),
            password_ref,
            links: links.trim_end_matches('/').to_owned(),
        })
    }
}

/// One message: subject, plain text, HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What Gatepass tells a person about an event, whatever the channel: a subject, lines of plain
/// text and a link to the page where they act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub subject: String,
    pub lines: Vec<String>,
    pub link_text: String,
    pub link: String,
}

/// A note from its lines (plain text) and a link to act on.
pub fn message(subject: String, lines: &[String], link_text: &str, link: &str) -> Note {
    Note {
        subject,
        lines: lines.to_vec(),
        link_text: link_text.to_owned(),
        link: link.to_owned(),
    }
}

impl Note {
    /// The note as an email: plain text and HTML.
    pub fn to_email(&self) -> Composed {
        let (link, link_text) = (&self.link, &self.link_text);
        let text = format!(
            "{}\n\n{link_text}: {link}\n\n-- \nGatepass\n",
            self.lines.join("\n")
        );
        let html = format!(
            "<!doctype html><html><body style=\"font-family: sans-serif\">{}<p><a href=\"{}\">{}</a></p>\
             <p style=\"color: #666\">Gatepass</p></body></html>",
            self.lines
                .iter()
                .map(|l| format!("<p>{}</p>", escape(l)))
                .collect::<String>(),
            escape(link),
            escape(link_text)
        );
        Composed {
            subject: self.subject.clone(),
            text,
            html,
        }
    }
}

/// The SMTP transport for `settings` (and the password read now), kept between messages: its
/// connections are pooled, so a burst of email does not open (and negotiate TLS on) a
/// connection per message. Built again when the password changes.
fn transport(
    settings: &EmailSettings,
    password: Option<&str>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    use sha2::Digest as _;
    static POOL: Mutex<Option<(Vec<u8>, AsyncSmtpTransport<Tokio1Executor>)>> = Mutex::new(None);
    let mut key = sha2::Sha256::new();
    key.update(format!(
        "{}\0{}\0{:?}\0{}\0",
        settings.host, settings.port, settings.security, settings.username
    ));
    key.update(password.unwrap_or_default());
    let key = key.finalize().to_vec();
    let mut pool = POOL.lock().expect("the SMTP transport lock");
    if let Some((k, t)) = pool.as_ref() {
        if *k == key {
            return Ok(t.clone());
        }
    }
    let permanent = |message: String| DeliveryError {
        message,
        retry: false,
        retry_after: None,
    };
    let builder = match settings.security {
        SmtpSecurity::StartTls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                .map_err(|e| permanent(format!("SMTP set-up failed ({e})")))?
        }
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host)
            .map_err(|e| permanent(format!("SMTP set-up failed ({e})")))?,
        SmtpSecurity::None => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.clone())
        }
    };
    let mut builder = builder
        .port(settings.port)
        .timeout(Some(Duration::from_secs(10)));
    if let Some(password) = password {
        builder = builder.credentials(Credentials::new(
            settings.username.clone(),
            password.to_owned(),
        ));
    }
    let transport = builder.build();
    *pool = Some((key, transport.clone()));
    Ok(transport)
}

/// Sends `composed` to `to` (name, address) with `id` as its `Message-ID`.
pub async fn send(
    secrets: &CachedSecrets,
    settings: &EmailSettings,
    to: (&str, &str),
    id: &str,
    composed: Composed,
) -> Result<(), DeliveryError> {
    let permanent = |message: String| DeliveryError {
        message,
        retry: false,
        retry_after: None,
    };
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| permanent(format!("the sender address is not valid ({e})")))?;
    let address =
        to.1.parse()
            .map_err(|_| permanent("the person's email address is not valid".into()))?;
    let email = Message::builder()
        .from(from)
        .to(Mailbox::new(Some(to.0.to_owned()), address))
        .subject(composed.subject)
        .message_id(Some(id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            composed.text,
            composed.html,
        ))
        .map_err(|e| permanent(format!("the message could not be built ({e})")))?;
    let transient = |message: String| DeliveryError {
        message,
        retry: true,
        retry_after: None,
    };
    let password = match &settings.password_ref {
        Some(reference) => Some(
            secrets
                .get(reference)
                .await
                .map_err(|e| transient(format!("the SMTP password could not be read ({e})")))?,
        ),
        None => None,
    };
    let transport = transport(settings, password.as_ref().map(|p| p.expose_secret()))?;
    match transport.send(email).await {
        Ok(_) => Ok(()),
        Err(e) => {
            // lettre's errors name the server's answer, never the credentials.
            let message = format!("the SMTP server did not take the message ({e})");
            Err(DeliveryError {
                message,
                retry: !e.is_permanent(),
                retry_after: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_refuse_plain_connections_off_this_machine_and_bad_addresses() {
        let ok = |host: &str, security: &str| {
            EmailSettings::parse(
                host,
                25,
                security,
                "Gatepass <gp@example.com>",
                "",
                "",
                "http://x/",
            )
        };
        assert!(ok("127.0.0.1", "none").is_ok());
        assert!(ok("localhost", "none").is_ok());
        assert_eq!(ok("smtp.example.com", "none").unwrap_err().0, "security");
        assert!(ok("smtp.example.com", "starttls").is_ok());
        assert_eq!(ok("smtp.example.com", "ssl").unwrap_err().0, "security");
        assert_eq!(
            ok("smtp://smtp.example.com", "tls").unwrap_err().0,
            "smtp_host"
        );
        let bad_from = EmailSettings::parse(
            "127.0.0.1",
            25,
            "none",
            "not an address",
            "",
            "",
            "http://x",
        );
        assert_eq!(bad_from.unwrap_err().0, "from");
        let no_user = EmailSettings::parse(
            "127.0.0.1",
            25,
            "none",
            "gp@example.com",
            "",
            "env:SMTP_PASSWORD",
            "http://x",
        );
        assert_eq!(no_user.unwrap_err().0, "username");
        assert_eq!(ok("127.0.0.1", "none").unwrap().links, "http://x");
    }

    #[test]
    fn html_parts_escape_what_people_typed() {
        let m = message(
            "s".into(),
            &["Reason: <script>alert(1)</script> & \"more\"".into()],
            "Go",
            "http://x/approvals",
        )
        .to_email();
        assert!(m
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;"));
        assert!(!m.html.contains("<script>"));
        assert!(m.text.contains("<script>"), "plain text is plain");
        assert!(m.text.contains("Go: http://x/approvals"));
    }
}
