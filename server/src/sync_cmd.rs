//! `gatepass sync [--full]`: one directory sync from the command line, with progress on a
//! terminal (one line per phase otherwise) and a summary at the end.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use app::model::SyncKind;
use app::ssr::auth::AuthSettings;
use app::ssr::clock::SystemClock;
use app::ssr::core::Core;
use app::ssr::services::sync::SyncProgress;

use crate::config::Config;
use crate::startup::{self, StartupError};

/// Runs one sync with the saved settings (or `[okta]` when none are saved).
pub async fn run(config: &Config, full: bool) -> Result<(), StartupError> {
    let db = startup::open_database(config).await?;
    let core = Core {
        okta: config.okta_clients(),
        ..Core::new(
            db.clone(),
            Arc::new(SystemClock),
            AuthSettings::default(),
            startup::secret_store(config).await,
        )
        .with_okta_trust(config.okta_trust())
    };
    startup::bootstrap_integration(config, &core).await?;
    let terminal = std::io::stderr().is_terminal();
    let last_phase = Mutex::new("");
    let progress = move |p: &SyncProgress| {
        let c = &p.counts;
        let line = format!(
            "{:<12} users {:>8}  groups {:>7}  memberships {:>9}  Okta calls {:>6}",
            p.phase, c.users_seen, c.groups_seen, c.memberships_seen, c.calls
        );
        let mut last = last_phase.lock().expect("progress lock");
        if terminal {
            eprint!("\r{line}");
            if p.phase == "done" {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        } else if *last != p.phase {
            eprintln!("{line}");
        }
        *last = p.phase;
    };
    let kind = if full {
        SyncKind::Full
    } else {
        SyncKind::Incremental
    };
    let (settings, run) = core
        .sync()
        .run_with_progress(kind, &progress)
        .await
        .map_err(StartupError::Sync)?;
    let c = &run.counts;
    println!(
        "{} sync of {} finished in {:.1} s: {} users, {} groups, {} memberships seen; \
         {} users and {} groups marked removed, {} memberships removed; {} Okta calls",
        run.kind.as_str(),
        settings.org_url,
        (run.finished_at.unwrap_or(run.started_at) - run.started_at) as f64 / 1000.0,
        c.users_seen,
        c.groups_seen,
        c.memberships_seen,
        c.users_removed,
        c.groups_removed,
        c.memberships_removed,
        c.calls
    );
    db.close().await;
    Ok(())
}
