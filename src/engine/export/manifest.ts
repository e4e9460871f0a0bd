import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError } from '../errors.js';
import { sha256File, writeNewFile } from './files.js';
import { numberedName } from './names.js';

// Every export leaves `manifest-sha256.txt` in its destination, in the format `sha256sum` writes
// and checks (`cd <destination> && sha256sum -c manifest-sha256.txt`), listing each file it wrote.
// Whoever receives the folder can check nothing was lost or altered, with Triagem or without it.

export const MANIFEST_NAME = 'manifest-sha256.txt';
const MANIFEST_FILE = /^manifest-sha256(?: \(\d+\))?\.txt$/;

export interface ManifestEntry {
  sha256: string;
  /** Relative to the destination, with `/` between folders. */
  path: string;
}

// GNU sha256sum's escaping: a name holding a backslash, newline or carriage return is written with
// those escaped and the line starts with a backslash.
function escapeName(name: string): { escaped: boolean; text: string } {
  if (!/[\\\n\r]/.test(name)) return { escaped: false, text: name };
  return { escaped: true, text: name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r') };
}

function unescapeName(text: string): string {
  return text.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

export function manifestText(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sorted
    .map((e) => {
      const { escaped, text } = escapeName(e.path);
      return `${escaped ? '\\' : ''}${e.sha256}  ${text}\n`;
    })
    .join('');
}

export function parseManifest(text: string, file: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw === '') return;
    const escaped = raw.startsWith('\\');
    const line = escaped ? raw.slice(1) : raw;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new TriagemError(`line ${i + 1} is not "<sha256>  <file>"`, 'manifest-invalid', file);
    out.push({ sha256: m[1], path: escaped ? unescapeName(m[2]) : m[2] });
  });
  return out;
}

/**
 * Writes the manifest for the files an export wrote (absolute paths inside `destination`) as
 * `manifest-sha256.txt`, or `manifest-sha256 (n).txt` when an earlier export's is there. The file
 * is created exclusively (never through a link) and removed again if the disk fills while writing.
 * `beforeWrite` runs with the chosen path and the text's sha256 before a byte is written (the
 * journal records the manifest first, so a crash never leaves one undo does not know about).
 */
export async function writeManifest(
  destination: string,
  files: readonly { path: string; sha256: string }[],
  beforeWrite: (file: string, sha256: string) => void = () => undefined,
): Promise<string> {
  const entries = files.map((f) => ({ sha256: f.sha256, path: path.relative(destination, f.path).split(path.sep).join('/') }));
  const text = manifestText(entries);
  const sha = createHash('sha256').update(text).digest('hex');
  for (let n = 0; ; n++) {
    const file = path.join(destination, numberedName(MANIFEST_NAME, n));
    if (fs.lstatSync(file, { throwIfNoEntry: false })) continue;
    beforeWrite(file, sha);
    try {
      await writeNewFile(file, text);
      return file;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EEXIST') throw err;
    }
  }
}

export interface VerifyProblem {
  path: string;
  problem: string;
}

export interface VerifyReport {
  destination: string;
  manifests: string[];
  /** Files listed and checked. */
  checked: number;
  /** Listed files whose bytes still hash to the listed sha256. */
  ok: number;
  missing: VerifyProblem[];
  changed: VerifyProblem[];
  /** Entries that are not plain files inside the destination (a link, a folder, a path climbing out). */
  unsafe: VerifyProblem[];
  /** Files in the destination's folders that no manifest lists (added after the export). */
  unlisted: string[];
  /** True when every listed file is there, unchanged. */
  passed: boolean;
}

/**
 * Checks an export folder against every manifest in it. A listed file must be a plain file (no
 * link is followed) inside the folder with the listed sha256. Files no manifest lists are
 * reported, except Triagem's own (journals, manifests, results CSVs) at the top of the folder.
 */
export async function verifyExport(destination: string): Promise<VerifyReport> {
  const dest = path.resolve(destination);
  let names: string[];
  try {
    names = await fsp.readdir(dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TriagemError(code === 'ENOENT' ? 'folder not found' : `cannot read folder: ${(err as Error).message}`, 'not-found', dest);
  }
  const manifests = names.filter((n) => MANIFEST_FILE.test(n)).sort().map((n) => path.join(dest, n));
  if (manifests.length === 0) throw new TriagemError(`no ${MANIFEST_NAME} here: not a Triagem export folder (or its manifest was deleted)`, 'no-manifest', dest);
  const report: VerifyReport = { destination: dest, manifests, checked: 0, ok: 0, missing: [], changed: [], unsafe: [], unlisted: [], passed: false };
  const listed = new Set<string>();
  for (const manifest of manifests) {
    for (const entry of parseManifest(fs.readFileSync(manifest, 'utf8'), manifest)) {
      report.checked++;
      const full = path.resolve(dest, entry.path);
      const rel = path.relative(dest, full);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
        report.unsafe.push({ path: entry.path, problem: 'points outside the export folder' });
        continue;
      }
      listed.add(full);
      const st = await fsp.lstat(full).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
        throw err;
      });
      if (!st) {
        report.missing.push({ path: full, problem: 'missing' });
        continue;
      }
      if (!st.isFile() || (await realParentDiffers(dest, full))) {
        report.unsafe.push({ path: full, problem: st.isSymbolicLink() ? 'is a symbolic link' : st.isFile() ? 'reached through a symbolic link' : 'is not a file' });
        continue;
      }
      const sha = await sha256File(full);
      if (sha === entry.sha256) report.ok++;
      else report.changed.push({ path: full, problem: `sha256 is ${sha}, the manifest says ${entry.sha256}` });
    }
  }
  for (const file of await filesBelow(dest)) {
    if (listed.has(file)) continue;
    if (path.dirname(file) === dest && isOwnTopLevelFile(path.basename(file))) continue;
    report.unlisted.push(file);
  }
  report.passed = report.missing.length === 0 && report.changed.length === 0 && report.unsafe.length === 0;
  return report;
}

async function realParentDiffers(dest: string, file: string): Promise<boolean> {
  const realDest = await fsp.realpath(dest);
  const realParent = await fsp.realpath(path.dirname(file));
  return realParent !== path.join(realDest, path.relative(dest, path.dirname(file)));
}

function isOwnTopLevelFile(name: string): boolean {
  return MANIFEST_FILE.test(name) || /^\.triagem-journal-.*\.jsonl$/.test(name) || /^triagem-results(?: \(\d+\))?\.csv$/.test(name) || name.startsWith('.triagem-');
}

/** Every file below `dir` (not following links; links are listed as entries themselves). */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await fsp.readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(full);
    }
  };
  await walk(dir);
  return out.sort();
}
