//! `GET /admin/reviews/{id}/report.csv|json`: an access review's report as a download (admins),
//! streamed a page of items at a time so that a campaign of a million items needs no more
//! memory than a page.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use app::ssr::auth::{require_admin_from, Admin, SignedIn};
use app::ssr::services::reviews::{report_csv_row, REPORT_COLUMNS};
use app::ssr::state::AppState;

/// Items read per page of the download.
const PAGE: i64 = 2_000;

pub async fn report(
    State(state): State<AppState>,
    Path((id, file)): Path<(i64, String)>,
    request: Request,
) -> Response {
    let me = request.extensions().get::<SignedIn>().map(|s| s.0.clone());
    let json = match file.as_str() {
        "report.csv" => false,
        "report.json" => true,
        _ => return (StatusCode::NOT_FOUND, "Not found.").into_response(),
    };
    let admin = match require_admin_from(me) {
        Ok(admin) => admin,
        Err(e) => return (e.status_code(), e.to_string()).into_response(),
    };
    // The campaign must exist before the answer starts (a stream cannot change its status).
    if let Err(e) = state.reviews().detail(&admin, id).await {
        return (e.status_code(), e.to_string()).into_response();
    }
    let (kind, name) = if json {
        ("application/json", format!("gatepass-review-{id}.json"))
    } else {
        (
            "text/csv; charset=utf-8",
            format!("gatepass-review-{id}.csv"),
        )
    };
    let body = Body::from_stream(pages(state, admin, id, json));
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

/// The report's bytes: a header (CSV) or the opening of the document (JSON), then one chunk
/// per page of items, then the end.
fn pages(
    state: AppState,
    admin: Admin,
    id: i64,
    json: bool,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    enum Step {
        Start,
        After(i64, bool),
        Done,
    }
    futures_util::stream::unfold(Step::Start, move |step| {
        let (state, admin) = (state.clone(), admin.clone());
        async move {
            match step {
                Step::Start => {
                    let head = if json {
                        format!("{{\"campaign\":{id},\"items\":[")
                    } else {
                        format!("{}\r\n", REPORT_COLUMNS.join(","))
                    };
                    Some((Ok(head), Step::After(0, true)))
                }
                Step::After(after, first) => {
                    let lines = match state.reviews().report(&admin, id, after, PAGE).await {
                        Ok(lines) => lines,
                        Err(e) => {
                            tracing::error!(campaign = id, error = %e, "the review report stopped");
                            return Some((Err(std::io::Error::other("report failed")), Step::Done));
                        }
                    };
                    let Some(last) = lines.last().map(|l| l.item) else {
                        let end = if json {
                            "]}\n".to_owned()
                        } else {
                            String::new()
                        };
                        return Some((Ok(end), Step::Done));
                    };
                    let mut chunk = String::new();
                    for (i, l) in lines.iter().enumerate() {
                        if json {
                            if !(first && i == 0) {
                                chunk.push(',');
                            }
                            chunk.push_str(&serde_json::to_string(l).unwrap_or_default());
                        } else {
                            chunk.push_str(&report_csv_row(id, l));
                        }
                    }
                    Some((Ok(chunk), Step::After(last, false)))
                }
                Step::Done => None,
            }
        }
    })
}
