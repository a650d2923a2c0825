//! The OpenAPI 3.1 document of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` derives, so it cannot drift from the code. Every
//! operation takes a bearer token and may be refused the same few ways (one [`ErrorBody`]
//! shape); those are added to each operation here, once. The reference page at
//! `/api/v1/docs` is rendered from the same document.

use std::fmt::Write as _;
use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ObjectBuilder, Ref, RefOr, ResponseBuilder, Type};
use utoipa::OpenApi;

use super::{admin, operate, people, ErrorBody};

/// The document's source: every operation, its schemas and tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatepass API",
        version = "1",
        description = "Just-in-time, time-boxed access to Okta groups. Every call takes a \
            personal access token (`Authorization: Bearer gpat_…`, made on Settings › API \
            tokens); a token never does more than its scopes and its person's role at the time \
            of the call allow. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`. \
            Lists are paged by cursor: `next` in the body and a `Link: <…>; rel=\"next\"` \
            header. Instants are milliseconds since the Unix epoch (UTC)."
    ),
    paths(
        people::whoami,
        people::groups,
        people::group,
        people::my_access,
        people::my_requests,
        people::request,
        people::my_grants,
        people::create_request,
        people::cancel_request,
        people::give_back,
        people::approvals,
        people::decide,
        admin::policies,
        admin::policy,
        admin::create_policy,
        admin::replace_policy,
        admin::delete_policy,
        admin::export,
        admin::plan,
        admin::apply,
        admin::audit,
        operate::follow_audit,
        operate::grants,
        operate::pending,
        operate::revoke,
        operate::retry,
        operate::groups,
        operate::group,
        operate::drift,
        operate::act_on_drift,
        operate::sync_state,
        operate::start_sync,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Common),
    security(("token" = [])),
    tags(
        (name = "people", description = "What every person does: the catalog, their access, \
            their requests, the requests they approve."),
        (name = "admin", description = "Administrators only (`admin` scope)."),
    )
)]
struct ApiDoc;

/// The refusals any operation may answer, each an [`ErrorBody`].
const REFUSALS: [(&str, &str); 10] = [
    (
        "401",
        "No token, or one that is unknown, revoked, expired or whose person is inactive",
    ),
    (
        "403",
        "The token lacks the scope, or its person may not do this",
    ),
    ("404", "No such thing, or not one the person may see"),
    (
        "409",
        "It changed meanwhile (already decided, already ended)",
    ),
    (
        "412",
        "What `If-Match` names is no longer current: it changed since it was read",
    ),
    ("413", "The body is larger than the operation takes"),
    ("422", "The input is wrong; `field` names what"),
    ("428", "A write that needs `If-Match` came without it"),
    (
        "429",
        "Too many calls with this token; `Retry-After` says when to come back",
    ),
    ("503", "Okta or a secret store cannot be reached just now"),
];

/// Adds the bearer scheme and the shared refusals.
struct Common;

impl utoipa::Modify for Common {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("gpat_…")
                    .description(Some("A personal access token"))
                    .build(),
            ),
        );
        let text = || Header::new(ObjectBuilder::new().schema_type(Type::String));
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                for (status, description) in REFUSALS {
                    let mut response = ResponseBuilder::new().description(description).content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    );
                    match status {
                        "401" => response = response.header("WWW-Authenticate", text()),
                        "429" => response = response.header("Retry-After", text()),
                        _ => {}
                    }
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert(RefOr::T(response.build()));
                }
            }
        }
    }
}

/// The document, built once.
fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    })
}

/// The document as a value (for the reference page and tests).
pub fn document_value() -> Value {
    serde_json::from_str(json()).expect("the OpenAPI document is JSON")
}

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not disclose).
pub(super) async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json(),
    )
        .into_response()
}

/// `GET /api/v1/docs`: the reference, for people.
pub(super) async fn reference() -> Html<String> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| render(&document_value())).clone())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `#/components/schemas/Name` → `Name`.
fn ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// A schema in a few words: a link to a named one, `array of …`, or its type.
fn type_of(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(any) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
        let parts: Vec<String> = any.as_array().into_iter().flatten().map(type_of).collect();
        return parts.join(" or ");
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => vec![],
    };
    let mut text = types
        .iter()
        .map(|t| match (t.as_str(), schema.get("items")) {
            ("array", Some(items)) => format!("array of {}", type_of(items)),
            _ => escape(t),
        })
        .collect::<Vec<_>>()
        .join(" or ");
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| format!("<code>{}</code>", escape(&v.to_string())))
            .collect();
        text = format!("one of {}", values.join(", "));
    }
    if text.is_empty() {
        "any".to_owned()
    } else {
        text
    }
}

fn described(value: &Value) -> String {
    escape(
        value
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )
}

/// The reference page: operations by tag, then the schemas.
fn render(doc: &Value) -> String {
    let mut out = String::new();
    let title = escape(doc["info"]["title"].as_str().unwrap_or("API"));
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} reference</title><link rel=\"stylesheet\" href=\"/pkg/gatepass.css\">\
         </head><body><main class=\"api-reference\"><h1>{title} reference</h1><p>{}</p>\
         <p>The machine-readable document: <a href=\"/api/v1/openapi.json\">openapi.json</a> \
         (OpenAPI {}).</p>",
        described(&doc["info"]),
        escape(doc["openapi"].as_str().unwrap_or("")),
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for tag in doc["tags"].as_array().into_iter().flatten() {
        let name = tag["name"].as_str().unwrap_or("");
        let _ = write!(
            out,
            "<section><h2>{}</h2><p>{}</p>",
            escape(name),
            described(tag)
        );
        for (path, item) in &paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                let in_tag = op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == name));
                if in_tag {
                    render_operation(&mut out, method, path, op);
                }
            }
        }
        out.push_str("</section>");
    }
    out.push_str("<section><h2>Schemas</h2>");
    let schemas = doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, schema) in &schemas {
        let _ = write!(
            out,
            "<h3 id=\"schema-{0}\">{0}</h3><p>{1}</p>",
            escape(name),
            described(schema)
        );
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match schema["properties"].as_object() {
            Some(properties) => {
                out.push_str(
                    "<table><thead><tr><th>Field</th><th>Type</th><th>Required</th>\
                     <th>Meaning</th></tr></thead><tbody>",
                );
                for (field, property) in properties {
                    let _ = write!(
                        out,
                        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(field),
                        type_of(property),
                        if required.contains(&field.as_str()) {
                            "yes"
                        } else {
                            "no"
                        },
                        described(property)
                    );
                }
                out.push_str("</tbody></table>");
            }
            None => {
                let _ = write!(out, "<p>{}</p>", type_of(schema));
            }
        }
    }
    out.push_str("</section></main></body></html>");
    out
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<article><h3><code>{} {}</code></h3><p>{}</p>",
        escape(&method.to_uppercase()),
        escape(path),
        escape(
            op.get("summary")
                .or_else(|| op.get("description"))
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    );
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str(
            "<table><thead><tr><th>Parameter</th><th>In</th><th>Type</th><th>Meaning</th>\
             </tr></thead><tbody>",
        );
        for p in params {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(p["name"].as_str().unwrap_or("")),
                escape(p["in"].as_str().unwrap_or("")),
                type_of(&p["schema"]),
                described(p)
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema") {
        let _ = write!(out, "<p>Body: {}</p>", type_of(schema));
    }
    out.push_str(
        "<table><thead><tr><th>Status</th><th>Meaning</th><th>Body</th></tr></thead><tbody>",
    );
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let body = response["content"]["application/json"]
            .get("schema")
            .map(type_of)
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(status),
            described(response),
            body
        );
    }
    out.push_str("</tbody></table></article>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_every_operation_is_guarded_and_refuses_in_one_shape() {
        let doc = document_value();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(
            doc["components"]["securitySchemes"]["token"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["token"], serde_json::json!([]));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 11, "{}", paths.len());
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_owned();
                assert!(
                    ids.insert(id.clone()),
                    "operationId {id} twice ({method} {path})"
                );
                for (status, _) in REFUSALS {
                    assert_eq!(
                        op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        let page = render(&doc);
        assert!(page.contains("<code>POST /api/v1/requests</code>"));
        assert!(page.contains("id=\"schema-AccessRequest\""));
    }
}
