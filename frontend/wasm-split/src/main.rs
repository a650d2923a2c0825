//! Splits the browser bundle into a main module and lazily loaded chunks, as
//! `cargo leptos build --split` does, with only crates.io tools:
//!
//! ```text
//! gatepass-wasm-split <frontend.wasm> <pkg dir> <main.wasm>
//! ```
//!
//! Writes into `<pkg dir>` the chunks (`split_*.wasm`, `chunk_*.wasm`), the JavaScript that
//! loads them (`__wasm_split.______________________.js`, the name Leptos's hydration scripts
//! preload) and `__wasm_split_manifest.json` (which chunks each lazy route needs: the server
//! adds preload links for them). The main module goes to `<main.wasm>`, for wasm-bindgen
//! (`--keep-lld-exports`) to turn into `gatepass_bg.wasm` + `gatepass.js`.

use std::{fmt::Write as _, path::Path, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out] = args.as_slice() else {
        eprintln!("usage: gatepass-wasm-split <frontend.wasm> <pkg dir> <main.wasm>");
        return ExitCode::from(2);
    };
    match split(Path::new(input), Path::new(pkg_dir), Path::new(main_out)) {
        Ok(chunks) => {
            eprintln!("gatepass-wasm-split: {chunks} lazily loaded modules");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatepass-wasm-split: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(
    input: &Path,
    pkg_dir: &Path,
    main_out: &Path,
) -> Result<usize, Box<dyn std::error::Error>> {
    let wasm = std::fs::read(input)?;
    std::fs::create_dir_all(pkg_dir)?;
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = pkg_dir;
    opts.main_out_path = main_out;
    opts.main_module = "./gatepass.js";
    opts.link_name = "./__wasm_split.______________________.js";
    let split = wasm_split_cli_support::transform(opts).map_err(|e| format!("{e:?}"))?;

    // The manifest Leptos reads: lazy function → the files it needs, without extension.
    let mut entries: Vec<_> = split.prefetch_map.iter().collect();
    entries.sort();
    let mut json = String::from("{");
    for (i, (name, files)) in entries.iter().enumerate() {
        let files: Vec<String> = files.iter().map(|f| format!("{f:?}")).collect();
        let sep = if i == 0 { "" } else { "," };
        write!(json, "{sep}\n  {name:?}: [{}]", files.join(", "))?;
    }
    json.push_str("\n}\n");
    std::fs::write(pkg_dir.join("__wasm_split_manifest.json"), json)?;
    Ok(split.split_modules.len())
}
