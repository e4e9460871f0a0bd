// Builds the `triagem` CLI into out/cli/ as plain JavaScript, so starting it costs no TypeScript
// transpiling. Run by `npm install` (prepare) and `npm run build`. Packages stay external: native
// addons (onnxruntime-node, sharp, better-sqlite3) must load from node_modules, and commands load
// their modules lazily, so `triagem --help` touches none of them.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'out', 'cli');
const started = Date.now();
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: path.join(root, 'src', 'cli', 'main.ts') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  // Chunks sit beside main.js: src/engine/paths.ts finds resources/ two folders up from its module.
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
});
// A stamp of what the build saw, so bin/triagem.js can tell a stale build in a development checkout.
fs.writeFileSync(path.join(outdir, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`built the triagem CLI into ${path.relative(root, outdir)}/ in ${Date.now() - started} ms`);
