//! What a person may request (the catalog), and the views of My access and Approvals.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::AppError;
use crate::model::{
    AccessRequest, BundleEntry, CatalogEntry, CatalogPage, GrantState, GrantView, GroupId,
    MyAccess, RequestId, RequestState, RequestView, Resource, UserId,
};
use crate::ssr::auth::Requester;
use crate::ssr::cache::{Caches, Requestable, RequestableGroup};
use crate::ssr::db::{apps, directory, grants, policies, requests, Db};
use crate::ssr::services::policy::resolve_policy;

/// Requests, and grants, per page of Admin › Requests and grants.
pub const ADMIN_PAGE: i64 = 50;
/// The last page number Admin › Requests and grants accepts (its offset must not overflow).
pub const MAX_PAGE: i64 = 1_000_000;
/// Most catalog entries per page.
pub const PAGE: usize = 25;
/// Requestable groups read per query while the index is built.
const CHUNK: i64 = 1000;

/// Read-only views of the workflow.
pub struct CatalogService<'a> {
    pub db: &'a Db,
    pub caches: &'a Caches,
}

/// What the catalog knows about the person looking at it.
struct Viewer {
    index: Arc<Requestable>,
    /// The groups Okta lists the person in, and the apps it assigns them to.
    mine: HashSet<GroupId>,
    my_apps: HashSet<GroupId>,
    grants: Vec<crate::model::Grant>,
    requests: Vec<AccessRequest>,
}

impl CatalogService<'_> {
    async fn viewer(&self, who: &Requester) -> Result<Viewer, AppError> {
        let me = &who.me().okta_id;
        Ok(Viewer {
            index: self.requestable().await?,
            mine: directory::user_group_ids(self.db, me)
                .await?
                .into_iter()
                .collect(),
            my_apps: apps::app_ids_of(self.db, me).await?.into_iter().collect(),
            grants: grants::list_grants_of(self.db, me, 500).await?,
            requests: requests::list_requests_of(self.db, me, 500).await?,
        })
    }

    /// Every group a policy makes requestable, with the policies and their approvers' names:
    /// built again after a directory sync or a policy change, else reused.
    async fn requestable(&self) -> Result<Arc<Requestable>, AppError> {
        let policies = policies::list_policies(self.db).await?;
        let key = (self.caches.sync_mark(self.db).await?, policies.clone());
        self.caches
            .requestable
            .get_or_load(key, || self.build_requestable(policies))
            .await
    }

    async fn build_requestable(
        &self,
        policies: Vec<crate::model::Policy>,
    ) -> Result<Arc<Requestable>, AppError> {
        let groups = requestable_groups(self.db, &policies).await?;
        let names = directory::names(
            self.db,
            policies.iter().flat_map(|p| &p.approver_users),
            policies.iter().flat_map(|p| &p.approver_groups),
        )
        .await?;
        let approvers = policies
            .iter()
            .map(|p| {
                if p.auto_approve {
                    vec!["auto-approved".to_owned()]
                } else {
                    directory::approver_names(&names, &p.approver_users, &p.approver_groups)
                }
            })
            .collect();
        Ok(Arc::new(Requestable {
            policies,
            approvers,
            groups,
        }))
    }

    /// The catalog entry of one requestable group, if `v` may request it.
    fn entry_for(v: &Viewer, group: &RequestableGroup) -> Option<CatalogEntry> {
        let policy = &v.index.policies[group.policy];
        let eligible = policy.eligible_groups.is_empty()
            || policy.eligible_groups.iter().any(|g| v.mine.contains(g));
        if !eligible {
            return None;
        }
        let id = &group.id;
        let live = |g: &&crate::model::Grant| {
            g.group_id == *id && matches!(g.state, GrantState::Active | GrantState::Scheduled)
        };
        Some(CatalogEntry {
            held_until: v.grants.iter().filter(live).map(|g| g.ends_at).max(),
            pending_request: v
                .requests
                .iter()
                .find(|r| r.group_id == *id && r.state == RequestState::Pending)
                .map(|r| r.id),
            member_in_okta: match group.resource {
                Resource::Group => v.mine.contains(id),
                Resource::App => v.my_apps.contains(id),
            } && !v.grants.iter().any(|g| live(&g)),
            group_id: id.clone(),
            resource: group.resource,
            name: group.name.clone(),
            description: group.description.clone(),
            default_duration_secs: policy.default_duration_secs,
            max_duration_secs: policy.max_duration_secs,
            require_reason: policy.require_reason,
            ticket_pattern: policy.ticket_pattern.clone(),
            break_glass_secs: policy.rules.break_glass.as_ref().map(|b| b.max_secs),
            approvers: v.index.approvers[group.policy].clone(),
            quorum: policy.quorum,
            auto_approve: policy.auto_approve,
        })
    }

    /// The groups `who` may request whose name contains `search` (case-insensitive), `PAGE`
    /// at a time after the group named `after`.
    pub async fn catalog(
        &self,
        who: &Requester,
        search: &str,
        after: &str,
    ) -> Result<CatalogPage, AppError> {
        let viewer = self.viewer(who).await?;
        let needle = search.trim().to_lowercase();
        let groups = &viewer.index.groups;
        let start = groups.partition_point(|g| g.name.as_str() <= after);
        let mut entries: Vec<CatalogEntry> = Vec::new();
        let mut next = None;
        for group in groups[start..]
            .iter()
            .filter(|g| needle.is_empty() || g.folded.contains(&needle))
        {
            let Some(entry) = Self::entry_for(&viewer, group) else {
                continue;
            };
            if entries.len() == PAGE {
                next = entries.last().map(|e| e.name.clone());
                break;
            }
            entries.push(entry);
        }
        // Bundles on the first page, above the groups.
        let bundles = if after.is_empty() {
            crate::ssr::db::bundles::list(self.db)
                .await?
                .into_iter()
                .filter(|b| needle.is_empty() || b.name.to_lowercase().contains(&needle))
                .filter_map(|b| Self::bundle_entry_for(&viewer, b))
                .collect()
        } else {
            Vec::new()
        };
        Ok(CatalogPage {
            bundles,
            entries,
            next,
        })
    }

    /// The catalog entry of a bundle, if its policy makes it requestable and `v` may request
    /// it.
    fn bundle_entry_for(v: &Viewer, bundle: crate::model::Bundle) -> Option<BundleEntry> {
        let at = v.index.policies.iter().position(|p| {
            p.target == crate::model::PolicyTarget::Bundle(bundle.id) && p.requestable
        })?;
        let policy = &v.index.policies[at];
        let eligible = policy.eligible_groups.is_empty()
            || policy.eligible_groups.iter().any(|g| v.mine.contains(g));
        if !eligible || bundle.groups.is_empty() {
            return None;
        }
        let live_end = |group: &GroupId| {
            v.grants
                .iter()
                .filter(|g| {
                    g.group_id == *group
                        && matches!(g.state, GrantState::Active | GrantState::Scheduled)
                })
                .map(|g| g.ends_at)
                .max()
        };
        let ends: Vec<Option<crate::model::Timestamp>> =
            bundle.groups.iter().map(live_end).collect();
        // The lead of a bundle request is its first group's.
        let lead = &bundle.groups[0];
        Some(BundleEntry {
            held_until: ends
                .iter()
                .copied()
                .collect::<Option<Vec<_>>>()
                .and_then(|e| e.into_iter().min()),
            pending_request: v
                .requests
                .iter()
                .find(|r| r.group_id == *lead && r.state == RequestState::Pending)
                .map(|r| r.id),
            default_duration_secs: policy.default_duration_secs,
            max_duration_secs: policy.max_duration_secs,
            require_reason: policy.require_reason,
            ticket_pattern: policy.ticket_pattern.clone(),
            approvers: v.index.approvers[at].clone(),
            quorum: policy.quorum,
            auto_approve: policy.auto_approve,
            bundle,
        })
    }

    /// One bundle `who` may request.
    pub async fn bundle_entry(&self, who: &Requester, id: i64) -> Result<BundleEntry, AppError> {
        let not_found = || AppError::NotFound("A bundle you may request with that id".into());
        let viewer = self.viewer(who).await?;
        let bundle = crate::ssr::db::bundles::find(self.db, id)
            .await?
            .ok_or_else(not_found)?;
        Self::bundle_entry_for(&viewer, bundle).ok_or_else(not_found)
    }

    /// One group `who` may request, by Okta id.
    pub async fn entry(
        &self,
        who: &Requester,
        group_id: &GroupId,
    ) -> Result<CatalogEntry, AppError> {
        let not_found = || AppError::NotFound("A group you may request with that id".into());
        let viewer = self.viewer(who).await?;
        let group = viewer
            .index
            .groups
            .iter()
            .find(|g| g.id == *group_id)
            .ok_or_else(not_found)?;
        Self::entry_for(&viewer, group).ok_or_else(not_found)
    }

    /// The person's grants and requests.
    pub async fn my_access(&self, who: &Requester) -> Result<MyAccess, AppError> {
        let me = &who.me().okta_id;
        let grants = grants::list_grants_of(self.db, me, 100).await?;
        let requests = requests::list_requests_of(self.db, me, 100).await?;
        let (grants, requests) = views(self.db, grants, requests).await?;
        Ok(MyAccess { grants, requests })
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
        let pending = requests::search_pending_requests(
            self.db,
            search,
            requests_page * ADMIN_PAGE,
            ADMIN_PAGE + 1,
        )
        .await?;

        let grants =
            grants::search_live_grants(self.db, search, grants_page * ADMIN_PAGE, ADMIN_PAGE + 1)
                .await?;
        let (mut grants, mut pending) = views(self.db, grants, pending).await?;
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

    /// One request, with names and decisions, for the people entitled to see it: its
    /// requester, its approvers and administrators (anyone else: not found, so that its
    /// existence is not disclosed either).
    pub async fn request(&self, who: &Requester, id: RequestId) -> Result<RequestView, AppError> {
        let me = who.me();
        let hidden = || AppError::NotFound("That request".into());
        let request = requests::find_request(self.db, id)
            .await?
            .ok_or_else(hidden)?;
        let visible = request.requester_id == me.okta_id
            || me.is_admin
            || requests::approver_of(self.db, id, &me.okta_id).await?;
        if !visible {
            return Err(hidden());
        }
        views(self.db, Vec::new(), vec![request])
            .await?
            .1
            .pop()
            .ok_or(AppError::Internal)
    }

    /// What `who` is: an admin, and the approver of how many requestable groups and apps.
    /// Shown on every page (the header), so kept a minute per person (see
    /// [`ROLES_TTL`](crate::ssr::cache::ROLES_TTL)); never used to decide anything.
    pub async fn roles(&self, who: &Requester) -> Result<crate::model::Roles, AppError> {
        let me = who.me();
        let generation = (
            self.caches.sync_mark(self.db).await?,
            self.caches.memberships_changed(),
        );
        let key = me.okta_id.0.clone();
        if let Some(roles) = self.caches.roles.get(&key, &generation) {
            return Ok(crate::model::Roles {
                admin: me.is_admin,
                ..roles
            });
        }
        let index = self.requestable().await?;
        let mine: HashSet<GroupId> = directory::user_group_ids(self.db, &me.okta_id)
            .await?
            .into_iter()
            .collect();
        let approves: Vec<bool> = index
            .policies
            .iter()
            .map(|p| {
                !p.auto_approve
                    && (p.approver_users.contains(&me.okta_id)
                        || p.approver_groups.iter().any(|g| mine.contains(g)))
            })
            .collect();
        let roles = crate::model::Roles {
            admin: me.is_admin,
            approver_of: index.groups.iter().filter(|g| approves[g.policy]).count(),
        };
        self.caches.roles.put(key, roles.clone(), generation);
        Ok(roles)
    }

    /// `who`'s start page (see [`Dashboard`](crate::model::Dashboard)).
    pub async fn dashboard(&self, who: &Requester) -> Result<crate::model::Dashboard, AppError> {
        let roles = self.roles(who).await?;
        let queue = self.approval_queue(who).await?;
        let mine = self.my_access(who).await?;
        let mut grants: Vec<GrantView> = mine
            .grants
            .into_iter()
            .filter(|g| matches!(g.grant.state, GrantState::Active | GrantState::Scheduled))
            .collect();
        grants.sort_by_key(|g| g.grant.ends_at);
        Ok(crate::model::Dashboard {
            roles,
            to_decide: queue.len(),
            oldest_waiting: queue.iter().map(|r| r.request.created_at).min(),
            grants,
            pending: mine
                .requests
                .into_iter()
                .filter(|r| r.request.state == RequestState::Pending)
                .collect(),
        })
    }

    /// A request's whole story (see [`RequestStory`](crate::model::RequestStory)), for the
    /// people entitled to see the request (anyone else: not found).
    pub async fn story(
        &self,
        who: &Requester,
        id: RequestId,
    ) -> Result<crate::model::RequestStory, AppError> {
        let request = self.request(who, id).await?;
        let policy = requests::policy_snapshot(self.db, id)
            .await?
            .and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            .map(|p| serde_json::to_string_pretty(&p).unwrap_or_default())
            .unwrap_or_default();
        let grants = grants::grants_of_request(self.db, id).await?;
        let ids: Vec<_> = grants.iter().map(|g| g.id).collect();
        let okta_ops = crate::ssr::db::outbox::ops_of_grants(self.db, &ids).await?;
        let subjects: Vec<String> = std::iter::once(format!("request:{id}"))
            .chain(ids.iter().map(|g| format!("grant:{g}")))
            .collect();
        let events = crate::ssr::db::audit::events_about(self.db, &subjects, 500).await?;
        let events = super::audit_text::readable(self.db, &events).await?;
        let (grants, _) = views(self.db, grants, Vec::new()).await?;
        Ok(crate::model::RequestStory {
            request,
            policy,
            grants,
            okta_ops,
            events,
        })
    }

    /// Every policy with names, for admins.
    pub async fn policies(
        &self,
        _admin: &crate::ssr::auth::Admin,
    ) -> Result<Vec<crate::model::PolicyView>, AppError> {
        let list = policies::list_policies(self.db).await?;
        let mut users: Vec<&UserId> = Vec::new();
        let mut groups: Vec<&GroupId> = Vec::new();
        for p in &list {
            users.extend(&p.approver_users);
            groups.extend(p.eligible_groups.iter().chain(&p.approver_groups));
            if let crate::model::PolicyTarget::Group(g) = &p.target {
                groups.push(g);
            }
        }
        let names = directory::names(self.db, users, groups).await?;
        let bundles = crate::ssr::db::bundles::list(self.db).await?;
        let apps = crate::ssr::db::apps::list_apps(self.db).await?;
        Ok(list
            .into_iter()
            .map(|policy| crate::model::PolicyView {
                applies_to: match &policy.target {
                    crate::model::PolicyTarget::Group(g) => names.group(g),
                    crate::model::PolicyTarget::Pattern(p) => p.clone(),
                    crate::model::PolicyTarget::Bundle(b) => format!(
                        "{}{}",
                        crate::ssr::services::access::BUNDLE_PREFIX,
                        bundles
                            .iter()
                            .find(|x| x.id == *b)
                            .map_or_else(|| format!("#{b}"), |x| x.name.clone())
                    ),
                    crate::model::PolicyTarget::App(a) => format!(
                        "{}{}",
                        crate::ssr::services::access::APP_PREFIX,
                        apps.iter()
                            .find(|x| x.okta_id == *a)
                            .map_or_else(|| a.to_string(), |x| x.label.clone())
                    ),
                },
                eligible: directory::approver_names(&names, &[], &policy.eligible_groups),
                approvers: directory::approver_names(
                    &names,
                    &policy.approver_users,
                    &policy.approver_groups,
                ),
                policy,
            })
            .collect())
    }

    /// Requests waiting for `who`'s decision, oldest first.
    pub async fn approval_queue(&self, who: &Requester) -> Result<Vec<RequestView>, AppError> {
        let queue = requests::list_pending_for_approver(self.db, &who.me().okta_id, 200).await?;
        Ok(views(self.db, Vec::new(), queue).await?.1)
    }

    /// Emergency activations waiting for the caller's review (as one of their approvers).
    pub async fn emergencies_to_review(
        &self,
        who: &Requester,
    ) -> Result<Vec<RequestView>, AppError> {
        let list = requests::emergencies_to_review(self.db, &who.me().okta_id, 200).await?;
        Ok(views(self.db, Vec::new(), list).await?.1)
    }
}

/// Every group one of `policies` makes requestable, in name order (bytes, as the catalog's
/// page cursor compares names), each with the index of its policy.
pub(crate) async fn requestable_groups(
    db: &Db,
    policies: &[crate::model::Policy],
) -> Result<Vec<RequestableGroup>, AppError> {
    let mut groups = Vec::new();
    if !policies.iter().any(|p| p.requestable) {
        return Ok(groups);
    }
    let mut after = String::new();
    loop {
        let chunk = directory::list_requestable_candidates(db, &after, CHUNK).await?;
        let exhausted = (chunk.len() as i64) < CHUNK;
        for (id, name, description) in chunk {
            after.clone_from(&name);
            let Some(policy) = resolve_policy(policies, &id, &name)
                .filter(|p| p.requestable)
                .and_then(|p| policies.iter().position(|q| std::ptr::eq(p, q)))
            else {
                continue;
            };
            groups.push(RequestableGroup {
                folded: name.to_lowercase(),
                resource: Resource::Group,
                id,
                name,
                description,
                policy,
            });
        }
        if exhausted {
            break;
        }
    }
    // Apps a policy of their own makes requestable (patterns match groups only).
    let apps = apps::list_apps(db).await?;
    for (at, p) in policies.iter().enumerate() {
        let crate::model::PolicyTarget::App(id) = &p.target else {
            continue;
        };
        if let Some(app) = apps
            .iter()
            .find(|a| a.okta_id == *id)
            .filter(|_| p.requestable)
        {
            let target = super::assess::app_as_target(app.clone());
            groups.push(RequestableGroup {
                folded: target.name.to_lowercase(),
                id: target.okta_id,
                resource: Resource::App,
                description: target.description,
                name: target.name,
                policy: at,
            });
        }
    }
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(groups)
}

/// Grants and requests with the names of their groups and people and the requests'
/// decisions: three queries for both lists, however long.
pub(crate) async fn views(
    db: &Db,
    grants: Vec<crate::model::Grant>,
    list: Vec<AccessRequest>,
) -> Result<(Vec<GrantView>, Vec<RequestView>), AppError> {
    let names = directory::names(
        db,
        grants
            .iter()
            .map(|g| &g.user_id)
            .chain(list.iter().map(|r| &r.requester_id)),
        grants
            .iter()
            .map(|g| &g.group_id)
            .chain(list.iter().map(|r| &r.group_id)),
    )
    .await?;
    let ids: Vec<_> = list.iter().map(|r| r.id).collect();
    let mut decisions = requests::list_decisions_of(db, &ids).await?;
    // The grants' requests and the requests, in one lookup of how each was routed.
    let mut routed: Vec<_> = grants
        .iter()
        .map(|g| g.request_id)
        .chain(ids.iter().copied())
        .collect();
    routed.sort_unstable_by_key(|id| id.0);
    routed.dedup();
    let routing = requests::routing_among(db, &routed).await?;
    let emergency = |id: &crate::model::RequestId| routing.get(id).is_some_and(|r| r.emergency);
    let bundle_of = |id: &crate::model::RequestId| {
        let r = routing.get(id)?;
        let (lead, name) = r.bundle.clone()?;
        Some(crate::model::BundleOf {
            name,
            lead,
            groups: if lead == *id {
                r.bundle_groups.clone()
            } else {
                Vec::new()
            },
        })
    };
    let mut notes = super::routing::notes_of(&list, &routing);
    let grants = grants
        .into_iter()
        .map(|grant| GrantView {
            group_name: names.group(&grant.group_id),
            holder_name: names.user(&grant.user_id),
            emergency: emergency(&grant.request_id),
            bundle: bundle_of(&grant.request_id),
            grant,
        })
        .collect();
    let requests = list
        .into_iter()
        .map(|request| RequestView {
            group_name: names.group(&request.group_id),
            requester_name: names.user(&request.requester_id),
            decisions: decisions
                .remove(&request.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(approver, approved, comment)| crate::model::DecisionView {
                    approver,
                    approved,
                    comment,
                })
                .collect(),
            notes: notes.remove(&request.id).unwrap_or_default(),
            bundle: bundle_of(&request.id),
            request,
        })
        .collect();
    Ok((grants, requests))
}
