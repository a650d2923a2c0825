//! The `gatepass` binary as a person runs it: help, configuration errors, migrate.

use std::process::Command;

fn gatepass() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatepass"));
    // Keep the developer's own settings out of these tests.
    for (key, _) in std::env::vars() {
        if key.starts_with("GATEPASS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

#[test]
fn help_lists_the_subcommands() {
    let out = gatepass().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("serve"), "{text}");
    assert!(text.contains("migrate"), "{text}");
    assert!(text.contains("--config"), "{text}");
    let out = gatepass().args(["serve", "--help"]).output().unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("--listen <ADDR>"));
}

#[test]
fn bad_database_url_fails_with_one_line_naming_the_key() {
    let out = gatepass()
        .arg("serve")
        .env("GATEPASS_DATABASE_URL", "mysql://x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("GATEPASS_DATABASE_URL (database_url)"),
        "{stderr}"
    );
    assert!(stderr.contains("mysql"), "{stderr}");
}

#[test]
fn bad_config_file_fails_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatepass.toml");
    std::fs::write(&file, "listen = \"localhost\"\n").unwrap();
    let out = gatepass()
        .arg("--config")
        .arg(&file)
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("gatepass: configuration error: listen:"),
        "{stderr}"
    );
}

#[test]
fn migrate_creates_the_sqlite_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        gatepass()
            .arg("migrate")
            .env("GATEPASS_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8(first.stdout)
        .unwrap()
        .starts_with("14 migration(s) applied"));
    assert!(dir.path().join("gatepass.db").exists());
    let second = run();
    assert!(second.status.success());
    assert!(String::from_utf8(second.stdout)
        .unwrap()
        .starts_with("0 migration(s) applied"));
}

#[test]
fn migrate_reports_an_unreachable_database() {
    let out = gatepass()
        .arg("migrate")
        .env(
            "GATEPASS_DATABASE_URL",
            "postgres://nobody:pw@127.0.0.1:1/none",
        )
        .env("GATEPASS_DB__ACQUIRE_TIMEOUT_SECS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("gatepass: database error"), "{stderr}");
    assert!(!stderr.contains("pw@"), "password leaked: {stderr}");
}

#[test]
fn json_log_format_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatepass()
        .arg("migrate")
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("GATEPASS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "some log lines");
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            value.get("level").is_some() && value.get("timestamp").is_some(),
            "{line}"
        );
    }
    assert!(
        stderr.contains("\"message\":\"migrations up to date\""),
        "{stderr}"
    );
}

#[test]
fn help_lists_sync_audit_and_the_simulator() {
    let out = gatepass().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in ["sync", "audit", "okta-sim"] {
        assert!(text.contains(sub), "{sub}: {text}");
    }
    let out = gatepass().args(["okta-sim", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in ["--seed", "--scale", "--api-token", "--state", "--listen"] {
        assert!(text.contains(flag), "{flag}: {text}");
    }
}

#[tokio::test]
async fn audit_verify_names_the_first_broken_event() {
    use app::ssr::clock::SystemClock;
    use app::ssr::db::{Db, DbOptions};
    use app::ssr::services::audit::record;
    let dir = tempfile::tempdir().unwrap();
    let verify = || {
        gatepass()
            .args(["audit", "verify"])
            .env("GATEPASS_DATA_DIR", dir.path())
            .output()
            .unwrap()
    };
    let empty = verify();
    assert!(
        empty.status.success(),
        "{}",
        String::from_utf8_lossy(&empty.stderr)
    );
    assert!(String::from_utf8(empty.stdout)
        .unwrap()
        .starts_with("audit chain intact: 0 event(s)"));

    let path = format!("sqlite://{}", dir.path().join("gatepass.db").display());
    let db = Db::connect(
        &secrecy::SecretString::from(path.clone()),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    for i in 0..3 {
        record(
            &db,
            &SystemClock,
            "ada",
            app::model::AuditAction::PolicySaved,
            "group:x",
            serde_json::json!({ "i": i }),
        )
        .await
        .unwrap();
    }
    db.close().await;
    let ok = verify();
    assert!(String::from_utf8(ok.stdout)
        .unwrap()
        .starts_with("audit chain intact: 3 event(s)"));
    // Someone edits a row behind Gatepass's back.
    let raw = sqlx::AnyPool::connect(&path).await.unwrap();
    sqlx::query("UPDATE audit_events SET details = '{\"i\":99}' WHERE seq = 2")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8(broken.stderr).unwrap();
    assert!(
        stderr.contains("audit chain broken at event #2"),
        "{stderr}"
    );
}

/// `gatepass serve` on SIGTERM: stops serving, stops its background jobs in order, closes the
/// database and exits 0.
#[test]
fn serve_stops_in_order_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = gatepass()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("GATEPASS_DATA_DIR", dir.path())
        .env("RUST_LOG", "info")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let wait_for = |what: &str, child: &mut std::process::Child| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !read_log().contains(what) {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("gatepass ended ({status}) before {what:?}:\n{}", read_log());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {what:?} in 60 s:\n{}",
                read_log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    wait_for("Gatepass is listening", &mut child);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "gatepass did not stop within 30 s of SIGTERM:\n{}",
                read_log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let text = read_log();
    assert!(status.success(), "{status}:\n{text}");
    let order: Vec<usize> = [
        "shutting down",
        "grant engine stopped",
        "background jobs stopped",
        "Gatepass stopped",
    ]
    .iter()
    .map(|line| {
        text.find(line)
            .unwrap_or_else(|| panic!("no {line:?} in the log:\n{text}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "out of order:\n{text}"
    );
}
