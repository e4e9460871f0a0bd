#!/usr/bin/env node
// Runs the TypeScript CLI straight from source through tsx, so `npx triagem` works right after
// `npm install` with no separate build step.
import os from 'node:os';
import { fileURLToPath } from 'node:url';

// Image decoding runs on libuv's pool (4 threads by default); let it use every core on big machines.
// Must be set before anything touches the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, os.availableParallelism()));
const { register } = await import('tsx/esm/api');

register();
const entry = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
