//! Admin › Groups: every synced group with its members, the policy that applies, live grants
//! and drift — the admin's view of who is in a group and why.

use crate::error::AppError;
use crate::model::{
    DriftState, GrantId, GroupDetail, GroupId, GroupKind, GroupList, GroupMember, GroupSummary,
    Policy, UserId,
};
use crate::ssr::auth::Admin;
use crate::ssr::db::directory::{self, GroupCounts};
use crate::ssr::db::{drift, grants, policies, sync as runs, Db};
use crate::ssr::services::policy::resolve_policy;

/// Groups per page.
pub const PAGE: i64 = 25;
/// Members listed on a group's page.
pub const MEMBERS_SHOWN: i64 = 500;

/// Read-only views of groups for admins.
pub struct GroupsService<'a> {
    pub db: &'a Db,
}

fn summary(c: GroupCounts, policies: &[Policy]) -> (GroupSummary, Option<Policy>) {
    let manageable = GroupKind::OktaGroup.is(&c.record.okta_type) && !c.record.managed_by_rule;
    let policy = resolve_policy(policies, &c.record.okta_id, &c.record.name).cloned();
    (
        GroupSummary {
            policy: policy.as_ref().map(|p| match &p.target {
                crate::model::PolicyTarget::Group(_) => c.record.name.clone(),
                crate::model::PolicyTarget::Pattern(pat) => pat.clone(),
                // Never resolved for a group: a bundle's policy applies to the bundle.
                crate::model::PolicyTarget::Bundle(b) => format!("bundle #{b}"),
                crate::model::PolicyTarget::App(a) => format!("app {a}"),
            }),
            requestable: manageable && policy.as_ref().is_some_and(|p| p.requestable),
            group_id: c.record.okta_id,
            name: c.record.name,
            okta_type: c.record.okta_type,
            managed_by_rule: c.record.managed_by_rule,
            members: c.members,
            live_grants: c.live_grants,
        },
        policy,
    )
}

impl GroupsService<'_> {
    /// Groups whose name contains `search`, `PAGE` at a time after the group named `after`.
    pub async fn list(
        &self,
        _admin: &Admin,
        search: &str,
        after: &str,
    ) -> Result<GroupList, AppError> {
        let policies = policies::list_policies(self.db).await?;
        let mut rows =
            directory::list_groups_with_counts(self.db, search.trim(), after, PAGE + 1).await?;
        let next = (rows.len() as i64 > PAGE).then(|| {
            rows.truncate(PAGE as usize);
            rows.last()
                .map(|r| r.record.name.clone())
                .unwrap_or_default()
        });
        Ok(GroupList {
            groups: rows.into_iter().map(|r| summary(r, &policies).0).collect(),
            next,
        })
    }

    /// One group: members (with the grant behind each), live grants, drift, policy.
    pub async fn detail(&self, _admin: &Admin, group_id: &str) -> Result<GroupDetail, AppError> {
        let counts = directory::group_with_counts(self.db, group_id)
            .await?
            .ok_or_else(|| AppError::NotFound("That group".into()))?;
        let description = counts.record.description.clone();
        let policies = policies::list_policies(self.db).await?;
        let (summary, policy) = summary(counts, &policies);
        let mut members: Vec<GroupMember> =
            directory::group_members(self.db, group_id, MEMBERS_SHOWN + 1)
                .await?
                .into_iter()
                .map(
                    |(user_id, name, login, source, seen_at, grant_id, grant_ends_at)| {
                        GroupMember {
                            user_id: UserId(user_id),
                            name,
                            login,
                            source,
                            seen_at,
                            grant_id: grant_id.map(GrantId),
                            grant_ends_at,
                        }
                    },
                )
                .collect();
        let members_truncated = members.len() as i64 > MEMBERS_SHOWN;
        members.truncate(MEMBERS_SHOWN as usize);
        let live = grants::live_grants_of_group(self.db, &GroupId::from(group_id)).await?;
        let (grants, _) = super::catalog::views(self.db, live, Vec::new()).await?;
        let drift = drift::list_items(
            self.db,
            &[DriftState::Open, DriftState::Ignored],
            Some(group_id),
            0,
            100,
        )
        .await?;
        Ok(GroupDetail {
            summary,
            description,
            policy,
            members,
            members_truncated,
            grants,
            drift,
            last_sync_at: runs::last_successful_sync_start(self.db).await?,
        })
    }
}
