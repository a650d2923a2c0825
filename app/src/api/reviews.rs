//! Server functions of access reviews: a reviewer's campaigns, items and decisions; the
//! admins' campaigns, their making, closing and recurring reviews.

// The campaign form posts one field per argument.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{Campaign, CampaignDetail, MyCampaign, MyReviewPage, ReviewsOverview};

/// The open campaigns in which the caller has memberships to review.
#[server(endpoint = "reviews/mine", prefix = "/api")]
pub async fn get_my_reviews() -> Result<Vec<MyCampaign>, AppError> {
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move { state.reviews().my_campaigns(&who).await })
        .await
}

/// The caller's items in one campaign, filtered (`group` id, `state` `undecided`/`decided`,
/// `q` a person's name or login, `access` `grant`/`standing`), a page at a time.
#[server(endpoint = "reviews/items", prefix = "/api")]
pub async fn get_review_items(
    campaign: i64,
    #[server(default)] group: String,
    #[server(default)] state: String,
    #[server(default)] q: String,
    #[server(default)] access: String,
    #[server(default)] page: i64,
) -> Result<MyReviewPage, AppError> {
    use crate::ssr::auth::Requester;
    use crate::ssr::db::{contains_pattern, reviews::ItemFilter};
    super::serve(|who: Requester, app| async move {
        let (group, q) = (
            super::bounded("Group", &group)?,
            super::bounded("Search", &q)?,
        );
        let person = contains_pattern(q);
        let filter = ItemFilter {
            group,
            state: &state,
            person: &person,
            access: &access,
        };
        app.reviews().my_page(&who, campaign, &filter, page).await
    })
    .await
}

/// Keeps or revokes items: those checked (`items[]`), or with `group` every undecided one of
/// the caller's in that group. Returns how many were decided.
#[server(endpoint = "reviews/decide", prefix = "/api")]
pub async fn decide_review(
    campaign: i64,
    decision: String,
    #[server(default)] comment: String,
    #[server(default)] items: Vec<i64>,
    #[server(default)] group: String,
) -> Result<usize, AppError> {
    use crate::model::ReviewDecision;
    use crate::ssr::auth::Requester;
    super::serve(|who: Requester, state| async move {
        let decision = ReviewDecision::parse(decision.trim())
            .ok_or_else(|| AppError::invalid("Decision", "choose keep or revoke"))?;
        let group = super::bounded("Group", &group)?;
        let group = (!group.is_empty()).then_some(group);
        state
            .reviews()
            .decide(&who, campaign, &items, group, decision, &comment)
            .await
    })
    .await
}

/// Admin › Reviews: campaigns (older than `before`) and recurring reviews.
#[server(endpoint = "reviews/admin", prefix = "/api")]
pub async fn get_reviews_admin(
    #[server(default)] before: i64,
) -> Result<ReviewsOverview, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.reviews().overview(&admin, before).await },
    )
    .await
}

/// Admin › Reviews › one campaign.
#[server(endpoint = "reviews/admin/campaign", prefix = "/api")]
pub async fn get_review_admin(id: i64) -> Result<CampaignDetail, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.reviews().detail(&admin, id).await })
        .await
}

/// Makes a campaign (starting now unless `starts` says later; recurring with `repeat_months`).
#[server(endpoint = "reviews/create", prefix = "/api")]
pub async fn create_review(
    name: String,
    #[server(default)] groups: String,
    #[server(default)] patterns: String,
    #[server(default)] policies: String,
    #[server(default)] all_requestable: Option<String>,
    #[server(default)] all_okta_groups: Option<String>,
    #[server(default)] include: String,
    #[server(default)] reviewers: String,
    #[server(default)] reviewer_people: String,
    #[server(default)] fallback: String,
    #[server(default)] starts: String,
    #[server(default)] due_days: String,
    #[server(default)] default_action: String,
    #[server(default)] extend_days: String,
    #[server(default)] revoke_on_decision: Option<String>,
    #[server(default)] remind_days: String,
    #[server(default)] repeat_months: String,
) -> Result<Campaign, AppError> {
    use crate::model::CampaignForm;
    use crate::ssr::auth::Admin;
    let form = CampaignForm {
        name,
        groups,
        patterns,
        policies,
        all_requestable: all_requestable.is_some(),
        all_okta_groups: all_okta_groups.is_some(),
        include,
        reviewers,
        reviewer_people,
        fallback,
        starts,
        due_days,
        default_action,
        extend_days,
        revoke_on_decision: revoke_on_decision.is_some(),
        remind_days,
        repeat_months,
    };
    super::serve(|admin: Admin, state| async move { state.reviews().create(&admin, &form).await })
        .await
}

/// Closes a campaign now: undecided items get its default and revocations are carried out.
#[server(endpoint = "reviews/close", prefix = "/api")]
pub async fn close_review(id: i64) -> Result<Campaign, AppError> {
    use crate::ssr::auth::Admin;
    super::serve(|admin: Admin, state| async move { state.reviews().close(&admin, id).await }).await
}

/// Stops a recurring review.
#[server(endpoint = "reviews/schedule/stop", prefix = "/api")]
pub async fn stop_review_schedule(id: i64) -> Result<(), AppError> {
    use crate::ssr::auth::Admin;
    super::serve(
        |admin: Admin, state| async move { state.reviews().stop_schedule(&admin, id).await },
    )
    .await
}
