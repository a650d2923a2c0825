//! HTTP plumbing shared by the simulated endpoints: Okta's error body, paging with `Link`
//! headers, the caller's base URL, and authentication of SSWS and Bearer credentials.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::store::{
    roles_can_manage_apps, roles_can_manage_group, roles_can_read, Actor, Org, Role,
};
use super::Sim;

/// An error as Okta reports it: status plus `{errorCode, errorSummary, errorLink, errorId,
/// errorCauses}`.
#[derive(Debug, Clone)]
pub struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
    pub www_authenticate: Option<&'static str>,
}

impl OktaError {
    fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        OktaError {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
            www_authenticate: None,
        }
    }

    /// 401 E0000011: missing, unknown or expired credential.
    pub fn invalid_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        );
        e.www_authenticate = Some(r#"Bearer realm="IdpError", error="invalid_token""#);
        e
    }

    /// 403 E0000006: the credential may not do this.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// 403 E0000006 for an OAuth access token without the scope the endpoint needs.
    pub fn insufficient_scope() -> Self {
        let mut e = Self::forbidden();
        e.www_authenticate = Some(
            r#"Bearer realm="IdpError", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.""#,
        );
        e
    }

    /// 404 E0000007.
    pub fn not_found(what: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {what} ({kind})"),
        )
    }

    /// 400 E0000001 with a cause.
    pub fn validation(field: &str, cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {field}"),
        );
        e.causes.push(cause.into());
        e
    }

    /// 400 E0000031: an unusable `filter` or `search` expression.
    pub fn invalid_search(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        );
        e.causes.push(cause.into());
        e
    }

    /// 429 E0000047.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    /// 500 E0000009 (injected faults).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }

    /// 405 E0000022.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// 400 E0000003: a request body that is not JSON (or not the JSON expected).
    pub fn malformed_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
        )
    }

    /// 403 E0000046: unassigning an app from a user whose group memberships still grant it.
    pub fn app_granted_by_group() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000046",
            "Deactivate application for user forbidden.",
        )
        .cause("The application cannot be unassigned from the user while their group memberships grant them access")
    }

    /// Adds an error cause.
    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }
}

/// An Okta-style error id: `oae` and 22 random characters.
pub fn error_id() -> String {
    random_id("oae", 25)
}

/// `prefix` followed by random URL-safe characters up to `len`.
pub fn random_id(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let mut rng = rand::thread_rng();
    let mut s = String::with_capacity(len);
    s.push_str(prefix);
    while s.len() < len {
        s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    s
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id(),
            "errorCauses": self.causes.iter().map(|c| json!({ "errorSummary": c })).collect::<Vec<_>>(),
        });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(www) = self.www_authenticate {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(www));
        }
        resp
    }
}

/// The org URL as the caller reached it (`http://host:port`), for absolute links.
#[derive(Debug, Clone)]
pub struct Base(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("127.0.0.1");
        Ok(Base(format!("http://{host}")))
    }
}

/// `limit` and `after` of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    pub after: Option<String>,
}

/// Reads `limit` (default and maximum per endpoint; larger values are capped, as Okta does)
/// and `after`.
pub fn paging(query: &[(String, String)], default: usize, max: usize) -> Result<Paging, OktaError> {
    let limit = match param(query, "limit") {
        None => default,
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if n > 0 => (n as usize).min(max),
            Ok(-1) => max,
            _ => {
                return Err(OktaError::validation(
                    "limit",
                    format!("limit: {raw:?} is not a positive number"),
                ))
            }
        },
    };
    Ok(Paging {
        limit,
        after: param(query, "after").map(str::to_owned),
    })
}

/// The first value of query parameter `name`.
pub fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A JSON list with `Link: <…>; rel="self"` and, when there is more, `rel="next"` as
/// separate header lines.
pub fn page<T: serde::Serialize>(
    base: &Base,
    uri: &Uri,
    items: Vec<T>,
    next_after: Option<String>,
) -> Response {
    let mut resp = Json(items).into_response();
    let self_url = format!(
        "{}{}",
        base.0,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    append_link(resp.headers_mut(), &self_url, "self");
    if let Some(after) = next_after {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .filter(|(k, _)| k != "after")
                .collect();
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            ser.append_pair(k, v);
        }
        ser.append_pair("after", &after);
        let next = format!("{}{}?{}", base.0, uri.path(), ser.finish());
        append_link(resp.headers_mut(), &next, "next");
    }
    resp
}

fn append_link(headers: &mut HeaderMap, url: &str, rel: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"{rel}\"")) {
        headers.append(header::LINK, v);
    }
}

/// Who is calling the Management API.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An SSWS API token acting as an admin user.
    Token { user: u32 },
    /// An OAuth 2.0 service app with a Bearer access token.
    App {
        client_id: String,
        scopes: Vec<String>,
    },
}

/// Authenticates `Authorization: SSWS <token>` (the space is optional, as Okta's Python SDK
/// omits it) or `Authorization: Bearer <access token>`.
pub fn authenticate(sim: &Sim, headers: &HeaderMap) -> Result<Caller, OktaError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(OktaError::invalid_token)?;
    if let Some(token) = value.strip_prefix("SSWS") {
        let token = token.trim();
        let org = sim.org.read().expect("org lock");
        return org
            .tokens
            .get(token)
            .map(|&user| Caller::Token { user })
            .ok_or_else(OktaError::invalid_token);
    }
    if let Some(token) = value.strip_prefix("Bearer ") {
        return sim
            .service_token(token.trim())
            .map(|(client_id, scopes)| Caller::App { client_id, scopes })
            .ok_or_else(OktaError::invalid_token);
    }
    Err(OktaError::invalid_token())
}

impl Caller {
    /// The admin roles behind the credential.
    pub fn roles<'o>(&self, org: &'o Org) -> &'o [Role] {
        match self {
            Caller::Token { user } => &org.users[*user as usize].roles,
            Caller::App { client_id, .. } => org
                .service_apps
                .get(client_id)
                .map(|a| a.roles.as_slice())
                .unwrap_or(&[]),
        }
    }

    fn has_scope(&self, wanted: &[&str]) -> bool {
        match self {
            Caller::Token { .. } => true,
            Caller::App { scopes, .. } => scopes.iter().any(|s| wanted.contains(&s.as_str())),
        }
    }

    /// Reading users: scope `okta.users.read` (or `.manage`) and any admin role.
    pub fn read_users(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.users.read", "okta.users.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading groups: scope `okta.groups.read` (or `.manage`) and any admin role.
    pub fn read_groups(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.groups.read", "okta.groups.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading the system log: scope `okta.logs.read` and any admin role.
    pub fn read_logs(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.logs.read"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading admin roles: scope `okta.roles.read` (or `.manage`) and any admin role.
    pub fn read_roles(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.roles.read", "okta.roles.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading user types: scope `okta.userTypes.read` (or `.manage`) and any admin role.
    pub fn read_user_types(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.userTypes.read", "okta.userTypes.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading profile schemas: scope `okta.schemas.read` (or `.manage`) and any admin role.
    pub fn read_schemas(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.schemas.read", "okta.schemas.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Reading apps and their assignments: scope `okta.apps.read` (or `.manage`) and any admin
    /// role.
    pub fn read_apps(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.apps.read", "okta.apps.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        self.read(org)
    }

    /// Changing app assignments: scope `okta.apps.manage` and `SUPER_ADMIN`, `ORG_ADMIN` or
    /// `APP_ADMIN`.
    pub fn manage_apps(&self, org: &Org) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.apps.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        if roles_can_manage_apps(self.roles(org)) {
            Ok(())
        } else {
            Err(OktaError::forbidden())
        }
    }

    fn read(&self, org: &Org) -> Result<(), OktaError> {
        if roles_can_read(self.roles(org)) {
            Ok(())
        } else {
            Err(OktaError::forbidden())
        }
    }

    /// Changing the membership of group `g`: scope `okta.groups.manage` and a role that
    /// covers the group.
    pub fn manage_group(&self, org: &Org, g: u32) -> Result<(), OktaError> {
        if !self.has_scope(&["okta.groups.manage"]) {
            return Err(OktaError::insufficient_scope());
        }
        if roles_can_manage_group(self.roles(org), g) {
            Ok(())
        } else {
            Err(OktaError::forbidden())
        }
    }

    /// The caller as the system log names it.
    pub fn actor(&self, org: &Org) -> Actor {
        match self {
            Caller::Token { user } => {
                let u = &org.users[*user as usize];
                Actor {
                    id: u.id.clone(),
                    kind: "User",
                    alternate_id: u.login.clone(),
                    display_name: u.display_name(),
                }
            }
            Caller::App { client_id, .. } => Actor {
                id: client_id.clone(),
                kind: "PublicClientApp",
                alternate_id: client_id.clone(),
                display_name: client_id.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn limit_defaults_caps_and_refuses_nonsense() {
        assert_eq!(paging(&q(&[]), 200, 200).unwrap().limit, 200);
        assert_eq!(paging(&q(&[("limit", "5")]), 200, 200).unwrap().limit, 5);
        assert_eq!(
            paging(&q(&[("limit", "5000")]), 200, 200).unwrap().limit,
            200
        );
        assert_eq!(paging(&q(&[("limit", "-1")]), 10, 300).unwrap().limit, 300);
        for bad in ["0", "ten", "-5", ""] {
            let e = paging(&q(&[("limit", bad)]), 200, 200).unwrap_err();
            assert_eq!(e.code, "E0000001", "{bad}");
        }
        assert_eq!(
            paging(&q(&[("after", "00u1")]), 1, 1)
                .unwrap()
                .after
                .as_deref(),
            Some("00u1")
        );
    }

    #[test]
    fn next_link_keeps_the_query_and_replaces_after() {
        let none: Vec<serde_json::Value> = Vec::new();
        let uri: Uri = "/api/v1/users?limit=2&after=old&search=status%20eq%20%22ACTIVE%22"
            .parse()
            .unwrap();
        let resp = page(
            &Base("http://127.0.0.1:9".into()),
            &uri,
            none,
            Some("00uNEXT".into()),
        );
        let links: Vec<_> = resp
            .headers()
            .get_all(header::LINK)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(links.len(), 2, "self and next on separate lines");
        assert_eq!(
            links[0],
            "<http://127.0.0.1:9/api/v1/users?limit=2&after=old&search=status%20eq%20%22ACTIVE%22>; rel=\"self\""
        );
        assert_eq!(
            links[1],
            "<http://127.0.0.1:9/api/v1/users?limit=2&search=status+eq+%22ACTIVE%22&after=00uNEXT>; rel=\"next\""
        );
    }
}
