// `wasm-opt -Oz` for many modules in one process: node scripts/wasm-opt.mjs FILE.wasm...
// Optimises each file in place. binaryen's npm package (end2end/node_modules, `make tools`) is
// Binaryen compiled to WebAssembly; its `wasm-opt` command starts that compiler anew for every
// file (about a second), which for the split bundle's ~200 modules took minutes. Here it starts
// once.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { default: binaryen } = await import(
  pathToFileURL(join(repo, 'end2end/node_modules/binaryen/index.js')).href
);

// The features the Rust wasm32 target emits (as wasm-opt's --enable-… flags in
// scripts/build-site.sh did).
const F = binaryen.Features;
const features =
  F.MVP | F.SignExt | F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt |
  F.ReferenceTypes | F.Multivalue | F.CallIndirectOverlong;

binaryen.setOptimizeLevel(2); // -O2 …
binaryen.setShrinkLevel(2); // … shrinking as much as possible: -Oz
binaryen.setDebugInfo(false); // drops the names section, as wasm-opt without -g

let before = 0;
let after = 0;
for (const file of process.argv.slice(2)) {
  const input = readFileSync(file);
  const module = binaryen.readBinary(input);
  module.setFeatures(features);
  module.optimize();
  if (!module.validate()) {
    console.error(`wasm-opt.mjs: ${file} does not validate after optimisation`);
    process.exit(1);
  }
  const output = module.emitBinary();
  module.dispose();
  writeFileSync(file, output);
  before += input.length;
  after += output.length;
}
console.error(`wasm-opt.mjs: ${process.argv.length - 2} modules, ${before} → ${after} bytes`);
