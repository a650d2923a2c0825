//! One authorization table for both interfaces: every `/api/v1` operation, and the server
//! function the pages use for the same thing, against every kind of caller — anonymous, a
//! revoked token, an expired token, a token of a person Okta deactivated, a read-only token,
//! the requester, the request's approver, another approver, an administrator. Each row says
//! who may do it once; the API is called with each caller's token and the pages' server
//! function with each person's session, and both must agree with the row: nothing is possible
//! through the API that the pages refuse, or the reverse.
//!
//! Rows that change state run the allowed callers last (and through the API only), on objects
//! made for them, so every row sees the world the table describes.

use serde_json::{json, Value};

use crate::api_v1::{code, make_token};
use crate::common::okta::{sign_in, spawn_with_sim};
use crate::common::{browser, engines, post, TestApp};
use app::ssr::services::tokens::token_hash;
use gatepass::config::OktaBootstrap;

const OKTA_TOKEN_VAR: &str = "GATEPASS_TEST_API_MATRIX_OKTA_TOKEN";
const OKTA_TOKEN: &str = "api-matrix-okta-token";

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    RevokedToken,
    ExpiredToken,
    DeactivatedPerson,
    /// Bob, with a `read` token only.
    ReadOnly,
    /// Bob, who asked for `eng` (request R) and holds `ops` (grant GB).
    Requester,
    /// Cy, who approves `eng`.
    Approver,
    /// Dee, who approves `ops`, `db` and `web`, not `eng`.
    OtherApprover,
    /// Ada, an administrator (who holds `ops`: grant GA).
    Admin,
}

use Caller::*;

const CALLERS: [Caller; 9] = [
    Anonymous,
    RevokedToken,
    ExpiredToken,
    DeactivatedPerson,
    ReadOnly,
    OtherApprover,
    Approver,
    Admin,
    Requester,
];

/// Who a row allows.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Any live token of an active person.
    AnyToken,
    /// Any person, with `read`.
    Readers,
    /// Any person, with `request`.
    Askers,
    /// R's requester, its approver and administrators (`read`).
    ViewersOfR,
    /// Only the owner of the object (Bob), with `request`.
    Owner,
    /// Only R's approver (Cy), with `approve`.
    DeciderOfR,
    /// Administrators (`admin`): answered (2xx) …
    Admins,
    /// … or let through to a refusal of the input or state (409, 412, 422, 428, 404 of an
    /// unknown id), never 401/403.
    AdminsAdmitted,
}

/// What a caller gets.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Ok,
    Refused,
    Admitted,
    NoToken(&'static str),
}

fn expect(who: Who, caller: Caller) -> Expect {
    match caller {
        Anonymous => return Expect::NoToken("token_missing"),
        RevokedToken => return Expect::NoToken("token_revoked"),
        ExpiredToken => return Expect::NoToken("token_expired"),
        DeactivatedPerson => return Expect::NoToken("person_inactive"),
        _ => {}
    }
    let allowed = match who {
        Who::AnyToken | Who::Readers => true,
        Who::Askers => caller != ReadOnly,
        Who::ViewersOfR => matches!(caller, ReadOnly | Requester | Approver | Admin),
        Who::Owner => caller == Requester,
        Who::DeciderOfR => caller == Approver,
        Who::Admins => caller == Admin,
        Who::AdminsAdmitted => {
            return if caller == Admin {
                Expect::Admitted
            } else {
                Expect::Refused
            }
        }
    };
    if allowed {
        Expect::Ok
    } else {
        Expect::Refused
    }
}

/// One operation: the API call, the pages' server function for the same (if there is one),
/// who may, and whether it changes state.
struct Row {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    if_match: Option<&'static str>,
    page: Option<(&'static str, Vec<(&'static str, String)>)>,
    who: Who,
    changes: bool,
}

fn row(method: reqwest::Method, path: impl Into<String>, who: Who) -> Row {
    Row {
        method,
        path: path.into(),
        body: None,
        if_match: None,
        page: None,
        who,
        changes: false,
    }
}

impl Row {
    fn body(mut self, body: Value) -> Row {
        self.body = Some(body);
        self
    }
    fn page(mut self, path: &'static str, form: &[(&'static str, &str)]) -> Row {
        self.page = Some((
            path,
            form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ));
        self
    }
    fn changes(mut self) -> Row {
        self.changes = true;
        self
    }
    fn if_match(mut self, tag: &'static str) -> Row {
        self.if_match = Some(tag);
        self
    }
}

fn matches(expect: Expect, status: u16, body: &Value) -> bool {
    match expect {
        Expect::Ok => (200..300).contains(&status),
        Expect::Refused => status == 403 || status == 404,
        Expect::Admitted => status != 401 && status != 403 && status < 500,
        Expect::NoToken(c) => status == 401 && code(body) == c,
    }
}

struct World {
    app: TestApp,
    tokens: Vec<(Caller, Option<String>)>,
    sessions: Vec<(Caller, reqwest::Client)>,
    ids: std::collections::HashMap<&'static str, String>,
}

async fn world(engine: app::model::DatabaseEngine) -> (World, okta_sim::RunningSim) {
    std::env::set_var(OKTA_TOKEN_VAR, OKTA_TOKEN);
    let person = |id: &str, login: &str, first: &str| json!({ "id": id, "login": login, "firstName": first, "lastName": "Matrix" });
    let mut ada = person("00uada0000000000000a", "ada@example.com", "Ada");
    ada["roles"] = json!([{ "type": "SUPER_ADMIN" }]);
    let seed = json!({
        "users": [
            ada,
            person("00ubob0000000000000b", "bob@example.com", "Bob"),
            person("00ucy00000000000000c", "cy@example.com", "Cy"),
            person("00udee0000000000000d", "dee@example.com", "Dee"),
            person("00ueve0000000000000e", "eve@example.com", "Eve"),
        ],
        "groups": [
            { "name": "eng", "members": [] }, { "name": "ops", "members": [] },
            { "name": "db", "members": [] }, { "name": "web", "members": [] }
        ],
        "tokens": [{ "token": OKTA_TOKEN, "user": "ada@example.com" }]
    });
    let (app, sim) = spawn_with_sim(engine, seed, "ada@example.com", &[], move |config, org| {
        config.okta = Some(OktaBootstrap {
            org_url: org.to_owned(),
            secret_ref: format!("env:{OKTA_TOKEN_VAR}"),
            ..OktaBootstrap::default()
        });
        config.api.rate_limit_per_minute = 100_000;
    })
    .await;
    app.state
        .sync()
        .run(app::model::SyncKind::Full)
        .await
        .unwrap();
    let mut sessions = Vec::new();
    for (caller, login) in [
        (Admin, "ada"),
        (Requester, "bob"),
        (Approver, "cy"),
        (OtherApprover, "dee"),
        (DeactivatedPerson, "eve"),
    ] {
        let client = browser();
        sign_in(&app, &client, &format!("{login}@example.com")).await;
        sessions.push((caller, client));
    }
    let session = |c: Caller| sessions.iter().find(|(k, _)| *k == c).unwrap().1.clone();
    let admin = session(Admin);
    for (group, approver) in [
        ("eng", "cy@example.com"),
        ("ops", "dee@example.com"),
        ("db", "dee@example.com"),
        ("web", "dee@example.com"),
    ] {
        let (status, body) = post(
            &app,
            &admin,
            "/api/access/policies/save",
            &[
                ("applies_to", group),
                ("eligible_groups", ""),
                ("approver_users", approver),
                ("approver_groups", ""),
                ("quorum", "1"),
                ("default_duration", "1h"),
                ("max_duration", "1d"),
                ("requestable", "on"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }

    // Tokens: each person's with every scope they may have; bob's read-only, revoked and
    // expired ones; eve's, before Okta deactivates her.
    let token = |made: Value| made["token"].as_str().unwrap().to_owned();
    let all = ["read", "request", "approve"];
    let mut tokens = vec![(Anonymous, None)];
    let (_, made) = make_token(
        &app,
        &admin,
        "matrix",
        &["read", "request", "approve", "admin"],
    )
    .await;
    tokens.push((Admin, Some(token(made))));
    for (caller, who) in [
        (Requester, Requester),
        (Approver, Approver),
        (OtherApprover, OtherApprover),
    ] {
        let (_, made) = make_token(&app, &session(who), "matrix", &all).await;
        tokens.push((caller, Some(token(made))));
    }
    let bob = session(Requester);
    let (_, made) = make_token(&app, &bob, "read-only", &["read"]).await;
    tokens.push((ReadOnly, Some(token(made))));
    let (_, made) = make_token(&app, &bob, "revoked", &all).await;
    let revoked = token(made.clone());
    let id = made["info"]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        post(&app, &bob, "/api/tokens/revoke", &[("id", &id)])
            .await
            .0,
        200
    );
    tokens.push((RevokedToken, Some(revoked)));
    let expired = format!("gpat_{}", "E".repeat(40));
    let mut tx = app.db.begin_write().await.unwrap();
    let past = app::model::Timestamp::from_millis(1_000);
    app::ssr::db::tokens::insert_token(
        &mut tx,
        "00ubob0000000000000b",
        "expired",
        &token_hash(&expired),
        "gpat_EEEE…",
        "read request approve",
        past,
        past.plus_secs(86_400),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    tokens.push((ExpiredToken, Some(expired)));
    let (_, made) = make_token(&app, &session(DeactivatedPerson), "matrix", &all).await;
    tokens.push((DeactivatedPerson, Some(token(made))));
    let res = reqwest::Client::new()
        .put(format!(
            "{}/__sim/users/00ueve0000000000000e/status",
            sim.base_url()
        ))
        .json(&json!({ "status": "SUSPENDED" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    app.state
        .sync()
        .run(app::model::SyncKind::Full)
        .await
        .unwrap();

    let mut w = World {
        app,
        tokens,
        sessions,
        ids: Default::default(),
    };
    // The objects the rows act on: R (bob asks for eng), RC (bob asks for db, to cancel),
    // GB (bob holds ops), GA (ada holds ops).
    for name in ["eng", "ops", "db", "web"] {
        let path = format!("/api/v1/groups?q={name}");
        let (_, groups) = w
            .api(Requester, reqwest::Method::GET, &path, None, None)
            .await;
        let id = groups["items"][0]["group_id"].as_str().unwrap().to_owned();
        w.ids.insert(name, id);
    }
    let ask = |group: &str| json!({ "group_id": group, "reason": "matrix" });
    let (_, r) = w
        .api(
            Requester,
            reqwest::Method::POST,
            "/api/v1/requests",
            Some(ask(&w.ids["eng"])),
            None,
        )
        .await;
    w.ids.insert("R", r["id"].to_string());
    let (_, rc) = w
        .api(
            Requester,
            reqwest::Method::POST,
            "/api/v1/requests",
            Some(ask(&w.ids["db"])),
            None,
        )
        .await;
    w.ids.insert("RC", rc["id"].to_string());
    for (who, key) in [(Requester, "GB"), (Admin, "GA")] {
        let (_, asked) = w
            .api(
                who,
                reqwest::Method::POST,
                "/api/v1/requests",
                Some(ask(&w.ids["ops"])),
                None,
            )
            .await;
        let path = format!("/api/v1/approvals/{}", asked["id"]);
        let (status, decided) = w
            .api(
                OtherApprover,
                reqwest::Method::POST,
                &path,
                Some(json!({ "decision": "approve" })),
                None,
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        let (_, grants) = w
            .api(who, reqwest::Method::GET, "/api/v1/grants", None, None)
            .await;
        w.ids
            .insert(key, grants["items"][0]["grant"]["id"].to_string());
    }
    let (_, policies) = w
        .api(Admin, reqwest::Method::GET, "/api/v1/policies", None, None)
        .await;
    w.ids
        .insert("P", policies["items"][0]["policy"]["id"].to_string());
    (w, sim)
}

impl World {
    async fn api(
        &self,
        caller: Caller,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (u16, Value) {
        let token = self
            .tokens
            .iter()
            .find(|(c, _)| *c == caller)
            .unwrap()
            .1
            .clone();
        let mut req = reqwest::Client::new().request(method, self.app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(tag) = if_match {
            req = req.header("if-match", tag);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or_default())
    }

    fn id(&self, key: &str) -> &str {
        &self.ids[key]
    }
}

fn table(w: &World) -> Vec<Row> {
    use reqwest::Method as M;
    let (eng, r, rc, gb, ga, p) = (
        w.id("eng"),
        w.id("R"),
        w.id("RC"),
        w.id("GB"),
        w.id("GA"),
        w.id("P"),
    );
    let spec = json!({ "applies_to": "", "default_duration": "1h", "max_duration": "1d" });
    vec![
        row(M::GET, "/api/v1/whoami", Who::AnyToken),
        row(M::GET, "/api/v1/groups", Who::Readers)
            .page("/api/access/catalog", &[("q", ""), ("after", "")]),
        row(M::GET, format!("/api/v1/groups/{eng}"), Who::Readers)
            .page("/api/access/catalog/entry", &[("group_id", eng)]),
        row(M::GET, "/api/v1/access", Who::Readers).page("/api/access/mine", &[]),
        row(M::GET, "/api/v1/requests", Who::Readers).page("/api/access/mine", &[]),
        row(M::GET, "/api/v1/grants", Who::Readers).page("/api/access/mine", &[]),
        row(M::GET, "/api/v1/approvals", Who::Readers).page("/api/access/approvals", &[]),
        row(M::GET, format!("/api/v1/requests/{r}"), Who::ViewersOfR),
        row(M::GET, "/api/v1/policies", Who::Admins).page("/api/access/policies", &[]),
        row(M::GET, format!("/api/v1/policies/{p}"), Who::Admins),
        row(M::GET, "/api/v1/policies/export", Who::Admins),
        row(M::POST, "/api/v1/policies/plan", Who::Admins).body(json!({ "policy": [] })),
        row(M::GET, "/api/v1/audit", Who::Admins).page(
            "/api/audit",
            &[
                ("actor", ""),
                ("subject", ""),
                ("action", ""),
                ("from", ""),
                ("to", ""),
            ],
        ),
        row(M::GET, "/api/v1/audit/follow?wait=0", Who::Admins),
        row(M::GET, "/api/v1/admin/grants", Who::Admins).page("/api/access/admin", &[("q", "")]),
        row(M::GET, "/api/v1/admin/requests", Who::Admins).page("/api/access/admin", &[("q", "")]),
        row(M::GET, "/api/v1/admin/groups", Who::Admins)
            .page("/api/groups", &[("q", ""), ("after", "")]),
        row(M::GET, format!("/api/v1/admin/groups/{eng}"), Who::Admins)
            .page("/api/groups/detail", &[("group_id", eng)]),
        row(M::GET, "/api/v1/admin/drift", Who::Admins)
            .page("/api/drift", &[("state", "open"), ("before", "0")]),
        row(M::GET, "/api/v1/admin/sync", Who::Admins).page("/api/okta/sync", &[]),
        row(M::POST, "/api/v1/policies", Who::AdminsAdmitted)
            .body(spec.clone())
            .page(
                "/api/access/policies/save",
                &[
                    ("applies_to", ""),
                    ("eligible_groups", ""),
                    ("approver_users", ""),
                    ("approver_groups", ""),
                    ("quorum", "1"),
                    ("default_duration", "1h"),
                    ("max_duration", "1d"),
                ],
            ),
        row(M::PUT, format!("/api/v1/policies/{p}"), Who::AdminsAdmitted)
            .body(spec)
            .if_match("\"stale\""),
        row(
            M::DELETE,
            format!("/api/v1/policies/{p}"),
            Who::AdminsAdmitted,
        )
        .if_match("\"stale\""),
        row(M::POST, "/api/v1/policies/apply", Who::AdminsAdmitted).body(json!({ "policy": [] })),
        row(
            M::POST,
            format!("/api/v1/admin/grants/{ga}/retry"),
            Who::AdminsAdmitted,
        )
        .page("/api/access/retry", &[("grant_id", ga)]),
        row(M::POST, "/api/v1/admin/drift/999999", Who::AdminsAdmitted)
            .body(json!({ "action": "ignore" }))
            .page("/api/drift/act", &[("id", "999999"), ("action", "ignore")]),
        row(M::POST, "/api/v1/admin/sync", Who::AdminsAdmitted)
            .body(json!({ "kind": "incremental" }))
            .page("/api/okta/sync/now", &[]),
        row(M::POST, "/api/v1/requests", Who::Askers)
            .body(json!({ "group_id": w.id("web"), "reason": "matrix" }))
            .changes(),
        row(M::POST, format!("/api/v1/requests/{rc}/cancel"), Who::Owner)
            .page("/api/access/cancel", &[("request_id", rc)])
            .changes(),
        row(M::POST, format!("/api/v1/approvals/{r}"), Who::DeciderOfR)
            .body(json!({ "decision": "approve" }))
            .page(
                "/api/access/decide",
                &[
                    ("request_id", r),
                    ("decision", "approve"),
                    ("comment", ""),
                    ("duration", ""),
                ],
            )
            .changes(),
        row(
            M::POST,
            format!("/api/v1/grants/{gb}/give-back"),
            Who::Owner,
        )
        .page("/api/access/give-back", &[("grant_id", gb)])
        .changes(),
        row(
            M::POST,
            format!("/api/v1/admin/grants/{ga}/revoke"),
            Who::Admins,
        )
        .body(json!({ "reason": "matrix" }))
        .page(
            "/api/access/revoke",
            &[("grant_id", ga), ("reason", "matrix")],
        )
        .changes(),
    ]
}

#[tokio::test]
async fn every_api_operation_and_its_page_counterpart_answer_every_caller_as_one_table_says() {
    for engine in engines() {
        let (w, _sim) = world(engine).await;
        let rows = table(&w);
        // Every operation in the API's document is in the table.
        let doc = gatepass::api_v1::openapi::document_value();
        let mut documented = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented += 1;
                let pattern = path.split('/').collect::<Vec<_>>();
                let covered = rows.iter().any(|r| {
                    let mine = r
                        .path
                        .split('?')
                        .next()
                        .unwrap()
                        .split('/')
                        .collect::<Vec<_>>();
                    r.method.as_str().eq_ignore_ascii_case(method)
                        && mine.len() == pattern.len()
                        && mine
                            .iter()
                            .zip(&pattern)
                            .all(|(a, b)| a == b || b.starts_with('{'))
                });
                assert!(covered, "{method} {path} is not in the table");
            }
        }
        assert!(rows.len() >= documented);

        for row in &rows {
            // Refused callers first, then the allowed ones (who may change state).
            let mut callers = CALLERS.to_vec();
            callers.sort_by_key(|c| matches!(expect(row.who, *c), Expect::Ok | Expect::Admitted));
            for caller in callers {
                let want = expect(row.who, caller);
                let (status, body) = w
                    .api(
                        caller,
                        row.method.clone(),
                        &row.path,
                        row.body.clone(),
                        row.if_match,
                    )
                    .await;
                assert!(
                    matches(want, status, &body),
                    "{engine:?} API {} {} as {caller:?}: expected {want:?}, got {status} {body}",
                    row.method,
                    row.path
                );
                // The pages, with the person's session (no tokens there): the same answer,
                // except that a state change is made once, above.
                let Some((page, form)) = &row.page else {
                    continue;
                };
                let session = match caller {
                    Anonymous => Some(browser()),
                    Requester | Approver | OtherApprover | Admin => w
                        .sessions
                        .iter()
                        .find(|(c, _)| *c == caller)
                        .map(|(_, s)| s.clone()),
                    _ => None,
                };
                let Some(session) = session else { continue };
                if row.changes && want == Expect::Ok {
                    continue;
                }
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, body) = post(&w.app, &session, page, &form).await;
                let ok = match want {
                    Expect::NoToken(_) => status == 401,
                    other => matches(other, status, &body),
                };
                assert!(
                    ok,
                    "{engine:?} page {page} as {caller:?}: expected {want:?}, got {status} {body}"
                );
            }
        }
    }
}
