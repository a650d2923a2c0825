//! User types and the user profile schema, as Okta serves them under `/api/v1/meta`: the org's
//! one (default) user type, which every user has (`type.id`) and whose `_links.schema` points at
//! the default user schema, and that schema with Okta's base profile properties.
//!
//! Clients such as Okta's Python SDK users follow a user's type to its schema to learn the
//! profile's properties and their titles.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::http::{authenticate, Base, OktaError};
use crate::store::{Org, USER_SCHEMA_ID, USER_TYPE_ID};
use crate::time::format_instant;
use crate::Sim;

type ApiResult = Result<Response, OktaError>;

/// Who Okta names as the creator of built-in objects (a system principal).
const SYSTEM_PRINCIPAL: &str = "sprsimSystemUser00g4";

/// Routes under `/api/v1/meta`.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/api/v1/meta/types/user", get(list_user_types))
        .route("/api/v1/meta/types/user/{id}", get(get_user_type))
        .route("/api/v1/meta/schemas/user/{id}", get(get_user_schema))
}

/// The default user type in Okta's `UserType` shape.
pub fn user_type_json(base: &str, org: &Org) -> Value {
    json!({
        "id": USER_TYPE_ID,
        "displayName": "User",
        "name": "user",
        "description": "Okta user profile template with default permission settings",
        "createdBy": SYSTEM_PRINCIPAL,
        "lastUpdatedBy": SYSTEM_PRINCIPAL,
        "created": format_instant(org.created),
        "lastUpdated": format_instant(org.created),
        "default": true,
        "_links": {
            "self": { "href": format!("{base}/api/v1/meta/types/user/{USER_TYPE_ID}") },
            "schema": { "href": format!("{base}/api/v1/meta/schemas/user/{USER_SCHEMA_ID}") }
        }
    })
}

async fn list_user_types(State(sim): State<Arc<Sim>>, headers: HeaderMap, base: Base) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_user_types(&org)?;
    Ok(Json(vec![user_type_json(&base.0, &org)]).into_response())
}

async fn get_user_type(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_user_types(&org)?;
    if id != USER_TYPE_ID && id != "default" {
        return Err(OktaError::not_found(&id, "UserType"));
    }
    Ok(Json(user_type_json(&base.0, &org)).into_response())
}

/// Okta's base user profile properties (`UserSchemaBaseProperties`) in Okta's order, with the
/// titles Okta gives them.
const BASE_PROPERTIES: [(&str, &str); 31] = [
    ("login", "Username"),
    ("firstName", "First name"),
    ("lastName", "Last name"),
    ("middleName", "Middle name"),
    ("honorificPrefix", "Honorific prefix"),
    ("honorificSuffix", "Honorific suffix"),
    ("email", "Primary email"),
    ("title", "Title"),
    ("displayName", "Display name"),
    ("nickName", "Nickname"),
    ("profileUrl", "Profile Url"),
    ("secondEmail", "Secondary email"),
    ("mobilePhone", "Mobile phone"),
    ("primaryPhone", "Primary phone"),
    ("streetAddress", "Street address"),
    ("city", "City"),
    ("state", "State"),
    ("zipCode", "Zip code"),
    ("countryCode", "Country code"),
    ("postalAddress", "Postal Address"),
    ("preferredLanguage", "Preferred language"),
    ("locale", "Locale"),
    ("timezone", "Time zone"),
    ("userType", "User type"),
    ("employeeNumber", "Employee number"),
    ("costCenter", "Cost center"),
    ("organization", "Organization"),
    ("division", "Division"),
    ("department", "Department"),
    ("managerId", "ManagerId"),
    ("manager", "Manager"),
];

/// Base properties a user must have.
const REQUIRED: [&str; 4] = ["login", "firstName", "lastName", "email"];

/// One base property (`UserSchemaAttribute`). `unique` is a string, as Okta sends it
/// (`UNIQUE_VALIDATED` for `login`), although the OpenAPI spec types it as a boolean.
fn base_property(name: &str, title: &str) -> Value {
    let mut p = json!({
        "title": title,
        "type": "string",
        "required": REQUIRED.contains(&name),
        "mutability": "READ_WRITE",
        "scope": "NONE",
        "unique": if name == "login" { "UNIQUE_VALIDATED" } else { "NOT_UNIQUE" },
        "permissions": [{ "principal": "SELF", "action": "READ_WRITE" }],
        "master": { "type": "PROFILE_MASTER" }
    });
    match name {
        "login" => {
            p["minLength"] = json!(5);
            p["maxLength"] = json!(100);
        }
        "firstName" | "lastName" => {
            p["minLength"] = json!(1);
            p["maxLength"] = json!(50);
        }
        "email" | "secondEmail" => p["format"] = json!("email"),
        _ => {}
    }
    p
}

/// The default user schema in Okta's `UserSchema` shape; `id` is how it was asked for
/// (`default` or its schema id), as Okta echoes it.
pub fn user_schema_json(base: &str, org: &Org, id: &str) -> Value {
    let properties: Map<String, Value> = BASE_PROPERTIES
        .iter()
        .map(|&(name, title)| (name.to_owned(), base_property(name, title)))
        .collect();
    json!({
        "id": format!("{base}/meta/schemas/user/{id}"),
        "$schema": "http://json-schema.org/draft-04/schema#",
        "name": "user",
        "title": "User",
        "description": "Okta user profile template with default permission settings",
        "created": format_instant(org.created),
        "lastUpdated": format_instant(org.created),
        "definitions": {
            "base": {
                "id": "#base",
                "type": "object",
                "properties": properties,
                "required": REQUIRED
            },
            "custom": {
                "id": "#custom",
                "type": "object",
                "properties": {},
                "required": []
            }
        },
        "type": "object",
        "properties": {
            "profile": {
                "allOf": [
                    { "$ref": "#/definitions/base" },
                    { "$ref": "#/definitions/custom" }
                ]
            }
        },
        "_links": {
            "self": { "href": format!("{base}/api/v1/meta/schemas/user/{id}") }
        }
    })
}

async fn get_user_schema(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    base: Base,
    Path(id): Path<String>,
) -> ApiResult {
    let who = authenticate(&sim, &headers)?;
    let org = sim.org.read().expect("org lock");
    who.read_schemas(&org)?;
    if id != USER_SCHEMA_ID && id != "default" {
        return Err(OktaError::not_found(&id, "UserSchema"));
    }
    Ok(Json(user_schema_json(&base.0, &org, &id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_lists_every_base_property_with_a_title() {
        let org = Org::new(1, 0);
        let schema = user_schema_json("http://o", &org, "default");
        let base = &schema["definitions"]["base"];
        let props = base["properties"].as_object().unwrap();
        assert_eq!(props.len(), BASE_PROPERTIES.len());
        for (name, p) in props {
            assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()), "{name}");
            assert!(p["unique"].is_string(), "{name}");
        }
        assert_eq!(props["login"]["unique"], "UNIQUE_VALIDATED");
        assert_eq!(
            base["required"],
            json!(["login", "firstName", "lastName", "email"])
        );
        assert_eq!(schema["id"], "http://o/meta/schemas/user/default");
    }

    #[test]
    fn the_user_type_links_to_its_schema() {
        let org = Org::new(1, 0);
        let t = user_type_json("http://o", &org);
        assert_eq!(t["id"], USER_TYPE_ID);
        assert_eq!(t["default"], true);
        assert_eq!(
            t["_links"]["schema"]["href"],
            format!("http://o/api/v1/meta/schemas/user/{USER_SCHEMA_ID}")
        );
        assert_eq!(USER_TYPE_ID.len(), 20);
        assert_eq!(USER_SCHEMA_ID.len(), 20);
        assert_eq!(SYSTEM_PRINCIPAL.len(), 20);
    }
}
