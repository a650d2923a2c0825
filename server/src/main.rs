//! `gatepass`: entry point. Parses the command line and hands over to [`gatepass::cli`].

use clap::Parser;

/// mimalloc instead of the C library's allocator: page views allocate and free many small
/// strings on several threads, where glibc's arenas contend for locks (about 50% more signed-in
/// pages a second; docs/BENCHMARKS.md, "Signed-in pages").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gatepass::cli::run(gatepass::cli::Cli::parse())
}
