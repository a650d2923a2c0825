//! The demo's inbox, next to the simulated Okta org: a mail catcher (a small SMTP server that
//! accepts every message, `--smtp-listen`) and a webhook receiver (`POST /__inbox/webhooks`),
//! shown on one page, `/__inbox`, and as JSON at `/__inbox/messages`. It lets `make demo` show
//! Gatepass's email and webhooks without a mail server or another system of one's own. It keeps
//! the latest [`KEEP`] of each in memory. Loopback only, like the rest of the simulator.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::time::now_ms;
use super::Sim;

/// Messages and deliveries kept (each).
pub const KEEP: usize = 10_000;
/// The largest message the mail catcher takes.
const MAX_MESSAGE: usize = 1 << 20;

/// An email the mail catcher took.
#[derive(Debug, Clone, Serialize)]
pub struct Mail {
    pub at_ms: i64,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub subject: String,
    pub message_id: String,
    /// The message as sent (headers and MIME parts).
    pub raw: String,
}

/// A webhook delivery the receiver took.
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    pub at_ms: i64,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    /// The payload's `type`.
    pub event: String,
    pub body: String,
}

/// What the inbox holds.
#[derive(Debug, Default)]
pub struct Inbox {
    mails: Mutex<VecDeque<Mail>>,
    hooks: Mutex<VecDeque<Hook>>,
}

fn keep<T>(list: &Mutex<VecDeque<T>>, item: T) {
    let mut list = list.lock().expect("inbox lock");
    if list.len() == KEEP {
        list.pop_front();
    }
    list.push_back(item);
}

impl Inbox {
    /// The messages taken so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails
            .lock()
            .expect("inbox lock")
            .iter()
            .cloned()
            .collect()
    }

    /// The webhook deliveries taken so far, oldest first.
    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks
            .lock()
            .expect("inbox lock")
            .iter()
            .cloned()
            .collect()
    }
}

/// The value of header `name` in a raw message's header block (unfolded), or "".
fn header(raw: &str, name: &str) -> String {
    let mut value: Option<String> = None;
    for line in raw.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            if n.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_owned());
            }
        }
    }
    value.unwrap_or_default()
}

/// The address in `FROM:<a@b>` / `TO:<a@b>`.
fn path_address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_owned(),
        _ => arg.split_whitespace().next().unwrap_or_default().to_owned(),
    }
}

/// Accepts SMTP connections on `listener` until the process ends: `EHLO`/`HELO`, `MAIL`,
/// `RCPT`, `DATA`, `RSET`, `NOOP`, `QUIT` (no TLS, no authentication: the demo's Gatepass
/// sends with `security = "none"` to this machine). Each message is accepted `latency` after
/// its data ends (a slow mail server, for benchmarks).
pub async fn serve_smtp(sim: Arc<Sim>, listener: TcpListener, latency: std::time::Duration) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let sim = sim.clone();
        tokio::spawn(async move {
            if let Err(e) = session(&sim, stream, latency).await {
                tracing::debug!(error = %e, "okta-sim: SMTP session ended");
            }
        });
    }
}

async fn session(
    sim: &Sim,
    stream: tokio::net::TcpStream,
    latency: std::time::Duration,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 okta-sim mail catcher ESMTP\r\n")
        .await?;
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-okta-sim\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n",
            "HELO" => b"250 okta-sim\r\n",
            "MAIL" => {
                from = path_address(command.split_once(':').map_or("", |(_, a)| a));
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.push(path_address(command.split_once(':').map_or("", |(_, a)| a)));
                b"250 OK\r\n"
            }
            "DATA" if to.is_empty() => b"503 RCPT first\r\n",
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut raw = String::new();
                let mut too_big = false;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    let l = line.trim_end_matches(['\r', '\n']);
                    if l == "." {
                        break;
                    }
                    if raw.len() + l.len() > MAX_MESSAGE {
                        too_big = true;
                        continue;
                    }
                    raw.push_str(
                        l.strip_prefix('.')
                            .filter(|_| l.starts_with(".."))
                            .unwrap_or(l),
                    );
                    raw.push('\n');
                }
                tokio::time::sleep(latency).await;
                if too_big {
                    b"552 Message too big\r\n"
                } else {
                    keep(
                        &sim.inbox.mails,
                        Mail {
                            at_ms: now_ms(),
                            mail_from: from.clone(),
                            rcpt_to: std::mem::take(&mut to),
                            subject: header(&raw, "Subject"),
                            message_id: header(&raw, "Message-ID"),
                            raw,
                        },
                    );
                    b"250 OK: queued\r\n"
                }
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 OK\r\n"
            }
            "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// Routes under `/__inbox`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/__inbox", get(page))
        .route("/__inbox/messages", get(messages))
        .route("/__inbox/webhooks", post(take_webhook))
}

async fn take_webhook(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let event = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["type"].as_str().map(str::to_owned))
        .unwrap_or_default();
    keep(
        &sim.inbox.hooks,
        Hook {
            at_ms: now_ms(),
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            event,
            body,
        },
    );
    StatusCode::NO_CONTENT
}

async fn messages(State(sim): State<Arc<Sim>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "mails": sim.inbox.mails(), "webhooks": sim.inbox.hooks() }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()))
        .unwrap_or_default()
}

async fn page(State(sim): State<Arc<Sim>>) -> Html<String> {
    let mails: String = sim
        .inbox
        .mails()
        .iter()
        .rev()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><details><summary>{}</summary><pre>{}</pre></details></td></tr>",
                when(m.at_ms),
                escape(&m.rcpt_to.join(", ")),
                escape(&m.subject),
                escape(&m.raw)
            )
        })
        .collect();
    let hooks: String = sim
        .inbox
        .hooks()
        .iter()
        .rev()
        .map(|h| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td><details><summary>{}</summary><pre>{}</pre></details></td></tr>",
                when(h.at_ms),
                escape(&h.id),
                escape(&h.event),
                escape(&h.body)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">\
         <title>Inbox · Okta simulator</title></head><body style=\"font-family: sans-serif\">\
         <h1>Inbox · Okta simulator</h1>\
         <p>Email Gatepass sent (to the mail catcher) and webhooks it delivered (to <code>/__inbox/webhooks</code>), newest first. This page reloads every 5 seconds.</p>\
         <h2>Email</h2><table><thead><tr><th>At (UTC)</th><th>To</th><th>Subject</th></tr></thead><tbody>{mails}</tbody></table>\
         <h2>Webhooks</h2><table><thead><tr><th>At (UTC)</th><th>webhook-id</th><th>Event</th></tr></thead><tbody>{hooks}</tbody></table>\
         </body></html>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_and_envelope_addresses() {
        let raw = "From: a@x\nSubject: Ada asks\n for aws-prod\nMessage-ID: <evt-1@gp>\n\nbody";
        assert_eq!(header(raw, "subject"), "Ada asks for aws-prod");
        assert_eq!(header(raw, "Message-ID"), "<evt-1@gp>");
        assert_eq!(header(raw, "To"), "");
        assert_eq!(
            path_address(" <ada@example.com> SIZE=100"),
            "ada@example.com"
        );
        assert_eq!(path_address("ada@example.com"), "ada@example.com");
    }
}
