#!/usr/bin/env node
// Runs the TypeScript CLI straight from source through tsx, so `npx triagem` works right after
// `npm install` with no separate build step.
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';

register();
const entry = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
