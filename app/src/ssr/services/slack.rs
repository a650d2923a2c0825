//! Slack: the app's settings (admins, audited), the messages Gatepass posts — a request card
//! with Approve/Deny to each approver and to the policy's channel, kept up to date as the
//! request moves, and every other note a person gets by email, as a direct message — and the
//! interactions Slack sends back when someone clicks.
//!
//! A click decides through [`AccessService::decide`], exactly as the Approvals page does: the
//! same approvers, self-approval rule, quorum and one decision under concurrency. Before that,
//! the interaction must carry Slack's signature made with the signing secret, be fresh and not
//! seen before, and come from a Slack user whom Slack itself named for the Okta email of exactly
//! one active person (`users.lookupByEmail`); anything else is refused with a message in Slack
//! and changes nothing.

use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::error::AppError;
use crate::model::{
    AuditAction, AuditEvent, Decision, Policy, RequestId, RequestState, SlackSettings,
};
use crate::ssr::auth::{requester_from, Admin, Requester};
use crate::ssr::core::Core;
use crate::ssr::db::notifications::Claim;
use crate::ssr::db::slack::{self as store, SlackSettingsRow};
use crate::ssr::db::{audit, directory, requests, DbError};
use crate::ssr::delivery::DeliveryError;
use crate::ssr::services::access::DecisionInput;
use crate::ssr::services::email::compose;
use crate::ssr::services::identity::{resolve_person, Standing, VerifiedIdentity};
use crate::ssr::services::notifications::read_allowed_secret;
use crate::ssr::slack::{verify, SignatureError, MAX_SKEW_SECS};

/// How long what Slack answered for a person's email is reused before asking again.
const LOOKUP_TTL_MS: i64 = 24 * 3600 * 1000;
/// How long "Slack has nobody with this email" is believed.
const NOT_FOUND_TTL_MS: i64 = 3600 * 1000;
/// How fresh the match of a clicking Slack user to a person must be; older, it is checked with
/// Slack again before a decision.
const CLICK_MATCH_TTL_MS: i64 = 3600 * 1000;
/// How long a click may spend asking Slack who the clicker is (Slack wants an answer in 3 s).
const CLICK_LOOKUP_BUDGET: Duration = Duration::from_millis(1500);
/// Approvers looked up, at most, to recognise an unknown clicker.
const MAX_CANDIDATES: i64 = 50;
/// Action ids of the card's buttons, and the callback id of the Deny modal.
pub const APPROVE: &str = "gatepass_approve";
pub const DENY: &str = "gatepass_deny";
pub const OPEN: &str = "gatepass_open";

fn db_error(e: DbError) -> DeliveryError {
    DeliveryError {
        message: format!("Gatepass could not read the delivery: {e}"),
        retry: true,
        retry_after: None,
    }
}

/// The saved settings and the bot token, when Slack is turned on.
async fn workspace(core: &Core) -> Result<(SlackSettingsRow, SecretString), DeliveryError> {
    let settings = store::settings(&core.db)
        .await
        .map_err(db_error)?
        .filter(|s| s.enabled)
        .ok_or_else(|| DeliveryError::permanent("Slack is turned off"))?;
    let token = read_allowed_secret(core, "Bot token", &settings.bot_token_ref)
        .await
        .map_err(|e| DeliveryError {
            message: e.to_string(),
            retry: true,
            retry_after: None,
        })?;
    Ok((settings, token))
}

/// The Slack user Slack names for `okta_id`'s `email`, from the cache while it is fresh.
async fn slack_user_for(
    core: &Core,
    token: &SecretString,
    okta_id: &str,
    email: &str,
) -> Result<Option<String>, DeliveryError> {
    let now = core.clock.timestamp();
    if let Some((cached_email, slack_id, at)) = store::cached_user(&core.db, okta_id)
        .await
        .map_err(db_error)?
    {
        let ttl = if slack_id.is_some() {
            LOOKUP_TTL_MS
        } else {
            NOT_FOUND_TTL_MS
        };
        if cached_email.eq_ignore_ascii_case(email) && now - at < ttl {
            return Ok(slack_id);
        }
    }
    lookup(core, token, okta_id, email).await
}

/// Asks Slack who has `email` now and remembers the answer.
async fn lookup(
    core: &Core,
    token: &SecretString,
    okta_id: &str,
    email: &str,
) -> Result<Option<String>, DeliveryError> {
    let found = match core
        .slack
        .call_form(
            token.expose_secret(),
            "users.lookupByEmail",
            &[("email", email)],
        )
        .await
    {
        Ok(answer) => answer["user"]["id"].as_str().map(str::to_owned),
        Err(e) if e.message.ends_with(": users_not_found") => None,
        Err(e) => return Err(e),
    };
    store::cache_user(
        &core.db,
        okta_id,
        email,
        found.as_deref(),
        core.clock.timestamp(),
    )
    .await
    .map_err(db_error)?;
    Ok(found)
}

/// Slack's `mrkdwn` with `text` shown as written (`&`, `<`, `>` escaped as Slack asks).
fn plain(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn context(text: String) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] })
}

fn link_button(text: &str, url: &str) -> Value {
    json!({ "type": "button", "action_id": OPEN, "text": { "type": "plain_text", "text": text }, "url": url })
}

/// A note (what email says too) as a message: the subject in bold, its lines, a link button.
fn note_message(note: &crate::ssr::mail::Note) -> (String, Vec<Value>) {
    let mut text = format!("*{}*", plain(&note.subject));
    for line in &note.lines {
        text.push('\n');
        text.push_str(&plain(line));
    }
    (
        note.subject.clone(),
        vec![
            section(text),
            json!({ "type": "actions", "elements": [link_button(&note.link_text, &note.link)] }),
        ],
    )
}

/// The card of request `id` as it stands: who asks for what, for how long and why; where it
/// is (approvals so far, or who decided and when); Approve/Deny while it is pending, unless its
/// policy keeps decisions in Gatepass. `None` if the request is gone.
pub async fn request_card(core: &Core, id: i64) -> Result<Option<(String, Vec<Value>)>, DbError> {
    let db = &core.db;
    let Some(r) = requests::find_request(db, RequestId(id)).await? else {
        return Ok(None);
    };
    let who = directory::find_user(db, r.requester_id.as_str())
        .await?
        .map_or_else(|| r.requester_id.to_string(), |u| u.display_name);
    let group = directory::find_group(db, r.group_id.as_str())
        .await?
        .map_or_else(|| r.group_id.to_string(), |g| g.name);
    let policy: Option<Policy> = requests::find_request_policy(db, r.id)
        .await?
        .and_then(|p| serde_json::from_str(&p).ok());
    let gatepass_only = policy.as_ref().is_some_and(|p| p.approve_in_gatepass_only);
    let how_long = crate::format::describe_duration(r.duration_secs);
    let what = if r.extends_grant_id.is_some() {
        "an extension of"
    } else {
        "membership of"
    };
    let summary = format!("{who} asks for {what} {group} for {how_long}");
    let mut fields = vec![
        json!({ "type": "mrkdwn", "text": format!("*Group*\n{}", plain(&group)) }),
        json!({ "type": "mrkdwn", "text": format!("*For*\n{how_long}") }),
    ];
    if let Some(start) = r.starts_at {
        fields.push(
            json!({ "type": "mrkdwn", "text": format!("*Starts*\n{} UTC", start.utc_datetime()) }),
        );
    }
    let mut blocks = vec![json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": format!("*{}* asks for {what} *{}*", plain(&who), plain(&group)) },
        "fields": fields,
    })];
    if !r.reason.trim().is_empty() {
        blocks.push(section(format!("*Reason*\n{}", plain(r.reason.trim()))));
    }
    let decisions = store::decisions_of(db, id).await?;
    let approved_by: Vec<String> = decisions
        .iter()
        .filter(|d| d.1 == "approve")
        .map(|d| plain(&d.0))
        .collect();
    let status = match r.state {
        RequestState::Pending if approved_by.is_empty() => format!(
            "Waiting for approval ({} of {} needed) · asked {} UTC",
            0,
            r.quorum,
            r.created_at.utc_datetime()
        ),
        RequestState::Pending => format!(
            "{} of {} approvals: {} · asked {} UTC",
            approved_by.len(),
            r.quorum,
            approved_by.join(", "),
            r.created_at.utc_datetime()
        ),
        RequestState::Approved => format!(
            ":white_check_mark: *Approved* by {} at {} UTC",
            approved_by.join(", "),
            r.decided_at.unwrap_or(r.created_at).utc_datetime()
        ),
        RequestState::Denied => {
            let denial = decisions.iter().find(|d| d.1 == "deny");
            format!(
                ":x: *Denied* by {} at {} UTC{}",
                denial.map_or_else(
                    || plain(r.decided_by.as_deref().unwrap_or("an approver")),
                    |d| plain(&d.0)
                ),
                r.decided_at.unwrap_or(r.created_at).utc_datetime(),
                denial
                    .filter(|d| !d.2.trim().is_empty())
                    .map(|d| format!(": \"{}\"", plain(d.2.trim())))
                    .unwrap_or_default()
            )
        }
        RequestState::Expired => format!(
            ":hourglass: *Expired* unanswered at {} UTC",
            r.decided_at.unwrap_or(r.created_at).utc_datetime()
        ),
        RequestState::Cancelled => format!(
            "*Cancelled* at {} UTC",
            r.decided_at.unwrap_or(r.created_at).utc_datetime()
        ),
    };
    blocks.push(context(status));
    let page = format!("{}/approvals", core.public_url);
    let value = id.to_string();
    let actions = if r.state != RequestState::Pending {
        vec![link_button("Open in Gatepass", &page)]
    } else if gatepass_only {
        blocks.push(context(
            "This group's policy asks for decisions in Gatepass, not in Slack.".into(),
        ));
        vec![link_button("Decide in Gatepass", &page)]
    } else {
        vec![
            json!({ "type": "button", "action_id": APPROVE, "style": "primary", "value": value,
                    "text": { "type": "plain_text", "text": "Approve" } }),
            json!({ "type": "button", "action_id": DENY, "style": "danger", "value": value,
                    "text": { "type": "plain_text", "text": "Deny…" } }),
            link_button("Open in Gatepass", &page),
        ]
    };
    blocks.push(
        json!({ "type": "actions", "block_id": format!("request-{id}"), "elements": actions }),
    );
    Ok(Some((summary, blocks)))
}

fn request_of(event: &AuditEvent) -> Option<i64> {
    event.subject.strip_prefix("request:")?.parse().ok()
}

async fn post(
    core: &Core,
    token: &SecretString,
    channel: &str,
    (text, blocks): (String, Vec<Value>),
    delivery: i64,
) -> Result<(String, String), DeliveryError> {
    let answer = core
        .slack
        .call(
            token.expose_secret(),
            "chat.postMessage",
            &json!({
                "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false,
                // Where the message came from: receivers (and tests) can recognise a repeat
                // after a crash by it.
                "metadata": { "event_type": "gatepass_delivery",
                              "event_payload": { "delivery": delivery } },
            }),
        )
        .await?;
    Ok((
        answer["channel"].as_str().unwrap_or(channel).to_owned(),
        answer["ts"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Delivers one claimed Slack delivery: a direct message to a person (a request card, or the
/// note email would carry), a card to a channel, or the update of a request's cards. `Some`
/// (why) when there was nobody to deliver to: a person Slack does not know by their email.
pub async fn deliver_slack(core: &Core, claim: &Claim) -> Result<Option<String>, DeliveryError> {
    let (_, token) = workspace(core).await?;
    let event = audit::find_audit_event(&core.db, claim.event_seq)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DeliveryError::permanent("the event is gone"))?;
    if let Some(rest) = claim.target.strip_prefix("refresh:request:") {
        let id: i64 = rest
            .parse()
            .map_err(|_| DeliveryError::permanent("not a request"))?;
        return refresh(core, &token, id).await.map(|_| None);
    }
    let card = store::posts_a_card(&event.action);
    if let Some(channel) = claim.target.strip_prefix("channel:") {
        let id = request_of(&event).ok_or_else(|| DeliveryError::permanent("not a request"))?;
        let message = request_card(core, id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| DeliveryError::permanent("the request is gone"))?;
        post_card(core, &token, channel, id, message, claim.id).await?;
        return Ok(None);
    }
    let person = directory::find_user(&core.db, &claim.target)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DeliveryError::permanent("the person is not in the directory"))?;
    let Some(slack_id) =
        slack_user_for(core, &token, person.okta_id.as_str(), &person.email).await?
    else {
        return Ok(Some(format!(
            "skipped: Slack has nobody with {}'s email address",
            person.display_name
        )));
    };
    let message = if card {
        let id = request_of(&event).ok_or_else(|| DeliveryError::permanent("not a request"))?;
        request_card(core, id).await.map_err(db_error)?
    } else {
        compose(core, &event, &core.public_url, person.okta_id.as_str())
            .await
            .map_err(db_error)?
            .map(|note| note_message(&note))
    }
    .ok_or_else(|| DeliveryError::permanent("nothing to say about this event any more"))?;
    let dm = direct_channel(core, &token, person.okta_id.as_str(), &slack_id).await?;
    match request_of(&event).filter(|_| card) {
        Some(id) => post_card(core, &token, &dm, id, message, claim.id).await?,
        None => {
            post(core, &token, &dm, message, claim.id).await?;
        }
    }
    Ok(None)
}

/// Posts request `id`'s card (`message`, as it stood when rendered) and remembers where, so
/// that the request's next move updates it. If the request moved while the card was on its way
/// (the update then found nothing to update), the card is brought up to date at once.
async fn post_card(
    core: &Core,
    token: &SecretString,
    channel: &str,
    id: i64,
    message: (String, Vec<Value>),
    delivery: i64,
) -> Result<(), DeliveryError> {
    let rendered = message.1.clone();
    let (channel, ts) = post(core, token, channel, message, delivery).await?;
    store::record_post(&core.db, delivery, &channel, &ts)
        .await
        .map_err(db_error)?;
    if let Some((text, blocks)) = request_card(core, id).await.map_err(db_error)? {
        if blocks != rendered {
            update(core, token, &channel, &ts, &text, &blocks).await?;
        }
    }
    Ok(())
}

/// The direct message channel with the app for `okta_id` (Slack user `slack_id`): opened once
/// (`conversations.open`) and remembered.
async fn direct_channel(
    core: &Core,
    token: &SecretString,
    okta_id: &str,
    slack_id: &str,
) -> Result<String, DeliveryError> {
    if let Some(dm) = store::dm_channel(&core.db, okta_id, slack_id)
        .await
        .map_err(db_error)?
    {
        return Ok(dm);
    }
    let opened = core
        .slack
        .call(
            token.expose_secret(),
            "conversations.open",
            &json!({ "users": slack_id }),
        )
        .await?;
    let dm = opened["channel"]["id"]
        .as_str()
        .ok_or_else(|| DeliveryError::permanent("Slack opened no conversation"))?
        .to_owned();
    store::remember_dm_channel(&core.db, okta_id, slack_id, &dm)
        .await
        .map_err(db_error)?;
    Ok(dm)
}

/// Replaces message `ts` in `channel` (`chat.update`).
async fn update(
    core: &Core,
    token: &SecretString,
    channel: &str,
    ts: &str,
    text: &str,
    blocks: &[Value],
) -> Result<(), DeliveryError> {
    core.slack
        .call(
            token.expose_secret(),
            "chat.update",
            &json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks }),
        )
        .await
        .map(|_| ())
}

/// Updates every posted card of request `id` to how it stands now. A card still on its way
/// needs nothing: it shows the request as it is when posted (see [`post_card`]).
async fn refresh(core: &Core, token: &SecretString, id: i64) -> Result<(), DeliveryError> {
    let posts = store::posts_for_request(&core.db, id)
        .await
        .map_err(db_error)?;
    if posts.iter().all(|p| p.ts.is_none()) {
        return Ok(());
    }
    let Some((text, blocks)) = request_card(core, id).await.map_err(db_error)? else {
        return Ok(());
    };
    for p in &posts {
        let (Some(channel), Some(ts)) = (&p.channel_id, &p.ts) else {
            continue;
        };
        update(core, token, channel, ts, &text, &blocks).await?;
    }
    Ok(())
}

/// What Gatepass answers Slack for an interaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with this JSON body, or an empty one.
    Ok(Option<Value>),
    /// 401: not Slack's, stale or replayed; nothing was read.
    Unauthorized(&'static str),
    /// 400: signed, but not something Gatepass understands.
    BadRequest(&'static str),
    /// 404: Slack is not set up here.
    NotFound,
}

/// Why a click was refused, told to the clicker in Slack.
struct Refusal(String);

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal(match e {
            AppError::Forbidden => "Only this request's approvers can decide it.".into(),
            AppError::Invalid { message, .. } => message,
            AppError::Internal | AppError::Unavailable(_) | AppError::Transport(_) => {
                "Gatepass could not record that just now; try again, or decide in Gatepass.".into()
            }
            other => other.to_string(),
        })
    }
}

/// Handles a request to the interactivity endpoint: `body` as received, with Slack's
/// `X-Slack-Request-Timestamp` and `X-Slack-Signature`.
pub async fn interaction(
    core: &Core,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Reply, AppError> {
    let Some(settings) = store::settings(&core.db).await?.filter(|s| s.enabled) else {
        return Ok(Reply::NotFound);
    };
    let secret = read_allowed_secret(core, "Signing secret", &settings.signing_secret_ref)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "slack: the signing secret cannot be read");
            AppError::Unavailable("Slack's signing secret".into())
        })?;
    let now = core.clock.timestamp();
    if let Err(e) = verify(
        secret.expose_secret().as_bytes(),
        timestamp,
        signature,
        body,
        now.millis() / 1000,
    ) {
        tracing::warn!(error = %e, "slack: an interaction was refused");
        return Ok(Reply::Unauthorized(match e {
            SignatureError::Missing => "missing Slack signature",
            SignatureError::Stale => "stale Slack request",
            SignatureError::Mismatch => "invalid Slack signature",
        }));
    }
    let signature = signature.unwrap_or_default();
    if !store::take_signature(
        &core.db,
        signature,
        now,
        now.plus_millis(-2 * MAX_SKEW_SECS * 1000),
    )
    .await?
    {
        tracing::warn!("slack: a replayed interaction was refused");
        return Ok(Reply::Unauthorized("replayed Slack request"));
    }
    let payload = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok());
    let Some(payload) = payload else {
        return Ok(Reply::BadRequest("expected a payload"));
    };
    let (_, token) = match workspace(core).await {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e.message, "slack: the bot token cannot be read");
            return Err(AppError::Unavailable("Slack's bot token".into()));
        }
    };
    let clicker = payload["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    match payload["type"].as_str() {
        Some("block_actions") => {
            let action = &payload["actions"][0];
            let action_id = action["action_id"].as_str().unwrap_or_default();
            if action_id != APPROVE && action_id != DENY {
                return Ok(Reply::Ok(None));
            }
            let channel = payload["channel"]["id"]
                .as_str()
                .or(payload["container"]["channel_id"].as_str())
                .unwrap_or_default()
                .to_owned();
            let outcome = match action["value"].as_str().and_then(|v| v.parse::<i64>().ok()) {
                None => Err(Refusal("This button names no request.".into())),
                Some(id) if action_id == APPROVE => approve(core, &token, &clicker, id).await,
                Some(id) => {
                    open_deny(
                        core,
                        &token,
                        &clicker,
                        id,
                        payload["trigger_id"].as_str().unwrap_or_default(),
                    )
                    .await
                }
            };
            if let Err(Refusal(text)) = outcome {
                tell(core, token, channel, clicker, text);
            }
            Ok(Reply::Ok(None))
        }
        Some("view_submission") if payload["view"]["callback_id"].as_str() == Some(DENY) => {
            let view = &payload["view"];
            let comment = view["state"]["values"]["comment"]["comment"]["value"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let outcome = match view["private_metadata"]
                .as_str()
                .and_then(|v| v.parse::<i64>().ok())
            {
                None => Err(Refusal("This form names no request.".into())),
                Some(id) => deny(core, &token, &clicker, id, comment).await,
            };
            Ok(Reply::Ok(Some(match outcome {
                Ok(()) => json!({ "response_action": "clear" }),
                Err(Refusal(text)) => {
                    json!({ "response_action": "errors", "errors": { "comment": text } })
                }
            })))
        }
        _ => Ok(Reply::Ok(None)),
    }
}

/// Tells `user` in `channel`, for their eyes only, why nothing happened (after answering Slack).
fn tell(core: &Core, token: SecretString, channel: String, user: String, text: String) {
    let core2 = core.clone();
    core.tasks.spawn(async move {
        let sent = core2
            .slack
            .call(
                token.expose_secret(),
                "chat.postEphemeral",
                &json!({ "channel": channel, "user": user, "text": text }),
            )
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e.message, "slack: could not tell a clicker why nothing happened");
        }
    });
}

/// The person behind Slack user `slack_id`, for a decision on request `id`: the one active
/// person whose Okta email Slack names `slack_id` (checked with Slack within the last hour).
/// Someone Gatepass has not matched yet is looked for among the request's approvers and its
/// requester.
async fn clicker(
    core: &Core,
    token: &SecretString,
    slack_id: &str,
    id: i64,
) -> Result<Requester, Refusal> {
    let db = &core.db;
    let started = Instant::now();
    let now = core.clock.timestamp();
    let since = now.plus_millis(-LOOKUP_TTL_MS);
    let mut people = store::people_for_slack_user(db, slack_id, since)
        .await
        .map_err(AppError::from)?;
    if people.is_empty() && !slack_id.is_empty() {
        let mut candidates = store::approvers_with_email(db, id, MAX_CANDIDATES)
            .await
            .map_err(AppError::from)?;
        if let Some(r) = requests::find_request(db, RequestId(id))
            .await
            .map_err(AppError::from)?
        {
            if let Some(u) = directory::find_user(db, r.requester_id.as_str())
                .await
                .map_err(AppError::from)?
            {
                if !u.email.is_empty() {
                    candidates.push((u.okta_id.to_string(), u.email));
                }
            }
        }
        for (okta_id, email) in candidates {
            if started.elapsed() > CLICK_LOOKUP_BUDGET {
                break;
            }
            if slack_user_for(core, token, &okta_id, &email)
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some(slack_id)
            {
                break;
            }
        }
        people = store::people_for_slack_user(db, slack_id, since)
            .await
            .map_err(AppError::from)?;
    }
    let (okta_id, email) = match people.as_slice() {
        [] => {
            return Err(Refusal(
                "Gatepass could not match your Slack account to an Okta person who may decide this request (by your Slack email). Decide in Gatepass instead.".into(),
            ))
        }
        [one] => one.clone(),
        _ => {
            return Err(Refusal(
                "Your Slack email belongs to more than one Okta person, so Gatepass cannot tell who you are. Decide in Gatepass instead.".into(),
            ))
        }
    };
    let (_, _, at) = store::cached_user(db, &okta_id)
        .await
        .map_err(AppError::from)?
        .unwrap_or_default();
    if now - at > CLICK_MATCH_TTL_MS {
        let again = lookup(core, token, &okta_id, &email).await.map_err(|_| {
            Refusal("Gatepass could not check who you are with Slack just now; try again.".into())
        })?;
        if again.as_deref() != Some(slack_id) {
            return Err(Refusal(
                "Your Slack account no longer matches your Okta email. Decide in Gatepass instead."
                    .into(),
            ));
        }
    }
    let identity = VerifiedIdentity {
        sub: okta_id,
        email: None,
        name: None,
        preferred_username: None,
    };
    match resolve_person(db, &core.auth, &identity).await? {
        Standing::Allowed(me) => Ok(requester_from(Some(me))?),
        Standing::Refused { .. } => Err(Refusal(
            "Your Okta account is not active, so you cannot decide requests.".into(),
        )),
    }
}

/// Refuses a decision from Slack on a request whose policy keeps decisions in Gatepass.
async fn allowed_in_slack(core: &Core, id: i64) -> Result<(), Refusal> {
    let Some(policy) = requests::find_request_policy(&core.db, RequestId(id))
        .await
        .map_err(AppError::from)?
    else {
        return Err(AppError::Forbidden.into());
    };
    if serde_json::from_str::<Policy>(&policy).is_ok_and(|p| p.approve_in_gatepass_only) {
        return Err(Refusal(format!(
            "This group's policy asks for decisions in Gatepass, not in Slack: {}/approvals",
            core.public_url
        )));
    }
    Ok(())
}

async fn decide(
    core: &Core,
    who: &Requester,
    id: i64,
    decision: Decision,
    comment: String,
) -> Result<(), Refusal> {
    core.access()
        .decide(
            who,
            DecisionInput {
                request_id: RequestId(id),
                decision,
                comment,
                duration: None,
            },
        )
        .await?;
    Ok(())
}

async fn approve(
    core: &Core,
    token: &SecretString,
    slack_id: &str,
    id: i64,
) -> Result<(), Refusal> {
    let who = clicker(core, token, slack_id, id).await?;
    allowed_in_slack(core, id).await?;
    decide(core, &who, id, Decision::Approve, String::new()).await
}

async fn deny(
    core: &Core,
    token: &SecretString,
    slack_id: &str,
    id: i64,
    comment: String,
) -> Result<(), Refusal> {
    let who = clicker(core, token, slack_id, id).await?;
    allowed_in_slack(core, id).await?;
    decide(core, &who, id, Decision::Deny, comment).await
}

/// Deny asks why first: checks that the clicker could deny, then opens the modal.
async fn open_deny(
    core: &Core,
    token: &SecretString,
    slack_id: &str,
    id: i64,
    trigger: &str,
) -> Result<(), Refusal> {
    let who = clicker(core, token, slack_id, id).await?;
    allowed_in_slack(core, id).await?;
    core.access().check_decidable(&who, RequestId(id)).await?;
    let group = match requests::find_request(&core.db, RequestId(id))
        .await
        .map_err(AppError::from)?
    {
        Some(r) => directory::find_group(&core.db, r.group_id.as_str())
            .await
            .map_err(AppError::from)?
            .map_or_else(|| r.group_id.to_string(), |g| g.name),
        None => return Err(AppError::Forbidden.into()),
    };
    let view = json!({
        "type": "modal",
        "callback_id": DENY,
        "private_metadata": id.to_string(),
        "title": { "type": "plain_text", "text": "Deny the request" },
        "submit": { "type": "plain_text", "text": "Deny" },
        "close": { "type": "plain_text", "text": "Cancel" },
        "blocks": [
            section(format!("Say why you deny this request for *{}*; the requester reads it.", plain(&group))),
            { "type": "input", "block_id": "comment",
              "label": { "type": "plain_text", "text": "Why" },
              "element": { "type": "plain_text_input", "action_id": "comment", "multiline": true,
                           "max_length": 1000 } },
        ],
    });
    core.slack
        .call(
            token.expose_secret(),
            "views.open",
            &json!({ "trigger_id": trigger, "view": view }),
        )
        .await
        .map_err(|e| {
            Refusal(format!(
                "Slack did not open the form ({}); deny in Gatepass instead.",
                e.message
            ))
        })?;
    Ok(())
}

/// The Slack settings and what they connect to, for Admin › Notifications.
pub struct SlackService<'a> {
    pub core: &'a Core,
}

/// What an admin submits for Slack.
#[derive(Debug, Clone, Default)]
pub struct SlackInput {
    pub bot_token_ref: String,
    pub signing_secret_ref: String,
    pub default_channel: String,
    pub enabled: bool,
}

impl SlackService<'_> {
    /// The settings (references, never values).
    pub async fn settings(&self, _admin: &Admin) -> Result<SlackSettings, AppError> {
        Ok(match store::settings(&self.core.db).await? {
            Some(s) => SlackSettings {
                configured: true,
                bot_token_ref: s.bot_token_ref,
                signing_secret_ref: s.signing_secret_ref,
                default_channel: s.default_channel.unwrap_or_default(),
                enabled: s.enabled,
                updated_at: Some(s.updated_at),
                updated_by: s.updated_by,
                interactivity_url: format!("{}/slack/interactions", self.core.public_url),
            },
            None => SlackSettings {
                interactivity_url: format!("{}/slack/interactions", self.core.public_url),
                ..SlackSettings::default()
            },
        })
    }

    /// Checks and saves the settings, audited: both secrets must be readable, and the token
    /// must be one Slack accepts (`auth.test`); returns the workspace and bot it names.
    pub async fn save(&self, admin: &Admin, input: SlackInput) -> Result<String, AppError> {
        self.save_as(&admin.me().login, input).await
    }

    /// [`save`](Self::save) on behalf of `by` (`config`: the server's configuration at start-up,
    /// when no admin has saved settings yet).
    pub async fn save_as(&self, by: &str, input: SlackInput) -> Result<String, AppError> {
        let token = read_allowed_secret(self.core, "Bot token", &input.bot_token_ref).await?;
        read_allowed_secret(self.core, "Signing secret", &input.signing_secret_ref).await?;
        let default_channel = crate::ssr::services::access::slack_channel(&input.default_channel)
            .map_err(|e| match e {
            AppError::Invalid { message, .. } => AppError::invalid("Default channel", message),
            other => other,
        })?;
        let who = if input.enabled {
            self.core
                .slack
                .call(token.expose_secret(), "auth.test", &json!({}))
                .await
                .map(|a| {
                    format!(
                        "Connected to {} as @{}.",
                        a["team"].as_str().unwrap_or("the workspace"),
                        a["user"].as_str().unwrap_or("the bot")
                    )
                })
                .map_err(|e| AppError::invalid("Bot token", e.message))?
        } else {
            "Slack is turned off.".to_owned()
        };
        let now = self.core.clock.timestamp();
        let row = SlackSettingsRow {
            bot_token_ref: input.bot_token_ref.trim().to_owned(),
            signing_secret_ref: input.signing_secret_ref.trim().to_owned(),
            default_channel,
            enabled: input.enabled,
            updated_at: now,
            updated_by: by.to_owned(),
        };
        let mut tx = self.core.db.begin_write().await?;
        store::save_settings(&mut tx, &row).await?;
        audit::insert_audit_event(
            &mut tx,
            now,
            by,
            AuditAction::SlackSaved,
            "slack",
            &json!({
                "bot_token_ref": row.bot_token_ref,
                "signing_secret_ref": row.signing_secret_ref,
                "default_channel": row.default_channel,
                "enabled": row.enabled,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(who)
    }

    /// Sends the admin a test direct message now (not queued); what failed, exactly, if it did.
    pub async fn send_test(&self, admin: &Admin) -> Result<String, AppError> {
        let unavailable = |m: String| AppError::Conflict(format!("Slack test failed: {m}"));
        let (_, token) = workspace(self.core)
            .await
            .map_err(|e| unavailable(e.message))?;
        let me = admin.me();
        let slack_id = lookup(self.core, &token, me.okta_id.as_str(), &me.email)
            .await
            .map_err(|e| unavailable(e.message))?
            .ok_or_else(|| {
                unavailable(format!("Slack has nobody with your email ({})", me.email))
            })?;
        let dm = direct_channel(self.core, &token, me.okta_id.as_str(), &slack_id)
            .await
            .map_err(|e| unavailable(e.message))?;
        let note = crate::ssr::mail::message(
            "Gatepass test message".into(),
            &[format!(
                "This is a test message from Gatepass, sent {} (UTC). Slack works.",
                self.core.clock.timestamp().utc_datetime()
            )],
            "Gatepass",
            &self.core.public_url,
        );
        post(self.core, &token, &dm, note_message(&note), 0)
            .await
            .map_err(|e| unavailable(e.message))?;
        Ok(format!("Sent a test message to you in Slack ({slack_id})."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_text_is_shown_as_written() {
        assert_eq!(
            plain("<!channel> & <@U1|x>"),
            "&lt;!channel&gt; &amp; &lt;@U1|x&gt;"
        );
    }

    #[test]
    fn a_note_becomes_a_message_with_its_link() {
        let note = crate::ssr::mail::message(
            "Approved: ops for 1h".into(),
            &["Your request was approved by <bob>.".into()],
            "My access",
            "https://gatepass.example.com/access",
        );
        let (text, blocks) = note_message(&note);
        assert_eq!(text, "Approved: ops for 1h");
        assert_eq!(
            blocks[0]["text"]["text"],
            "*Approved: ops for 1h*\nYour request was approved by &lt;bob&gt;."
        );
        assert_eq!(
            blocks[1]["elements"][0]["url"],
            "https://gatepass.example.com/access"
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert_eq!(
            Refusal::from(AppError::Forbidden).0,
            "Only this request's approvers can decide it."
        );
        assert_eq!(
            Refusal::from(AppError::invalid("Comment", "say why you deny the request")).0,
            "say why you deny the request"
        );
        assert_eq!(
            Refusal::from(AppError::Conflict(
                "This request was already approved by bob.".into()
            ))
            .0,
            "This request was already approved by bob."
        );
    }
}
