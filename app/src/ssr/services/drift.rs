//! Drift: after every directory sync, Okta's memberships are compared with Gatepass's grants.
//! An active grant whose membership Okta no longer has (`missing`), and a membership of a
//! requestable group that no grant accounts for (`unmanaged`), become items admins act on —
//! re-apply, revoke or ignore — and every step is audited. An item whose cause goes away
//! clears by itself.
//!
//! Memberships with an Okta change queued, in flight, or finished after the sync started are
//! left out: the sync may have read the group before or after the change.

use std::collections::HashSet;

use crate::error::AppError;
use crate::model::{
    AdminAlerts, AuditAction, DriftAction, DriftItem, DriftKind, DriftPage, DriftState, GrantId,
    GrantState, GroupId, OpKind, Timestamp, UserId,
};
use crate::ssr::auth::Admin;
use crate::ssr::clock::Clock;
use crate::ssr::db::{audit, drift, grants, outbox, policies, Db};
use crate::ssr::services::access::AccessService;
use crate::ssr::signal::EngineSignal;

/// Items per page.
pub const PAGE: i64 = 50;
/// Open items at most: an org where a requestable pattern covers groups full of standing
/// members would otherwise list (and audit) every one of them at once. Findings past it are
/// listed by later syncs, as admins deal with the open ones.
pub const MAX_OPEN: usize = 1000;
/// Failed tries after which a removal is called failing (it is retried regardless).
pub const REMOVAL_ALARM_ATTEMPTS: i64 = 3;

/// What one comparison changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DriftReport {
    pub detected: usize,
    pub cleared: usize,
    /// Findings left for a later comparison (over `MAX_OPEN`).
    pub not_listed: usize,
}

/// Finds drift and carries out admins' decisions on it.
pub struct DriftService<'a> {
    pub db: &'a Db,
    pub clock: &'a dyn Clock,
    pub signal: Option<&'a EngineSignal>,
}

impl DriftService<'_> {
    fn now(&self) -> Timestamp {
        self.clock.timestamp()
    }

    /// Ids of the groups a requestable policy covers.
    async fn managed_groups(&self) -> Result<Vec<GroupId>, AppError> {
        let policies = policies::list_policies(self.db).await?;
        Ok(super::catalog::requestable_groups(self.db, &policies)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect())
    }

    /// Compares the directory, as read by the sync that started at `since`, with the grants:
    /// opens an item for each new finding and clears the live items whose cause went away.
    pub async fn detect(&self, since: Timestamp) -> Result<DriftReport, AppError> {
        let mut findings: Vec<(DriftKind, UserId, GroupId, Option<GrantId>)> =
            drift::missing_memberships(self.db, since)
                .await?
                .into_iter()
                .map(|(grant, user, group)| (DriftKind::Missing, user, group, Some(grant)))
                .collect();
        let managed = self.managed_groups().await?;
        findings.extend(
            drift::unmanaged_memberships(self.db, &managed, since)
                .await?
                .into_iter()
                .map(|(user, group)| (DriftKind::Unmanaged, user, group, None)),
        );
        let now = self.now();
        let mut report = DriftReport::default();
        let mut tx = self.db.begin_write().await?;
        let live = drift::live_items(&mut tx).await?;
        let known: HashSet<(DriftKind, &str, &str)> = live
            .iter()
            .map(|i| (i.kind, i.user_id.as_str(), i.group_id.as_str()))
            .collect();
        let found: HashSet<(DriftKind, &str, &str)> = findings
            .iter()
            .map(|(k, u, g, _)| (*k, u.as_str(), g.as_str()))
            .collect();
        let open = live.iter().filter(|i| i.state == DriftState::Open).count();
        let budget = MAX_OPEN.saturating_sub(open);
        for (kind, user, group, grant) in &findings {
            if known.contains(&(*kind, user.as_str(), group.as_str())) {
                continue;
            }
            if report.detected >= budget {
                report.not_listed += 1;
                continue;
            }
            let id = drift::insert_item(&mut tx, *kind, user, group, *grant, now).await?;
            let details = serde_json::json!({ "kind": kind.as_str(), "user": user, "group": group, "grant": grant });
            audit::insert_audit_event(
                &mut tx,
                now,
                "gatepass",
                AuditAction::DriftDetected,
                &format!("drift:{id}"),
                &details,
            )
            .await?;
            report.detected += 1;
        }
        for item in &live {
            if found.contains(&(item.kind, item.user_id.as_str(), item.group_id.as_str())) {
                continue;
            }
            drift::decide_item(
                &mut tx,
                item.id,
                DriftState::Resolved,
                Some("cleared"),
                "gatepass",
                now,
            )
            .await?;
            let details = serde_json::json!({ "kind": item.kind.as_str(), "user": item.user_id, "group": item.group_id });
            audit::insert_audit_event(
                &mut tx,
                now,
                "gatepass",
                AuditAction::DriftCleared,
                &format!("drift:{}", item.id),
                &details,
            )
            .await?;
            report.cleared += 1;
        }
        if report.detected > 0 {
            // One event for the sync's new findings: the admins' alert (not one per item).
            audit::insert_audit_event(
                &mut tx,
                now,
                "gatepass",
                AuditAction::DriftFound,
                "drift",
                &serde_json::json!({ "detected": report.detected, "not_listed": report.not_listed }),
            )
            .await?;
        }
        tx.commit().await?;
        if report.detected > 0 {
            tracing::warn!(
                detected = report.detected,
                cleared = report.cleared,
                not_listed_yet = report.not_listed,
                "drift between Okta and Gatepass found"
            );
        }
        Ok(report)
    }

    /// What needs an admin's attention now.
    pub async fn alerts(&self, _admin: &Admin) -> Result<AdminAlerts, AppError> {
        let c = drift::alert_counts(self.db, REMOVAL_ALARM_ATTEMPTS).await?;
        Ok(AdminAlerts {
            drift_open: c.0,
            removals_failing: c.1,
            grants_failed: c.2,
            notifications_failed: c.3,
            emergencies_live: c.4,
            emergencies_unreviewed: c.5,
        })
    }

    /// Items in `state` (`open`, `ignored`, `resolved`; empty = open), newest first, below id
    /// `before` (0 = from the newest).
    pub async fn list(
        &self,
        _admin: &Admin,
        state: &str,
        before: i64,
    ) -> Result<DriftPage, AppError> {
        let state = match state.trim() {
            "" => DriftState::Open,
            s => DriftState::parse(s)
                .ok_or_else(|| AppError::invalid("state", "choose open, ignored or resolved"))?,
        };
        let mut items = drift::list_items(self.db, &[state], None, before, PAGE + 1).await?;
        let next = (items.len() as i64 > PAGE).then(|| {
            items.truncate(PAGE as usize);
            items.last().map_or(0, |i| i.id)
        });
        let (open, ignored) = drift::count_live(self.db).await?;
        Ok(DriftPage {
            items,
            next,
            open,
            ignored,
            capped: open >= MAX_OPEN as i64,
        })
    }

    /// Carries out an admin's decision on an open (or ignored) item; returns it as it is now.
    pub async fn act(&self, admin: &Admin, id: i64, action: &str) -> Result<DriftItem, AppError> {
        let action = DriftAction::parse(action.trim())
            .ok_or_else(|| AppError::invalid("action", "choose reapply, revoke or ignore"))?;
        let who = admin.me().login.clone();
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let item = drift::find_item_tx(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::NotFound("That drift item".into()))?;
        if item.state == DriftState::Resolved {
            return Err(AppError::Conflict(
                "This drift item is already resolved.".into(),
            ));
        }
        let (state, resolution, audit_action) = match (action, item.kind) {
            (DriftAction::Ignore, _) => {
                if item.state == DriftState::Ignored {
                    return Err(AppError::Conflict(
                        "This drift item is already ignored.".into(),
                    ));
                }
                (DriftState::Ignored, None, AuditAction::DriftIgnored)
            }
            (DriftAction::Reapply, DriftKind::Missing) => {
                let grant = match item.grant_id {
                    Some(g) => grants::find_grant_tx(&mut tx, g).await?,
                    None => None,
                };
                let Some(grant) = grant.filter(|g| g.state == GrantState::Active) else {
                    return Err(AppError::Conflict(
                        "The grant is no longer active; there is nothing to re-apply.".into(),
                    ));
                };
                outbox::insert_okta_op(
                    &mut tx,
                    OpKind::Add,
                    &grant.user_id,
                    (&grant.group_id, grant.resource),
                    Some(grant.id),
                    now,
                )
                .await?;
                (
                    DriftState::Resolved,
                    Some("reapplied"),
                    AuditAction::DriftReapplied,
                )
            }
            (DriftAction::Reapply, DriftKind::Unmanaged) => {
                return Err(AppError::invalid(
                    "action",
                    "a membership made outside Gatepass has no grant to re-apply: revoke or ignore it",
                ));
            }
            (DriftAction::Revoke, DriftKind::Missing) => {
                let grant = item.grant_id.ok_or(AppError::Internal)?;
                AccessService {
                    db: self.db,
                    clock: self.clock,
                    signal: self.signal,
                    on_call: None,
                }
                .end_grant_tx(
                    &mut tx,
                    &who,
                    grant,
                    "revoked by an admin: its Okta membership had gone (drift)",
                    None,
                )
                .await?;
                (
                    DriftState::Resolved,
                    Some("revoked"),
                    AuditAction::DriftRevoked,
                )
            }
            (DriftAction::Revoke, DriftKind::Unmanaged) => {
                outbox::insert_okta_op(
                    &mut tx,
                    OpKind::Remove,
                    &item.user_id,
                    (&item.group_id, crate::model::Resource::Group),
                    None,
                    now,
                )
                .await?;
                (
                    DriftState::Resolved,
                    Some("revoked"),
                    AuditAction::DriftRevoked,
                )
            }
        };
        drift::decide_item(&mut tx, item.id, state, resolution, &who, now).await?;
        let details = serde_json::json!({
            "kind": item.kind.as_str(), "user": item.user_id, "group": item.group_id, "grant": item.grant_id,
        });
        audit::insert_audit_event(
            &mut tx,
            now,
            &who,
            audit_action,
            &format!("drift:{}", item.id),
            &details,
        )
        .await?;
        tx.commit().await?;
        if let Some(signal) = self.signal {
            signal.wake();
        }
        let states = [DriftState::Open, DriftState::Ignored, DriftState::Resolved];
        drift::list_items(self.db, &states, None, item.id + 1, 1)
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::Internal)
    }
}
