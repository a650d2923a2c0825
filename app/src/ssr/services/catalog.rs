//! What a person may request (the catalog), and the views of My access and Approvals.

use std::collections::HashSet;

use crate::error::AppError;
use crate::model::{
    AccessRequest, CatalogEntry, CatalogPage, GrantState, GrantView, GroupId, MyAccess,
    RequestState, RequestView,
};
use crate::ssr::auth::Requester;
use crate::ssr::db::{directory, grants, policies, requests, Db};
use crate::ssr::services::policy::resolve_policy;

/// Requests, and grants, per page of Admin › Requests and grants.
pub const ADMIN_PAGE: i64 = 50;
/// The last page number Admin › Requests and grants accepts (its offset must not overflow).
pub const MAX_PAGE: i64 = 1_000_000;
/// Most catalog entries per page.
pub const PAGE: usize = 25;
/// Candidate groups read per query while filling a page.
const CHUNK: i64 = 100;

/// Read-only views of the workflow.
pub struct CatalogService<'a> {
    pub db: &'a Db,
}

/// What the catalog knows about the person looking at it.
struct Viewer {
    policies: Vec<crate::model::Policy>,
    mine: HashSet<GroupId>,
    grants: Vec<crate::model::Grant>,
    requests: Vec<AccessRequest>,
}

impl CatalogService<'_> {
    async fn viewer(&self, who: &Requester) -> Result<Viewer, AppError> {
        let me = &who.me().okta_id;
        Ok(Viewer {
            policies: policies::list_policies(self.db).await?,
            mine: directory::user_group_ids(self.db, me)
                .await?
                .into_iter()
                .collect(),
            grants: grants::list_grants_of(self.db, me, 500).await?,
            requests: requests::list_requests_of(self.db, me, 500).await?,
        })
    }

    /// The catalog entry of one candidate group, if its policy makes it requestable by `v`.
    async fn entry_for(
        &self,
        v: &Viewer,
        id: GroupId,
        name: String,
        description: String,
    ) -> Result<Option<CatalogEntry>, AppError> {
        let Some(policy) = resolve_policy(&v.policies, &id, &name).filter(|p| p.requestable) else {
            return Ok(None);
        };
        let eligible = policy.eligible_groups.is_empty()
            || policy.eligible_groups.iter().any(|g| v.mine.contains(g));
        if !eligible {
            return Ok(None);
        }
        let approvers = if policy.auto_approve {
            vec!["auto-approved".to_owned()]
        } else {
            directory::display_names(self.db, &policy.approver_users, &policy.approver_groups)
                .await?
        };
        let live = |g: &&crate::model::Grant| {
            g.group_id == id && matches!(g.state, GrantState::Active | GrantState::Scheduled)
        };
        Ok(Some(CatalogEntry {
            held_until: v.grants.iter().filter(live).map(|g| g.ends_at).max(),
            pending_request: v
                .requests
                .iter()
                .find(|r| r.group_id == id && r.state == RequestState::Pending)
                .map(|r| r.id),
            member_in_okta: v.mine.contains(&id) && !v.grants.iter().any(|g| live(&g)),
            group_id: id,
            name,
            description,
            default_duration_secs: policy.default_duration_secs,
            max_duration_secs: policy.max_duration_secs,
            require_reason: policy.require_reason,
            approvers,
            quorum: policy.quorum,
            auto_approve: policy.auto_approve,
        }))
    }

    /// The groups `who` may request whose name contains `search`, `PAGE` at a time after the
    /// group named `after`.
    pub async fn catalog(
        &self,
        who: &Requester,
        search: &str,
        after: &str,
    ) -> Result<CatalogPage, AppError> {
        let viewer = self.viewer(who).await?;
        let mut entries: Vec<CatalogEntry> = Vec::new();
        let mut next = None;
        let mut cursor = after.to_owned();
        'chunks: loop {
            // Candidates come in chunks: a page costs a few small queries, not the whole list.
            let chunk =
                directory::list_requestable_candidates(self.db, search.trim(), &cursor, CHUNK)
                    .await?;
            let exhausted = (chunk.len() as i64) < CHUNK;
            for (id, name, description) in chunk {
                cursor = name.clone();
                let Some(entry) = self.entry_for(&viewer, id, name, description).await? else {
                    continue;
                };
                if entries.len() == PAGE {
                    next = entries.last().map(|e| e.name.clone());
                    break 'chunks;
                }
                entries.push(entry);
            }
            if exhausted {
                break;
            }
        }
        Ok(CatalogPage { entries, next })
    }

    /// One group `who` may request, by Okta id.
    pub async fn entry(
        &self,
        who: &Requester,
        group_id: &GroupId,
    ) -> Result<CatalogEntry, AppError> {
        let not_found = || AppError::NotFound("A group you may request with that id".into());
        let (id, name, description) = directory::requestable_candidate(self.db, group_id)
            .await?
            .ok_or_else(not_found)?;
        let viewer = self.viewer(who).await?;
        self.entry_for(&viewer, id, name, description)
            .await?
            .ok_or_else(not_found)
    }

    async fn request_view(&self, request: AccessRequest) -> Result<RequestView, AppError> {
        Ok(RequestView {
            group_name: directory::group_name(self.db, &request.group_id).await?,
            requester_name: directory::user_name(self.db, &request.requester_id).await?,
            decisions: requests::list_decisions(self.db, request.id)
                .await?
                .into_iter()
                .map(|(approver, approved, comment)| crate::model::DecisionView {
                    approver,
                    approved,
                    comment,
                })
                .collect(),
            request,
        })
    }

    /// The person's grants and requests.
    pub async fn my_access(&self, who: &Requester) -> Result<MyAccess, AppError> {
        let me = &who.me().okta_id;
        let mut grants = Vec::new();
        for grant in grants::list_grants_of(self.db, me, 100).await? {
            grants.push(self.grant_view(grant).await?);
        }
        let mut requests = Vec::new();
        for r in requests::list_requests_of(self.db, me, 100).await? {
            requests.push(self.request_view(r).await?);
        }
        Ok(MyAccess { grants, requests })
    }

    pub(crate) async fn grant_view(
        &self,
        grant: crate::model::Grant,
    ) -> Result<GrantView, AppError> {
        Ok(GrantView {
            group_name: directory::group_name(self.db, &grant.group_id).await?,
            holder_name: directory::user_name(self.db, &grant.user_id).await?,
            grant,
        })
    }

    /// Admin › Requests and grants: pending requests and live grants whose group or person
    /// contains `search`, `ADMIN_PAGE` of each a page (`requests_page`, `grants_page` count
    /// from 0).
    pub async fn admin_overview(
        &self,
        _admin: &crate::ssr::auth::Admin,
        search: &str,
        requests_page: i64,
        grants_page: i64,
    ) -> Result<crate::model::AdminAccessOverview, AppError> {
        if !(0..=MAX_PAGE).contains(&requests_page) || !(0..=MAX_PAGE).contains(&grants_page) {
            return Err(AppError::invalid(
                "page",
                format!("pages count from 0 to {MAX_PAGE}"),
            ));
        }
        let mut pending = Vec::new();
        for r in requests::search_pending_requests(
            self.db,
            search,
            requests_page * ADMIN_PAGE,
            ADMIN_PAGE + 1,
        )
        .await?
        {
            pending.push(self.request_view(r).await?);
        }
        let mut grants = Vec::new();
        for g in
            grants::search_live_grants(self.db, search, grants_page * ADMIN_PAGE, ADMIN_PAGE + 1)
                .await?
        {
            grants.push(self.grant_view(g).await?);
        }
        let more_requests = pending.len() as i64 > ADMIN_PAGE;
        let more_grants = grants.len() as i64 > ADMIN_PAGE;
        pending.truncate(ADMIN_PAGE as usize);
        grants.truncate(ADMIN_PAGE as usize);
        Ok(crate::model::AdminAccessOverview {
            pending,
            grants,
            requests_page,
            grants_page,
            more_requests,
            more_grants,
        })
    }

    /// Every policy with names, for admins.
    pub async fn policies(
        &self,
        _admin: &crate::ssr::auth::Admin,
    ) -> Result<Vec<crate::model::PolicyView>, AppError> {
        let mut out = Vec::new();
        for policy in policies::list_policies(self.db).await? {
            let applies_to = match &policy.target {
                crate::model::PolicyTarget::Group(g) => directory::group_name(self.db, g).await?,
                crate::model::PolicyTarget::Pattern(p) => p.clone(),
            };
            let eligible = directory::display_names(self.db, &[], &policy.eligible_groups).await?;
            let approvers =
                directory::display_names(self.db, &policy.approver_users, &policy.approver_groups)
                    .await?;
            out.push(crate::model::PolicyView {
                policy,
                applies_to,
                eligible,
                approvers,
            });
        }
        Ok(out)
    }

    /// Requests waiting for `who`'s decision, oldest first.
    pub async fn approval_queue(&self, who: &Requester) -> Result<Vec<RequestView>, AppError> {
        let mut out = Vec::new();
        for r in requests::list_pending_for_approver(self.db, &who.me().okta_id, 200).await? {
            out.push(self.request_view(r).await?);
        }
        Ok(out)
    }
}
