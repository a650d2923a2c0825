//! Audit events as people read them: "Priya Natarajan approved request #12 for prod-db-admin:
//! “ok for today”" — names instead of Okta ids and logins, the request, grant and group as
//! links to their pages, and for a policy or settings change each field before → after. Names
//! are read in a few batched queries per page, whatever its length.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::error::AppError;
use crate::model::{AuditEvent, AuditLine, GroupId, Phrase, UserId};
use crate::ssr::db::{audit, directory, grants, Db};

/// Detail keys that hold a person's Okta id.
const PERSON_KEYS: [&str; 6] = ["user", "requester", "delegate", "for", "holder", "approver"];
/// Detail keys that hold a group's (or an app's) Okta id.
const RESOURCE_KEYS: [&str; 2] = ["group", "app"];

/// What each action does, as a verb phrase; others read as the action's own name in words.
const VERBS: [(&str, &str); 38] = [
    ("okta.integration.saved", "saved the Okta integration"),
    ("okta.sync.requested", "asked for a directory sync"),
    ("policy.saved", "saved the policy for"),
    ("policy.deleted", "deleted the policy for"),
    ("policy.applied", "applied a policies file"),
    ("request.created", "asked for"),
    ("request.created.extension", "asked to extend"),
    (
        "request.approval_recorded",
        "approved (more approvals needed)",
    ),
    ("request.approved", "approved"),
    ("request.denied", "denied"),
    ("request.cancelled", "cancelled"),
    ("request.expired", "let expire, undecided,"),
    ("request.reminder_sent", "reminded the approvers of"),
    ("request.escalated", "told the admins of the long wait of"),
    (
        "request.escalated.second_tier",
        "escalated to the second tier",
    ),
    ("request.escalated.admins", "escalated to the admins"),
    ("request.delegated", "routed to a delegate"),
    ("request.emergency", "activated emergency access with"),
    (
        "request.emergency_reviewed",
        "reviewed the emergency access of",
    ),
    ("request.delegation_saved", "named a delegate"),
    ("request.delegation_removed", "removed a delegate"),
    ("grant.scheduled", "scheduled"),
    ("grant.started", "started"),
    ("grant.extended", "extended"),
    ("grant.expired", "ended at expiry"),
    ("grant.expiring_soon", "warned the holder of the end of"),
    ("grant.ended", "ended"),
    ("grant.retried", "retried"),
    ("okta.membership.added", "added in Okta the membership of"),
    (
        "okta.membership.removed",
        "removed in Okta the membership of",
    ),
    (
        "okta.membership.add_skipped",
        "did not add (already ended) the membership of",
    ),
    (
        "okta.membership.add_failed",
        "could not add in Okta the membership of",
    ),
    (
        "okta.membership.remove_failing",
        "keeps failing to remove in Okta the membership of",
    ),
    ("okta.app.assigned", "assigned in Okta the app of"),
    ("okta.app.unassigned", "unassigned in Okta the app of"),
    (
        "okta.app.assignment_kept",
        "ended, keeping the app a group gives,",
    ),
    ("policy.bundle_saved", "saved a bundle"),
    ("policy.bundle_deleted", "deleted a bundle"),
];

fn verb(action: &str) -> Option<&'static str> {
    VERBS.iter().find(|(a, _)| *a == action).map(|(_, v)| *v)
}

/// The events as people read them, in the same order.
pub async fn readable(db: &Db, events: &[AuditEvent]) -> Result<Vec<AuditLine>, AppError> {
    let details: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.details).unwrap_or(Value::Null))
        .collect();
    let logins: Vec<String> = events
        .iter()
        .map(|e| e.actor.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut people: BTreeSet<UserId> = BTreeSet::new();
    let mut resources: BTreeSet<GroupId> = BTreeSet::new();
    for d in &details {
        for k in PERSON_KEYS {
            if let Some(id) = d.get(k).and_then(Value::as_str) {
                people.insert(UserId::from(id));
            }
        }
        for k in RESOURCE_KEYS {
            if let Some(id) = d.get(k).and_then(Value::as_str) {
                resources.insert(GroupId::from(id));
            }
        }
    }
    for e in events {
        if let Some(id) = e.subject.strip_prefix("group:") {
            resources.insert(GroupId::from(id));
        }
    }
    let grant_ids: Vec<i64> = events
        .iter()
        .filter_map(|e| e.subject.strip_prefix("grant:")?.parse().ok())
        .collect();
    let by_login = directory::names_by_login(db, &logins).await?;
    let names = directory::names(db, &people, &resources).await?;
    let requests = grants::requests_of_grants(db, &grant_ids).await?;
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let chain = audit::chain_of(db, &seqs).await?;
    let mut lines = Vec::with_capacity(events.len());
    for (e, d) in events.iter().zip(&details) {
        let actor = match e.actor.as_str() {
            "gatepass" => "Gatepass".to_owned(),
            "config" => "The configuration".to_owned(),
            login => by_login
                .get(login)
                .cloned()
                .unwrap_or_else(|| login.to_owned()),
        };
        let mut sentence = vec![Phrase::Name(actor), Phrase::Text(" ".into())];
        sentence.push(Phrase::Text(
            verb(&e.action).map_or_else(|| e.action.replace(['.', '_'], " "), str::to_owned),
        ));
        if let Some(object) = subject_phrase(&e.subject, &requests, &names) {
            sentence.push(Phrase::Text(" ".into()));
            sentence.push(object);
        }
        for k in RESOURCE_KEYS {
            if let Some(id) = d.get(k).and_then(Value::as_str) {
                if e.subject != format!("group:{id}") {
                    sentence.push(Phrase::Text(" for ".into()));
                    sentence.push(Phrase::Name(names.group(&GroupId::from(id))));
                }
            }
        }
        for k in PERSON_KEYS {
            if let Some(id) = d.get(k).and_then(Value::as_str) {
                sentence.push(Phrase::Text(
                    if k == "for" { " for " } else { " · " }.into(),
                ));
                sentence.push(Phrase::Name(names.user(&UserId::from(id))));
            }
        }
        for k in ["comment", "reason"] {
            if let Some(text) = d.get(k).and_then(Value::as_str).filter(|t| !t.is_empty()) {
                sentence.push(Phrase::Text(format!(": “{text}”")));
                break;
            }
        }
        let changes = match (d.get("before"), d.get("after")) {
            (Some(before), Some(after)) => changes(before, after),
            _ if e.action == "policy.saved" => {
                match audit::previous_about(db, &e.subject, e.seq).await? {
                    Some(prev) => changes(
                        &serde_json::from_str(&prev.details).unwrap_or(Value::Null),
                        d,
                    ),
                    None => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        let (prev_hash, hash) = chain.get(&e.seq).cloned().unwrap_or_default();
        lines.push(AuditLine {
            seq: e.seq,
            at: e.at,
            action: e.action.clone(),
            sentence,
            details: serde_json::to_string_pretty(d).unwrap_or_else(|_| e.details.clone()),
            changes,
            prev_hash,
            hash,
        });
    }
    Ok(lines)
}

/// The subject as a link to its page, or as words.
fn subject_phrase(
    subject: &str,
    requests: &HashMap<i64, i64>,
    names: &directory::Names,
) -> Option<Phrase> {
    let (kind, id) = subject.split_once(':')?;
    Some(match kind {
        "request" => Phrase::Link {
            text: format!("request #{id}"),
            href: format!("/requests/{id}"),
        },
        "grant" => match id.parse::<i64>().ok().and_then(|g| requests.get(&g)) {
            Some(request) => Phrase::Link {
                text: format!("grant #{id}"),
                href: format!("/requests/{request}"),
            },
            None => Phrase::Text(format!("grant #{id}")),
        },
        "group" => Phrase::Link {
            text: names.group(&GroupId::from(id)),
            href: format!("/admin/groups/{}", crate::url::encode_query_value(id)),
        },
        "pattern" => Phrase::Text(format!("groups named {id}")),
        _ => Phrase::Text(subject.to_owned()),
    })
}

/// Each top-level field (and each field of `rules`) that differs between `before` and
/// `after`: (field, before, after), with `—` for absent.
pub fn changes(before: &Value, after: &Value) -> Vec<(String, String, String)> {
    fn show(v: Option<&Value>) -> String {
        match v {
            None | Some(Value::Null) => "—".into(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
    let mut out = Vec::new();
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let all: BTreeSet<String> = keys(before).union(&keys(after)).cloned().collect();
    for k in all {
        // Stamps change on every save and say nothing about the policy.
        if matches!(k.as_str(), "updated_at" | "updated_by" | "id") {
            continue;
        }
        let (b, a) = (before.get(&k), after.get(&k));
        if b == a {
            continue;
        }
        match (b, a) {
            (Some(b @ Value::Object(_)), Some(a @ Value::Object(_))) => {
                for (field, was, now) in changes(b, a) {
                    out.push((format!("{k}.{field}"), was, now));
                }
            }
            _ => out.push((k, show(b), show(a))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_list_each_field_that_moved_and_skip_stamps() {
        let before = json!({"quorum": 1, "rules": {"max_live_grants": null}, "updated_at": 1, "approver_users": ["a"]});
        let after = json!({"quorum": 2, "rules": {"max_live_grants": 3}, "updated_at": 2, "approver_users": ["a"], "ticket_pattern": "OPS-\\d+"});
        assert_eq!(
            changes(&before, &after),
            vec![
                ("quorum".into(), "1".into(), "2".into()),
                ("rules.max_live_grants".into(), "—".into(), "3".into()),
                ("ticket_pattern".into(), "—".into(), "OPS-\\d+".into()),
            ]
        );
        assert!(changes(&after, &after).is_empty());
    }

    /// The sentence as plain text, links as `[text](href)`, names as `*name*`.
    fn plain(line: &AuditLine) -> String {
        line.sentence
            .iter()
            .map(|p| match p {
                Phrase::Text(t) => t.clone(),
                Phrase::Name(n) => format!("*{n}*"),
                Phrase::Link { text, href } => format!("[{text}]({href})"),
            })
            .collect()
    }

    #[tokio::test]
    async fn events_read_as_sentences_with_names_links_and_policy_changes() {
        use crate::ssr::services::access::AccessService;
        use crate::ssr::services::access_tests::{
            admin, approve, ask, person, policy, with_service,
        };
        with_service(|db, clock| async move {
            let s = AccessService {
                db: &db,
                clock: &clock,
                signal: None,
                on_call: None,
            };
            let target = crate::model::PolicyTarget::Group("aws-prod".into());
            s.save_policy(&admin(), policy(target.clone())).await.unwrap();
            s.save_policy(
                &admin(),
                crate::ssr::services::access::PolicyInput {
                    quorum: 2,
                    ..policy(target)
                },
            )
            .await
            .unwrap();
            let r = s
                .request_access(&person("ada"), ask("aws-prod", "1h"))
                .await
                .unwrap();
            s.decide(&person("cy"), approve(r.id)).await.unwrap();
            let events = audit::list_audit_events(&db, None, 50).await.unwrap();
            let lines = readable(&db, &events).await.unwrap();
            let text: Vec<String> = lines.iter().map(plain).collect();
            let id = r.id;
            assert!(
                text.contains(&format!("*ada* asked for [request #{id}](/requests/{id}) for *aws-prod*: “deploy the fix”")),
                "{text:#?}"
            );
            assert!(
                text.contains(&format!("*cy* approved (more approvals needed) [request #{id}](/requests/{id}) for *aws-prod*: “ok”")),
                "{text:#?}"
            );
            // The second save shows what changed, field by field.
            let saved: Vec<&AuditLine> =
                lines.iter().filter(|l| l.action == "policy.saved").collect();
            assert_eq!(saved.len(), 2);
            assert_eq!(
                saved[0].changes,
                vec![("quorum".to_owned(), "1".to_owned(), "2".to_owned())],
                "newest first"
            );
            assert!(saved[1].changes.is_empty(), "the first save has nothing before it");
            assert!(!saved[0].hash.is_empty() && saved[0].prev_hash != saved[0].hash);
        })
        .await;
    }

    #[test]
    fn every_verb_is_for_an_action_gatepass_records() {
        let known: Vec<&str> = crate::model::AuditAction::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        for (action, _) in VERBS {
            assert!(known.contains(&action), "{action}");
        }
    }
}
