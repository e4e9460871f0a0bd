// `npm run bench -- <suite> [flags]`: runs bench/<suite>.ts, prints its JSON and a short table.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

type Json = Record<string, unknown>;

function flatten(obj: Json, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Json, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

function table(rows: [string, unknown][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k.padEnd(width)}  ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : String(v)}`)
    .join('\n');
}

const here = path.dirname(fileURLToPath(import.meta.url));
const suites = fs.readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_')).map((f) => f.slice(0, -3));
const [suite, ...args] = process.argv.slice(2);
if (!suite || !suites.includes(suite)) {
  console.error(`usage: npm run bench -- <suite> [flags]\nsuites: ${suites.join(', ')}`);
  process.exit(2);
}
const mod = (await import(path.join(here, `${suite}.ts`))) as { run: (args: string[]) => Promise<Json> };
const result = { suite, date: new Date().toISOString(), ...(await mod.run(args)) };
console.log(JSON.stringify(result, null, 2));
console.error(`\n${table(flatten(result))}`);
const outDir = path.join(here, '.results');
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, `${suite}-latest.json`), JSON.stringify(result, null, 2));
