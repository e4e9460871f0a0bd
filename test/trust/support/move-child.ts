// A child process for the kill -9 tests: runs one real export (copy or move) from a plan file and
// prints its summary, so the test can SIGKILL it at an exact step (crash-hook.mjs) without paying
// for a model load per run. `node --import tsx move-child.ts <plan.json>`.
import fs from 'node:fs';
import { exportSorted } from '../../../src/engine/export/export.js';
import type { SortedFile } from '../../../src/engine/sort/sort.js';

export interface MovePlan {
  results: SortedFile[];
  labels: string[];
  destination: string;
  operation: 'copy' | 'move';
  sources: string[];
  dataDir: string;
}

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as MovePlan;
const summary = await exportSorted(plan);
process.stdout.write(`${JSON.stringify({ exported: summary.exported.length, failed: summary.failed, journal: summary.journal, stopped: summary.stopped ?? null })}\n`);
