//! `spawn_app()`: a real Gatepass server on 127.0.0.1 port 0 with a fresh database.

pub mod okta;

use std::net::SocketAddr;
use std::sync::Arc;

use app::model::DatabaseEngine;
use app::ssr::clock::{Clock, SystemClock};
use app::ssr::db::Db;
use app::ssr::testing::{fresh_db, TestDb};
use gatepass::config::Config;
use gatepass::startup::Server;
use tokio::sync::oneshot;

pub use app::ssr::testing::engines;

/// One test server at a time per test binary. Each `#[tokio::test]` runs its own runtime, and
/// Leptos's server-side rendering shares process-wide state between them: with several
/// runtimes rendering at once a render could stall (seen about once in five runs of
/// `tests/http.rs`). Production has a single runtime; tests take turns.
static ONE_SERVER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The `/metrics` scrape token of test servers.
pub const METRICS_TOKEN: &str = "test-metrics-scrape-token";

/// A running server; stopped when dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The server's pool (closing it makes the server lose its database).
    pub db: Db,
    /// The state every request of the server sees.
    pub state: app::ssr::state::AppState,
    stop: Option<oneshot::Sender<()>>,
    _test_db: TestDb,
    _site: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts Gatepass on `engine` with a fresh database and an empty site root holding a
/// stylesheet, so static file serving can be checked without building the bundle.
pub async fn spawn_app(engine: DatabaseEngine) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_app_on(engine, listener, Arc::new(SystemClock), |_| {}).await
}

/// Like [`spawn_app`], on a bound listener, with `clock`, and with `configure` applied to the
/// configuration.
pub async fn spawn_app_on(
    engine: DatabaseEngine,
    listener: tokio::net::TcpListener,
    clock: Arc<dyn Clock>,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let turn = ONE_SERVER_AT_A_TIME.lock().await;
    let test_db = fresh_db(engine).await;
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/gatepass.css"), "body { margin: 0 }\n").unwrap();

    let mut config = Config {
        listen: listener.local_addr().unwrap(),
        database_url: Some(test_db.url.clone()),
        site_root: site.path().to_path_buf(),
        ..Config::default()
    };
    config.metrics.token = Some(secrecy::SecretString::from(METRICS_TOKEN));
    configure(&mut config);
    let server = Server::build_on(listener, config, clock)
        .await
        .expect("server builds");
    let addr = server.local_addr();
    let db = server.db().clone();
    let state = server.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: browser(),
        db,
        state,
        stop: Some(stop),
        _test_db: test_db,
        _site: site,
        _turn: turn,
    }
}

/// A client that keeps cookies and does not follow redirects, as the tests need.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

/// POSTs a form to a server function of `app` as a browser there would (with its `Origin`):
/// the status and the JSON answer (`Null` if it is not JSON).
pub async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let res = client
        .post(app.url(path))
        .header("origin", app.url(""))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}
