//! The command line: the server's commands (`gatepass serve`, `migrate`, `sync`, `audit`,
//! `okta-sim`) and the REST API's client (`gatepass login`, `groups`, `request`, `access`,
//! `give-back`, `approvals`, `approve`, `deny`; see [`crate::client`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Loaded, Redacted};
use crate::{startup, telemetry};

/// Gatepass: just-in-time, time-boxed access to Okta groups.
#[derive(Debug, Parser)]
#[command(name = "gatepass", version, about, propagate_version = true)]
pub struct Cli {
    /// TOML configuration file; `GATEPASS_*` environment variables override its keys.
    #[arg(
        long,
        short,
        env = "GATEPASS_CONFIG",
        global = true,
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub client: crate::client::ClientArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Parsed once per process: the simulator's many options do not make the enum costly.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Apply pending migrations, then serve the web app and API.
    Serve {
        /// Address to listen on (overrides `listen`; default 127.0.0.1:3000).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check the audit log's hash chain; names the first broken event (exit code 1).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Sync the directory (users, groups, memberships) from Okta once, showing progress.
    /// Incremental unless `--full` or no sync has succeeded yet.
    Sync {
        /// Read everything and mark what Okta no longer has as removed.
        #[arg(long)]
        full: bool,
    },
    /// Run a simulated Okta org (Management API subset, OIDC sign-in, fault injection) for
    /// the demo, tests and benchmarks. Needs no Gatepass configuration.
    #[cfg(feature = "okta-sim")]
    OktaSim(okta_sim::SimArgs),
    #[command(flatten)]
    Client(crate::client::ClientCommand),
}

/// `gatepass audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute every event's hash and compare it with the stored chain.
    Verify,
}

/// Runs a parsed command line; the exit code is 0 on success, 2 for configuration errors and 1
/// for failures while running.
pub fn run(cli: Cli) -> ExitCode {
    #[cfg(feature = "okta-sim")]
    if let Command::OktaSim(args) = cli.command {
        telemetry::init(crate::config::LogFormat::default());
        return okta_sim::run(args);
    }
    // The API's client needs no server configuration.
    if let Command::Client(command) = cli.command {
        return crate::client::run(command, cli.client);
    }
    let Loaded {
        mut config,
        unknown_keys,
    } = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("gatepass: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    for key in unknown_keys {
        tracing::warn!(key, "unknown configuration key ignored (misspelt?)");
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gatepass: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { listen } => {
                if let Some(addr) = listen {
                    config.listen = addr;
                }
                startup::serve(config).await
            }
            Command::Migrate => {
                let url = config.database_url();
                let db = app::ssr::db::Db::connect(&url, &config.db_options()).await?;
                let applied = db.migrate().await?;
                tracing::info!(database = %Redacted(&url), applied, "migrations up to date");
                println!(
                    "{applied} migration(s) applied; {} is up to date",
                    Redacted(&url)
                );
                Ok(())
            }
            Command::Sync { full } => crate::sync_cmd::run(&config, full).await,
            Command::Audit(AuditCommand::Verify) => {
                let db = startup::open_database(&config).await?;
                let (events, broken) = app::ssr::db::audit::verify_audit_chain_counted(&db).await?;
                db.close().await;
                match broken {
                    None => {
                        println!("audit chain intact: {events} event(s) verified");
                        Ok(())
                    }
                    Some(seq) => Err(startup::StartupError::Audit(format!(
                        "audit chain broken at event #{seq}: it, or the one before it, was changed or removed"
                    ))),
                }
            }
            #[cfg(feature = "okta-sim")]
            Command::OktaSim(_) => unreachable!("handled before configuration is loaded"),
            Command::Client(_) => unreachable!("handled before configuration is loaded"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "gatepass stopped with an error");
            eprintln!("gatepass: {e}");
            ExitCode::FAILURE
        }
    }
}
