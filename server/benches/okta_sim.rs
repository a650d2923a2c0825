//! Okta simulator at scale: how long a 100k-user / 10k-group / 1M-membership org takes to
//! build, and the server time to answer a page of 200 (router, auth, rate limiter, paging and
//! JSON, without the network), as median and 99th percentile.
//!
//!     cargo bench -p server --bench okta_sim [-- users=100k,groups=10k,memberships=1m]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use okta_sim::edge::{Faults, Limits};
use okta_sim::seed::{self, Scale, SeedFile};
use okta_sim::store::Org;
use okta_sim::{router, Sim};
use tower::ServiceExt;

fn main() {
    let scale: Scale = std::env::args()
        .skip(1)
        .find(|a| a.contains('='))
        .unwrap_or_else(|| "users=100k,groups=10k,memberships=1m".into())
        .parse()
        .expect("scale");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let t = Instant::now();
    let mut org = Org::new(1, 1_700_000_000_000);
    seed::generate(&mut org, scale, 1_700_000_000_000).unwrap();
    let admin: SeedFile = serde_json::from_value(serde_json::json!({
        "users": [{ "login": "bench@example.com", "roles": [{ "type": "SUPER_ADMIN" }] }],
        "tokens": [{ "token": "bench", "user": "bench@example.com" }]
    }))
    .unwrap();
    admin.apply(&mut org, 1_700_000_000_000).unwrap();
    let build = t.elapsed();
    println!(
        "org: {} users, {} groups, {} memberships built in {:.0} ms",
        org.users.len(),
        org.groups.len(),
        org.membership_count(),
        build.as_secs_f64() * 1000.0
    );

    let mid_user = org.users[org.users.len() / 2].id.clone();
    let mid_group = org.groups[org.groups.len() / 2].id.clone();
    let big_group = org
        .groups
        .iter()
        .skip(1)
        .max_by_key(|g| g.members.len())
        .unwrap()
        .id
        .clone();
    let login = org.users[org.users.len() / 3].login.clone();
    // Rate limits out of the way: this measures serving, not refusing.
    let limits = Limits {
        limits: ["users", "groups", "group", "logs", "token", "default"]
            .into_iter()
            .map(|b| (b.to_string(), u32::MAX))
            .collect(),
        ..Limits::default()
    };
    let app = router(Sim::new(org, limits, Faults::default(), None));

    let cases = [
        ("users, first page", "/api/v1/users?limit=200".to_string()),
        (
            "users, page from the middle",
            format!("/api/v1/users?limit=200&after={mid_user}"),
        ),
        (
            "users, search by login",
            format!("/api/v1/users?search=profile.login%20eq%20%22{login}%22"),
        ),
        (
            "groups with stats, middle page",
            format!("/api/v1/groups?limit=200&expand=stats&after={mid_group}"),
        ),
        (
            "members of the largest group",
            format!("/api/v1/groups/{big_group}/users?limit=200"),
        ),
    ];
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "request (page of 200)", "median", "p99", "bytes"
    );
    for (name, path) in cases {
        let (median, p99, bytes) = runtime.block_on(measure(&app, &path, 2000));
        println!(
            "{name:<34} {:>7.1} µs {:>7.1} µs {bytes:>12}",
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
    }
}

async fn measure(app: &axum::Router, path: &str, n: usize) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n + 100 {
        let req = Request::get(path)
            .header("host", "127.0.0.1:7000")
            .header("authorization", "SSWS bench")
            .body(Body::empty())
            .unwrap();
        let t = Instant::now();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        let elapsed = t.elapsed();
        if i >= 100 {
            times.push(elapsed);
        }
        bytes = body.len();
    }
    times.sort();
    (times[n / 2], times[n * 99 / 100], bytes)
}
