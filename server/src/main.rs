//! `gatepass`: entry point. Parses the command line and hands over to [`gatepass::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    gatepass::cli::run(gatepass::cli::Cli::parse())
}
