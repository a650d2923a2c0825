//! Who a signed-in person is to Gatepass: the verified identity from the provider matched to the
//! synced Okta directory **by Okta user id only** (the ID token's `sub`), their standing in Okta,
//! and their roles.
//!
//! Nothing else identifies a person: not the `email` claim (Okta does not keep emails unique and
//! anyone can carry an admin's address), not a display name. Someone the directory does not know
//! yet is looked up by id in Okta at sign-in ([`fetch_person`]) or waits for the sync; they never
//! borrow another record. People Okta lists as `SUSPENDED`, `DEPROVISIONED`, `STAGED` or
//! `PROVISIONED` (or no longer lists) are refused on every request.

use crate::error::AppError;
use crate::model::{GroupId, Me, Timestamp, UserId, UserStatus};
use crate::ssr::auth::AuthSettings;
use crate::ssr::cache::Caches;
use crate::ssr::db::{directory, Db};
use crate::ssr::okta::OktaApi;

/// What the identity provider vouched for (from a verified ID token and userinfo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifiedIdentity {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
}

/// Whether an Okta user status lets a person use Gatepass. `ACTIVE` does; so do the states of
/// people still employed who cannot sign in to Okta right now (`LOCKED_OUT`,
/// `PASSWORD_EXPIRED`, `RECOVERY`): a session they already hold goes on, and Okta itself keeps
/// them from signing in again. `SUSPENDED`, `DEPROVISIONED`, and `STAGED`/`PROVISIONED` (never
/// activated) do not — nor does any status Gatepass does not know.
pub fn status_allows_access(status: &str) -> bool {
    UserStatus::parse(status).is_some_and(UserStatus::allows_access)
}

pub use crate::ssr::auth::Standing;

/// Matches a verified identity to the directory by Okta id (`sub`) only. Someone not (yet)
/// synced is signed in with `in_directory = false` and the token's own claims, and can do
/// nothing that needs the directory.
#[tracing::instrument(skip(db, settings), fields(sub = %identity.sub))]
pub async fn resolve_person(
    db: &Db,
    settings: &AuthSettings,
    identity: &VerifiedIdentity,
) -> Result<Standing, AppError> {
    let me = match directory::find_user_standing(db, &identity.sub).await? {
        Some((user, removed)) => {
            if removed || !status_allows_access(&user.status) {
                return Ok(Standing::Refused {
                    okta_id: user.okta_id.0,
                    status: if removed {
                        "REMOVED".to_owned()
                    } else {
                        user.status
                    },
                });
            }
            Me {
                okta_id: user.okta_id,
                login: user.login,
                email: user.email,
                display_name: user.display_name,
                in_directory: true,
                is_admin: false,
            }
        }
        None => {
            let email = identity.email.clone().unwrap_or_default();
            let login = identity
                .preferred_username
                .clone()
                .unwrap_or_else(|| email.clone());
            Me {
                okta_id: UserId(identity.sub.clone()),
                display_name: identity.name.clone().unwrap_or_else(|| login.clone()),
                login,
                email,
                in_directory: false,
                is_admin: false,
            }
        }
    };
    // Bootstrap admins by Okta id, or by login once the directory vouches for the login.
    let bootstrap = settings.bootstrap_admins.iter().any(|a| {
        a == me.okta_id.as_str() || (me.in_directory && a.eq_ignore_ascii_case(&me.login))
    });
    let by_group = me.in_directory
        && directory::is_member_of_any(db, &me.okta_id, &admin_group_ids(db, settings).await?)
            .await?;
    Ok(Standing::Allowed(Me {
        is_admin: bootstrap || by_group,
        ..me
    }))
}

/// [`resolve_person`] for every request of a signed-in session: what it found for the same
/// person is reused while no directory sync has started or ended and this process has changed
/// no Okta membership since, for at most [`STANDING_TTL`](crate::ssr::cache::STANDING_TTL).
/// Someone the directory does not know yet is looked up every time.
pub async fn resolve_person_cached(
    db: &Db,
    settings: &AuthSettings,
    caches: &Caches,
    identity: &VerifiedIdentity,
) -> Result<Standing, AppError> {
    let generation = (caches.sync_mark(db).await?, caches.memberships_changed());
    if let Some(standing) = caches.standing.get(&identity.sub, &generation) {
        return Ok(standing);
    }
    let standing = resolve_person(db, settings, identity).await?;
    let known = match &standing {
        Standing::Allowed(me) => me.in_directory,
        Standing::Refused { .. } => true,
    };
    if known {
        caches
            .standing
            .put(identity.sub.clone(), standing.clone(), generation);
    }
    Ok(standing)
}

/// Whether `text` is written as an Okta group id (`00g…`).
pub fn looks_like_group_id(text: &str) -> bool {
    text.len() >= 12 && text.starts_with("00g") && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The Okta ids of the configured admin groups: ids as given; a name only when exactly one
/// present group has it and its type is allowed (`OKTA_GROUP` unless configured otherwise).
/// An ambiguous or wrongly typed name makes nobody an admin (and says so in the log).
pub async fn admin_group_ids(db: &Db, settings: &AuthSettings) -> Result<Vec<GroupId>, AppError> {
    let mut ids = Vec::with_capacity(settings.admin_groups.len());
    for entry in &settings.admin_groups {
        if looks_like_group_id(entry) {
            ids.push(GroupId::from(entry.as_str()));
            continue;
        }
        let found = directory::groups_named(db, entry, 2).await?;
        match found.as_slice() {
            [(id, kind)] if settings.admin_group_types.iter().any(|t| t == kind) => {
                ids.push(GroupId::from(id.as_str()))
            }
            [(_, kind)] => tracing::warn!(
                group = %entry, kind = %kind,
                "admin group is not of an allowed type; configure it by id to use it"
            ),
            [] => {}
            _ => tracing::error!(
                group = %entry,
                "several Okta groups have this admin group's name; configure it by id"
            ),
        }
    }
    Ok(ids)
}

/// Looks a person the directory does not know yet up in Okta by id and records them, so a
/// new hire need not wait for the next sync. Returns whether the directory knows them now.
/// Nothing is recorded for another id than `sub`.
pub async fn fetch_person(
    db: &Db,
    okta: &dyn OktaApi,
    sub: &str,
    now: Timestamp,
) -> Result<bool, AppError> {
    if directory::find_user_standing(db, sub).await?.is_some() {
        return Ok(true);
    }
    match okta.user(&UserId::from(sub)).await? {
        Some(user) if user.id == sub => {
            directory::upsert_user(db, &super::sync::user_record(&user), now).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::db::directory::{
        self, upsert_group, upsert_membership, upsert_user, GroupRecord, UserRecord,
    };
    use crate::ssr::testing::{each_engine, ms};

    fn alice() -> UserRecord {
        UserRecord {
            okta_id: "00ualice".into(),
            login: "alice@acme.test".into(),
            email: "alice@acme.test".into(),
            display_name: "Alice Liddell".into(),
            status: "ACTIVE".into(),
            profile: Default::default(),
        }
    }

    fn identity(sub: &str, email: Option<&str>) -> VerifiedIdentity {
        VerifiedIdentity {
            sub: sub.into(),
            email: email.map(Into::into),
            name: Some("From Token".into()),
            preferred_username: None,
        }
    }

    fn allowed(standing: Standing) -> Me {
        match standing {
            Standing::Allowed(me) => me,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn matches_by_sub_only_never_by_email() {
        each_engine(|db| async move {
            upsert_user(&db, &alice(), ms(1)).await.unwrap();
            let settings = AuthSettings::default();
            let me = allowed(
                resolve_person(&db, &settings, &identity("00ualice", None))
                    .await
                    .unwrap(),
            );
            assert!(me.in_directory);
            assert_eq!(me.display_name, "Alice Liddell");
            // Another account carrying Alice's email is not Alice.
            let me = allowed(
                resolve_person(
                    &db,
                    &settings,
                    &identity("00umallory", Some("ALICE@acme.test")),
                )
                .await
                .unwrap(),
            );
            assert_eq!(me.okta_id, UserId::from("00umallory"));
            assert!(!me.in_directory);
            assert_eq!(me.display_name, "From Token");
            assert!(!me.is_admin);
        })
        .await;
    }

    #[tokio::test]
    async fn people_okta_does_not_list_as_active_are_refused() {
        each_engine(|db| async move {
            let settings = AuthSettings::default();
            for (status, ok) in [
                ("ACTIVE", true),
                ("LOCKED_OUT", true),
                ("PASSWORD_EXPIRED", true),
                ("RECOVERY", true),
                ("SUSPENDED", false),
                ("DEPROVISIONED", false),
                ("STAGED", false),
                ("PROVISIONED", false),
                ("SOMETHING_NEW", false),
            ] {
                let user = UserRecord {
                    status: status.into(),
                    profile: Default::default(),
                    ..alice()
                };
                upsert_user(&db, &user, ms(1)).await.unwrap();
                let standing = resolve_person(&db, &settings, &identity("00ualice", None))
                    .await
                    .unwrap();
                assert_eq!(matches!(standing, Standing::Allowed(_)), ok, "{status}");
            }
            upsert_user(&db, &alice(), ms(1)).await.unwrap();
            directory::mark_user_removed(&db, "00ualice", ms(2))
                .await
                .unwrap();
            assert_eq!(
                resolve_person(&db, &settings, &identity("00ualice", None))
                    .await
                    .unwrap(),
                Standing::Refused {
                    okta_id: "00ualice".into(),
                    status: "REMOVED".into()
                }
            );
        })
        .await;
    }

    fn group(id: &str, name: &str, kind: &str) -> GroupRecord {
        GroupRecord {
            okta_id: id.into(),
            name: name.into(),
            description: String::new(),
            okta_type: kind.into(),
            managed_by_rule: false,
        }
    }

    #[tokio::test]
    async fn a_kept_standing_ends_with_a_sync_or_a_membership_change() {
        each_engine(|db| async move {
            use crate::model::SyncKind;
            use crate::ssr::db::sync as runs;
            upsert_user(&db, &alice(), ms(1)).await.unwrap();
            upsert_group(&db, &group("00gadmins0001", "Admins", "OKTA_GROUP"), ms(1))
                .await
                .unwrap();
            let settings = AuthSettings {
                admin_groups: vec!["00gadmins0001".into()],
                ..AuthSettings::default()
            };
            let caches = Caches::default();
            let who = identity("00ualice", None);
            let standing = || resolve_person_cached(&db, &settings, &caches, &who);
            assert!(!allowed(standing().await.unwrap()).is_admin);

            // Changed behind the cache's back (as another replica would): still the kept one.
            let (admins, alice_id) = (GroupId::from("00gadmins0001"), UserId::from("00ualice"));
            upsert_membership(&db, &admins, &alice_id, ms(2))
                .await
                .unwrap();
            assert!(!allowed(standing().await.unwrap()).is_admin, "kept");
            // A membership change of this process (the grant engine) is seen at once.
            caches.membership_changed();
            assert!(allowed(standing().await.unwrap()).is_admin);

            // A sync that suspends her is seen as soon as it has ended here (another
            // process's within `SYNC_MARK_TTL`: the kept mark is a `Memo`).
            sqlx::query("UPDATE users SET status = 'SUSPENDED' WHERE okta_id = '00ualice'")
                .execute(db.pool())
                .await
                .unwrap();
            runs::insert_sync_run(&db, SyncKind::Incremental, ms(3), Some(ms(1)))
                .await
                .unwrap();
            assert!(
                matches!(standing().await.unwrap(), Standing::Allowed(_)),
                "kept"
            );
            caches.sync_ended();
            assert!(matches!(
                standing().await.unwrap(),
                Standing::Refused { .. }
            ));
        })
        .await;
    }

    #[tokio::test]
    async fn admin_by_group_id_unique_okta_group_name_or_bootstrap_id() {
        each_engine(|db| async move {
            upsert_user(&db, &alice(), ms(1)).await.unwrap();
            upsert_group(
                &db,
                &group("00gadmins0001", "Gatepass Admins", "OKTA_GROUP"),
                ms(1),
            )
            .await
            .unwrap();
            let by_name = AuthSettings {
                admin_groups: vec!["Gatepass Admins".into()],
                ..AuthSettings::default()
            };
            let who = identity("00ualice", None);
            let is_admin = |s: AuthSettings| {
                let db = db.clone();
                let who = who.clone();
                async move { allowed(resolve_person(&db, &s, &who).await.unwrap()).is_admin }
            };
            assert!(!is_admin(by_name.clone()).await);
            upsert_membership(
                &db,
                &GroupId::from("00gadmins0001"),
                &UserId::from("00ualice"),
                ms(1),
            )
            .await
            .unwrap();
            assert!(is_admin(by_name.clone()).await);

            // An APP_GROUP with the same name makes the name ambiguous: nobody is an admin by
            // it, not even members of the real group; the id still works.
            upsert_user(
                &db,
                &UserRecord {
                    okta_id: "00umallory".into(),
                    login: "mallory@acme.test".into(),
                    ..alice()
                },
                ms(1),
            )
            .await
            .unwrap();
            upsert_group(
                &db,
                &group("00gpushed0001", "Gatepass Admins", "APP_GROUP"),
                ms(1),
            )
            .await
            .unwrap();
            upsert_membership(
                &db,
                &GroupId::from("00gpushed0001"),
                &UserId::from("00umallory"),
                ms(1),
            )
            .await
            .unwrap();
            let mallory = identity("00umallory", None);
            assert!(!allowed(resolve_person(&db, &by_name, &mallory).await.unwrap()).is_admin);
            assert!(!is_admin(by_name).await);
            let by_id = AuthSettings {
                admin_groups: vec!["00gadmins0001".into()],
                ..AuthSettings::default()
            };
            assert!(is_admin(by_id.clone()).await);
            assert!(!allowed(resolve_person(&db, &by_id, &mallory).await.unwrap()).is_admin);
            // A name that only an APP_GROUP has is not used either.
            let app_only = AuthSettings {
                admin_groups: vec!["Gatepass Admins".into()],
                ..AuthSettings::default()
            };
            directory::mark_unseen_groups_removed(&db, ms(5), ms(6))
                .await
                .unwrap();
            upsert_group(
                &db,
                &group("00gpushed0001", "Gatepass Admins", "APP_GROUP"),
                ms(7),
            )
            .await
            .unwrap();
            assert!(!allowed(resolve_person(&db, &app_only, &mallory).await.unwrap()).is_admin);

            // Bootstrap admins: by Okta id, or by the directory's login; never by email.
            let bootstrap = |a: &str| AuthSettings {
                bootstrap_admins: vec![a.into()],
                ..AuthSettings::default()
            };
            assert!(is_admin(bootstrap("00ualice")).await);
            assert!(is_admin(bootstrap("ALICE@acme.test")).await, "login");
            let carol = identity("00ucarol", Some("carol@acme.test"));
            let me = allowed(
                resolve_person(&db, &bootstrap("carol@acme.test"), &carol)
                    .await
                    .unwrap(),
            );
            assert!(
                !me.is_admin,
                "an unsynced person's email claim proves nothing"
            );
            let me = allowed(
                resolve_person(&db, &bootstrap("00ucarol"), &carol)
                    .await
                    .unwrap(),
            );
            assert!(me.is_admin && !me.in_directory);
        })
        .await;
    }
}
