#!/usr/bin/env node
// Starts the built CLI (out/cli/, made by `npm install`'s prepare step or `npm run build`). In a
// development checkout whose sources are newer than that build, it runs the TypeScript sources
// through tsx instead, so an edit is never silently ignored.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Image decoding runs on libuv's pool (4 threads by default); let it use every core on big machines.
// Must be set before anything touches the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'out', 'cli', 'main.js');
const SOURCE_DIRS = ['src/cli', 'src/app', 'src/engine', 'src/shared', 'src/bridge'];

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The newest .ts file the CLI bundle is made from (a few ms for a few hundred files). */
function newestSource() {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    let names;
    try {
      names = fs.readdirSync(path.join(root, dir), { recursive: true });
    } catch {
      continue;
    }
    for (const name of names) {
      if (String(name).endsWith('.ts')) newest = Math.max(newest, mtime(path.join(root, dir, String(name))) ?? 0);
    }
  }
  return newest;
}

const builtAt = mtime(built);
let entry = built;
if (builtAt === undefined || newestSource() > builtAt) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    console.error(`triagem: the CLI is not built and tsx is not installed; run \`npm run build\` in ${root}`);
    process.exit(1);
  }
  entry = path.join(root, 'src', 'cli', 'main.ts');
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
