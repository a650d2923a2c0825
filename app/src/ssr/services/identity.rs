//! Who a signed-in person is to Gatepass: the verified identity from the provider matched to the
//! synced Okta directory, and their roles.

use crate::error::AppError;
use crate::model::Me;
use crate::ssr::auth::AuthSettings;
use crate::ssr::db::{directory, Db};

/// What the identity provider vouched for (from a verified ID token and userinfo).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifiedIdentity {
    pub sub: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
}

/// Matches a verified identity to the directory: by `sub` (Okta's user id) first, then by a
/// unique email. Someone not (yet) synced is still signed in, with `in_directory = false`.
#[tracing::instrument(skip(db, settings), fields(sub = %identity.sub))]
pub async fn resolve_person(
    db: &Db,
    settings: &AuthSettings,
    identity: &VerifiedIdentity,
) -> Result<Me, AppError> {
    let mut found = directory::find_user(db, &identity.sub).await?;
    if found.is_none() {
        if let Some(email) = &identity.email {
            found = directory::find_user_by_email(db, email).await?;
        }
    }
    let me = match found {
        Some(user) => Me {
            okta_id: user.okta_id,
            login: user.login,
            email: user.email,
            display_name: user.display_name,
            in_directory: true,
            is_admin: false,
        },
        None => {
            let email = identity.email.clone().unwrap_or_default();
            let login = identity
                .preferred_username
                .clone()
                .unwrap_or_else(|| email.clone());
            Me {
                okta_id: identity.sub.clone(),
                display_name: identity.name.clone().unwrap_or_else(|| login.clone()),
                login,
                email,
                in_directory: false,
                is_admin: false,
            }
        }
    };
    let bootstrap = settings.bootstrap_admins.iter().any(|a| {
        a.eq_ignore_ascii_case(&me.login)
            || (!me.email.is_empty() && a.eq_ignore_ascii_case(&me.email))
    });
    let by_group = me.in_directory
        && directory::is_member_of_any(db, &me.okta_id, &settings.admin_groups).await?;
    Ok(Me {
        is_admin: bootstrap || by_group,
        ..me
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::db::directory::{
        upsert_group, upsert_membership, upsert_user, GroupRecord, UserRecord,
    };
    use crate::ssr::testing::each_engine;

    fn alice() -> UserRecord {
        UserRecord {
            okta_id: "00ualice".into(),
            login: "alice@acme.test".into(),
            email: "alice@acme.test".into(),
            display_name: "Alice Liddell".into(),
            status: "ACTIVE".into(),
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

    #[tokio::test]
    async fn matches_by_sub_then_email() {
        each_engine(|db| async move {
            upsert_user(&db, &alice(), 1).await.unwrap();
            let settings = AuthSettings::default();
            let me = resolve_person(&db, &settings, &identity("00ualice", None))
                .await
                .unwrap();
            assert!(me.in_directory);
            assert_eq!(me.display_name, "Alice Liddell");
            let me = resolve_person(
                &db,
                &settings,
                &identity("other-sub", Some("ALICE@acme.test")),
            )
            .await
            .unwrap();
            assert_eq!(me.okta_id, "00ualice");
            let me = resolve_person(
                &db,
                &settings,
                &identity("00unobody", Some("bob@acme.test")),
            )
            .await
            .unwrap();
            assert!(!me.in_directory);
            assert_eq!(me.okta_id, "00unobody");
            assert_eq!(me.display_name, "From Token");
            assert!(!me.is_admin);
        })
        .await;
    }

    #[tokio::test]
    async fn admin_by_group_or_bootstrap_list() {
        each_engine(|db| async move {
            upsert_user(&db, &alice(), 1).await.unwrap();
            upsert_group(
                &db,
                &GroupRecord {
                    okta_id: "00gadmins".into(),
                    name: "Gatepass Admins".into(),
                    description: String::new(),
                    okta_type: "OKTA_GROUP".into(),
                    managed_by_rule: false,
                },
                1,
            )
            .await
            .unwrap();
            let by_group = AuthSettings {
                admin_groups: vec!["Gatepass Admins".into()],
                bootstrap_admins: vec![],
            };
            let who = identity("00ualice", None);
            assert!(!resolve_person(&db, &by_group, &who).await.unwrap().is_admin);
            upsert_membership(&db, "00gadmins", "00ualice", 1)
                .await
                .unwrap();
            assert!(resolve_person(&db, &by_group, &who).await.unwrap().is_admin);

            let bootstrap = AuthSettings {
                admin_groups: vec![],
                bootstrap_admins: vec!["carol@acme.test".into()],
            };
            let carol = identity("00ucarol", Some("carol@acme.test"));
            let me = resolve_person(&db, &bootstrap, &carol).await.unwrap();
            assert!(me.is_admin && !me.in_directory);
        })
        .await;
    }
}
