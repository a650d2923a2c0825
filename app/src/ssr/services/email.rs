//! Email to people: what each event says to the person it concerns — new requests to their
//! approvers, decisions to the requester, a grant's start, failure and end to its holder (who
//! gets what: `db::notifications::audience`) — with links to the page where they act, and the
//! delivery of one queued email through the configured SMTP server (`ssr::mail`).

use crate::model::{AuditEvent, GrantId, GrantState, RequestId, Timestamp};
use crate::ssr::core::Core;
use crate::ssr::db::notifications::Claim;
use crate::ssr::db::{audit, directory, grants, requests, reviews, DbError};
use crate::ssr::delivery::DeliveryError;
use crate::ssr::mail::{message, send, Note};

fn duration(secs: i64) -> String {
    crate::format::describe_duration(secs)
}

fn details(event: &AuditEvent) -> serde_json::Value {
    serde_json::from_str(&event.details).unwrap_or(serde_json::Value::Null)
}

/// What `event` says to `recipient` (by email or in Slack) (an Okta user id), with links under `links`; `None` for an
/// event that goes to no one by email (or whose request or grant is gone).
pub async fn compose(
    core: &Core,
    event: &AuditEvent,
    links: &str,
    recipient: &str,
) -> Result<Option<Note>, DbError> {
    let db = &core.db;
    let (kind, id) = event
        .subject
        .split_once(':')
        .unwrap_or((&event.subject, "0"));
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let group_name = |g: String| async move {
        Ok::<_, DbError>(
            directory::find_group(db, &g)
                .await?
                .map_or(g.clone(), |g| g.name),
        )
    };
    let person_name = |u: String| async move {
        Ok::<_, DbError>(
            directory::find_user(db, &u)
                .await?
                .map_or(u.clone(), |u| u.display_name),
        )
    };
    let d = details(event);
    if event.action == "drift.found" {
        let n = d["detected"].as_i64().unwrap_or_default();
        let what = if n == 1 {
            "1 new drift item".to_owned()
        } else {
            format!("{n} new drift items")
        };
        return Ok(Some(message(
            format!("Okta and Gatepass disagree: {what}"),
            &[
                format!(
                    "The last directory sync found {what}: memberships in Okta that no grant explains, or grants whose membership is missing."
                ),
                "Review them: keep (ignore), revoke, or re-apply each one.".to_owned(),
            ],
            "Drift",
            &format!("{links}/admin/drift"),
        )));
    }
    if event.action == "okta.membership.remove_failing" {
        // To admins: the grant's holder and group, or (a removal without a grant) the event's.
        let (user, group) = match grants::find_grant(db, GrantId(id)).await? {
            Some(g) if kind == "grant" => (g.user_id.to_string(), g.group_id.to_string()),
            _ => (
                d["user"].as_str().unwrap_or_default().to_owned(),
                d["group"].as_str().unwrap_or_default().to_owned(),
            ),
        };
        let (who, group) = (person_name(user).await?, group_name(group).await?);
        let tries = d["attempts"].as_i64().unwrap_or_default();
        return Ok(Some(message(
            format!("Removing {who} from {group} keeps failing in Okta"),
            &[
                format!(
                    "Okta has refused or failed to remove {who} from {group} {tries} times; Gatepass keeps retrying, but until it succeeds they hold access that has ended."
                ),
                format!(
                    "Last error: {}",
                    d["error"].as_str().unwrap_or("unknown")
                ),
                "Check the Okta integration (credential, its rights over this group) and the server log.".to_owned(),
            ],
            "Requests and grants",
            &format!("{links}/admin/access"),
        )));
    }
    if kind == "request" {
        let Some(r) = requests::find_request(db, RequestId(id)).await? else {
            return Ok(None);
        };
        let group = group_name(r.group_id.to_string()).await?;
        let how_long = duration(r.duration_secs);
        let composed = match event.action.as_str() {
            "request.created" | "request.created.extension" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let what = if event.action.ends_with("extension") {
                    "an extension of"
                } else {
                    "membership of"
                };
                let mut lines = vec![format!("{who} asks for {what} {group} for {how_long}.")];
                if !r.reason.trim().is_empty() {
                    lines.push(format!("Reason: {}", r.reason.trim()));
                }
                if let Some(ticket) = &r.ticket {
                    lines.push(match &r.ticket_url {
                        Some(link) => format!("Ticket: {ticket} ({link})"),
                        None => format!("Ticket: {ticket}"),
                    });
                }
                message(
                    format!("{who} asks for {group} ({how_long})"),
                    &lines,
                    "Approve or deny",
                    &format!("{links}/approvals"),
                )
            }
            "request.approval_recorded" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let approvals = d["approvals"].as_i64().unwrap_or(r.approvals);
                message(
                    format!("{} approved {who}'s request for {group} ({approvals} of {})", event.actor, r.quorum),
                    &[
                        format!(
                            "{} approved {who}'s request for {group} ({how_long}): {approvals} of the {} approvals it needs.",
                            event.actor, r.quorum
                        ),
                        "Approve or deny it too.".to_owned(),
                    ],
                    "Approve or deny",
                    &format!("{links}/approvals"),
                )
            }
            "request.reminder_sent" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let waiting = crate::format::describe_duration((event.at - r.created_at) / 1000);
                let mut lines = vec![format!(
                    "{who} has been waiting {waiting} for membership of {group} ({how_long})."
                )];
                if !r.reason.trim().is_empty() {
                    lines.push(format!("Reason: {}", r.reason.trim()));
                }
                message(
                    format!("Still waiting: {who} asks for {group}"),
                    &lines,
                    "Approve or deny",
                    &format!("{links}/approvals"),
                )
            }
            "request.delegated" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let away = person_name(d["for"].as_str().unwrap_or_default().to_owned()).await?;
                let mut lines = vec![
                    format!("{away} is away and named you to stand in: {who} asks for {group} ({how_long})."),
                ];
                if !r.reason.trim().is_empty() {
                    lines.push(format!("Reason: {}", r.reason.trim()));
                }
                message(
                    format!("Standing in for {away}: {who} asks for {group}"),
                    &lines,
                    "Approve or deny",
                    &format!("{links}/approvals"),
                )
            }
            "request.emergency" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let mut lines = vec![
                    format!("{who} used break-glass: emergency access to {group} for {how_long}, without approval. It is active now."),
                    format!("Reason: {}", r.reason.trim()),
                ];
                if let Some(ticket) = &r.ticket {
                    lines.push(format!("Ticket: {ticket}"));
                }
                lines.push("An approver reviews it afterwards: confirm it was justified, or flag it.".to_owned());
                message(
                    format!("Emergency access: {who} activated {group}"),
                    &lines,
                    "Review it",
                    &format!("{links}/approvals"),
                )
            }
            "request.escalated.second_tier" | "request.escalated.admins" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let waiting = crate::format::describe_duration((event.at - r.created_at) / 1000);
                let to = if event.action.ends_with("admins") { "the admins" } else { "its second tier of approvers" };
                message(
                    format!("Escalated: {who} asks for {group}"),
                    &[
                        format!("{who} has waited {waiting} for membership of {group} ({how_long}); nobody decided, so it went to {to}, you among them."),
                    ],
                    "Approve or deny",
                    &format!("{links}/approvals"),
                )
            }
            "request.escalated" => {
                let who = person_name(r.requester_id.to_string()).await?;
                let waiting = crate::format::describe_duration((event.at - r.created_at) / 1000);
                message(
                    format!("Nobody has decided: {who} asks for {group}"),
                    &[
                        format!(
                            "{who} has been waiting {waiting} for membership of {group} ({how_long}) and none of its approvers has decided."
                        ),
                        "Remind them, change the policy's approvers, or cancel the request.".to_owned(),
                    ],
                    "Requests and grants",
                    &format!("{links}/admin/access"),
                )
            }
            "request.approved" => message(
                format!("Approved: {group} for {how_long}"),
                &[format!(
                    "Your request for {group} ({how_long}) was approved by {}.",
                    event.actor
                )],
                "My access",
                &format!("{links}/access"),
            ),
            "request.denied" => {
                let mut lines = vec![format!(
                    "Your request for {group} was denied by {}.",
                    event.actor
                )];
                if let Some(c) = d["comment"].as_str().filter(|c| !c.trim().is_empty()) {
                    lines.push(format!("Comment: {}", c.trim()));
                }
                message(
                    format!("Denied: {group}"),
                    &lines,
                    "My access",
                    &format!("{links}/access"),
                )
            }
            "request.expired" => message(
                format!("Expired: your request for {group}"),
                &[format!(
                    "Your request for {group} was not decided in time and has expired. You may ask again."
                )],
                "Ask again",
                &format!("{links}/request/{}", r.group_id),
            ),
            "request.cancelled" => {
                let mut lines = vec![format!("Your request for {group} was cancelled.")];
                if let Some(why) = d["reason"].as_str() {
                    lines.push(format!("Why: {why}"));
                }
                message(
                    format!("Cancelled: your request for {group}"),
                    &lines,
                    "My access",
                    &format!("{links}/access"),
                )
            }
            _ => return Ok(None),
        };
        return Ok(Some(composed));
    }
    if kind == "grant" {
        let Some(g) = grants::find_grant(db, GrantId(id)).await? else {
            return Ok(None);
        };
        let group = group_name(g.group_id.to_string()).await?;
        let until = g.ends_at.utc_datetime();
        let composed = match event.action.as_str() {
            "grant.started" => message(
                format!("You are in {group} until {until}"),
                &[format!(
                    "Okta now lists you as a member of {group}. Your access ends at {until} (UTC); Gatepass removes it then."
                )],
                "My access",
                &format!("{links}/access"),
            ),
            "grant.scheduled" => message(
                format!("Scheduled: {group} from {}", g.starts_at.utc_datetime()),
                &[format!(
                    "Your access to {group} starts at {} and ends at {until} (UTC).",
                    g.starts_at.utc_datetime()
                )],
                "My access",
                &format!("{links}/access"),
            ),
            "grant.expiring_soon" => {
                let left = crate::format::describe_duration((g.ends_at - event.at) / 1000);
                message(
                    format!("Your access to {group} ends in {left}"),
                    &[
                        format!("Your access to {group} ends at {until} (UTC), in about {left}."),
                        "Need longer? Ask for an extension: your approvers decide as before."
                            .to_owned(),
                    ],
                    "Extend",
                    &format!("{links}/request/{}", g.group_id),
                )
            }
            "okta.membership.add_failed" if recipient != g.user_id.as_str() => {
                let who = person_name(g.user_id.to_string()).await?;
                message(
                    format!("Okta refused to add {who} to {group}"),
                    &[
                        format!(
                            "{who}'s approved access to {group} did not start: Okta refused the membership."
                        ),
                        format!("Error: {}", d["error"].as_str().unwrap_or("unknown")),
                        "Fix the cause (often the integration's rights over the group), then retry the grant.".to_owned(),
                    ],
                    "Requests and grants",
                    &format!("{links}/admin/access"),
                )
            }
            "okta.membership.add_failed" => message(
                format!("Gatepass could not add you to {group}"),
                &[format!(
                    "Okta refused to add you to {group}, so your approved access did not start. An administrator has been told and can retry it."
                )],
                "My access",
                &format!("{links}/access"),
            ),
            "grant.ended" | "grant.expired" => {
                let why = if event.action == "grant.expired" {
                    "its time is up".to_owned()
                } else {
                    d["reason"].as_str().unwrap_or("it was ended").to_owned()
                };
                let state = if g.state == GrantState::Revoked {
                    "has been removed"
                } else {
                    "is being removed"
                };
                message(
                    format!("Your access to {group} has ended"),
                    &[format!(
                        "Your access to {group} ended ({why}); your Okta membership {state}."
                    )],
                    "Ask again",
                    &format!("{links}/request/{}", g.group_id),
                )
            }
            _ => return Ok(None),
        };
        return Ok(Some(composed));
    }
    if kind == "review" {
        let Some(c) = reviews::find_campaign(db, id).await? else {
            return Ok(None);
        };
        let due = c.due_at.utc_datetime();
        let undecided = match crate::model::DefaultAction::parse(&c.default_action) {
            Some(crate::model::DefaultAction::Revoke) => "removed",
            _ => "kept and flagged as not certified",
        };
        let lines = |first: String| {
            vec![
                first,
                format!("For each person, keep or revoke their membership by {due} (UTC). What nobody decides by then is {undecided}."),
            ]
        };
        let composed = match event.action.as_str() {
            "review.started" => message(
                format!("Access review: {}", c.name),
                &lines(format!(
                    "The access review \"{}\" has started and you are one of its reviewers.",
                    c.name
                )),
                "Review",
                &format!("{links}/reviews/{id}"),
            ),
            "review.reminder_sent" => message(
                format!("Reminder: access review {} is due {due}", c.name),
                &lines(format!(
                    "You still have memberships to review in \"{}\".",
                    c.name
                )),
                "Review",
                &format!("{links}/reviews/{id}"),
            ),
            _ => return Ok(None),
        };
        return Ok(Some(composed));
    }
    Ok(None)
}

/// The `Message-ID` of event `seq`'s email to `person`: the same on every try, so repeats
/// after a crash can be recognised.
pub fn message_id(seq: i64, person: &str) -> String {
    format!("<evt-{seq}-{person}@gatepass>")
}

/// Delivers one claimed email delivery: the person, the message, the SMTP server.
pub async fn deliver_email(core: &Core, claim: &Claim) -> Result<(), DeliveryError> {
    let db_error = |e: DbError| DeliveryError {
        message: format!("Gatepass could not read the delivery: {e}"),
        retry: true,
        retry_after: None,
    };
    let permanent = |message: &str| DeliveryError {
        message: message.to_owned(),
        retry: false,
        retry_after: None,
    };
    let Some(settings) = core.email.as_ref() else {
        return Err(permanent("email is not configured on this server"));
    };
    let person = directory::find_user(&core.db, &claim.target)
        .await
        .map_err(db_error)?
        .ok_or_else(|| permanent("the person is not in the directory"))?;
    let event = audit::find_audit_event(&core.db, claim.event_seq)
        .await
        .map_err(db_error)?
        .ok_or_else(|| permanent("the event is gone"))?;
    let composed = compose(core, &event, &settings.links, person.okta_id.as_str())
        .await
        .map_err(db_error)?
        .ok_or_else(|| permanent("nothing to say about this event any more"))?;
    send(
        &core.secrets,
        settings,
        (&person.display_name, &person.email),
        &message_id(event.seq, person.okta_id.as_str()),
        composed.to_email(),
    )
    .await
}

/// A test message to `to` now (not queued); what the server answered.
pub async fn send_test(core: &Core, to: (&str, &str), now: Timestamp) -> Result<(), DeliveryError> {
    let Some(settings) = core.email.as_ref() else {
        return Err(DeliveryError {
            message: "email is not configured on this server ([notifications.email])".into(),
            retry: false,
            retry_after: None,
        });
    };
    let composed = message(
        "Gatepass test message".into(),
        &[format!(
            "This is a test message from Gatepass, sent {} (UTC). Email works.",
            now.utc_datetime()
        )],
        "Gatepass",
        &settings.links,
    );
    send(
        &core.secrets,
        settings,
        to,
        &format!("<test-{:016x}@gatepass>", rand::random::<u64>()),
        composed.to_email(),
    )
    .await
}
