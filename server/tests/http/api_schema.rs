//! `/api/v1/openapi.json` checked by an outside tool: Schemathesis (PyPI) generates and fuzzes
//! cases from the document and runs them against the server on both engines, with a token of
//! every scope held by an administrator, who may request `ops` and approves `eng`. No answer may be a
//! 5xx, every answer must match the document (status, content type, headers, body schema),
//! invalid input must be refused, a call without the token must be refused, and a refused call
//! must change nothing (the hooks in `tests/peers/schemathesis_hooks.py` read the audit log's
//! head before and after each call). The reference page renders the same document.

use std::process::Command;

use serde_json::Value;

use crate::api_v1::{eng_approved_by_admin, make_token};
use crate::common::{engines, post};
use crate::notifications::python;

/// Schemathesis's checks for this run (the outside tool's own), plus ours from the hooks.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
    response_headers_conformance,response_schema_conformance,negative_data_rejection,\
    ignored_auth,no_state_change_on_refusal";

#[tokio::test]
async fn schemathesis_finds_the_api_true_to_its_document_on_both_engines() {
    let Some(python) = python() else { return };
    for engine in engines() {
        let (app, _sim, admin, _bob) = eng_approved_by_admin(engine, 1_000_000).await;
        // `ops`, which the administrator is not in, requestable by everyone.
        let (status, policy) = post(
            &app,
            &admin,
            "/api/access/policies/save",
            &[
                ("applies_to", "ops"),
                ("eligible_groups", ""),
                ("approver_users", "bob@example.com"),
                ("approver_groups", ""),
                ("quorum", "1"),
                ("default_duration", "1h"),
                ("max_duration", "1d"),
                ("requestable", "on"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{policy}");
        let (_, made) = make_token(
            &app,
            &admin,
            "schemathesis",
            &["read", "request", "approve", "admin"],
        )
        .await;
        let token = made["token"].as_str().unwrap().to_owned();
        let (_, made) = make_token(&app, &admin, "probe", &["admin"]).await;
        let probe = made["token"].as_str().unwrap().to_owned();
        let base = app.url("");
        let base = base.trim_end_matches('/').to_owned();
        let groups: Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/groups?q=ops"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ops = groups["items"][0]["group_id"].as_str().unwrap().to_owned();

        // The document is served without a token, and is OpenAPI 3.1.
        let doc: Value = reqwest::get(format!("{base}/api/v1/openapi.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        // Valid OpenAPI 3.1, as the reference validator (openapi-spec-validator) reads it.
        let checked = tokio::task::spawn_blocking({
            let python = python.clone();
            let doc = doc.to_string();
            move || {
                let mut child = Command::new(python)
                    .args([
                        "-c",
                        "import json, sys\nfrom openapi_spec_validator import validate\n\
                         validate(json.load(sys.stdin))\nprint('valid')",
                    ])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(doc.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
        })
        .await
        .unwrap();
        assert!(
            checked.status.success(),
            "openapi-spec-validator: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        let page = reqwest::get(format!("{base}/api/v1/docs"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("<code>POST /api/v1/approvals/{id}</code>"),
            "{page}"
        );

        let peers = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers");
        let reports = tempfile::tempdir().unwrap();
        let schema_url = format!("{base}/api/v1/openapi.json");
        let auth = format!("Authorization: Bearer {token}");
        let config = format!("{peers}/schemathesis.toml");
        let args = [
            "-m",
            "schemathesis.cli",
            "--config-file",
            &config,
            "run",
            &schema_url,
            "--checks",
            CHECKS,
            "-H",
            &auth,
            "--max-examples",
            "30",
            "--workers",
            "1",
            "--seed",
            "20261129",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "30",
            "--report-dir",
            reports.path().to_str().unwrap(),
        ];
        let run = tokio::task::spawn_blocking({
            let python = python.clone();
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let probe = probe.clone();
            let base = base.clone();
            let group = ops.clone();
            let dir = reports.path().to_path_buf();
            move || {
                // In the report directory: Schemathesis keeps a cache where it runs.
                Command::new(python)
                    .args(args)
                    .current_dir(&dir)
                    .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
                    .env("PYTHONPATH", peers)
                    .env("GATEPASS_URL", base)
                    .env("GATEPASS_PROBE_TOKEN", probe)
                    .env("GATEPASS_GROUP", group)
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let out = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{engine:?}: Schemathesis found problems\n{out}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );

        // It reached the success paths too: requests were asked through the token.
        let via: Vec<Value> = reqwest::Client::new()
            .get(format!(
                "{base}/api/v1/audit?action=request.created&limit=500"
            ))
            .bearer_auth(&probe)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["items"]
            .as_array()
            .unwrap()
            .clone();
        assert!(
            via.iter().any(|e| e["details"]
                .as_str()
                .unwrap_or("")
                .contains("token schemathesis")),
            "{engine:?}: no request was created by the run\n{via:?}\n{out}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
