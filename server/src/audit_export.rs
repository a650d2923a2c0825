//! `GET /admin/audit/export?format=csv|jsonl&…`: the filtered audit log as a download (admins).

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use app::ssr::auth::{require_admin_from, SignedIn};
use app::ssr::services::audit::{export_audit, parse_filter};
use app::ssr::state::AppState;

/// The export's query: the audit page's filters plus the format.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ExportQuery {
    pub format: String,
    pub actor: String,
    pub subject: String,
    pub action: String,
    pub from: String,
    pub to: String,
}

pub async fn export(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
    request: Request,
) -> Response {
    let me = request.extensions().get::<SignedIn>().map(|s| s.0.clone());
    let result = async {
        let admin = require_admin_from(me)?;
        let jsonl = match q.format.as_str() {
            "csv" | "" => false,
            "jsonl" => true,
            _ => return Err(app::error::AppError::invalid("format", "csv or jsonl")),
        };
        let filter = parse_filter(&q.actor, &q.subject, &q.action, &q.from, &q.to)?;
        let body = export_audit(&state.db, &admin, &filter, jsonl).await?;
        Ok((jsonl, body))
    }
    .await;
    match result {
        Ok((jsonl, body)) => {
            let (kind, name) = if jsonl {
                ("application/x-ndjson", "gatepass-audit.jsonl")
            } else {
                ("text/csv; charset=utf-8", "gatepass-audit.csv")
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, kind.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}\""),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => (e.status_code(), e.to_string()).into_response(),
    }
}
