// Trust suite, part 3: the hostile corpus of issue B, indexed in-process and by the real CLI (as an
// unprivileged user where the suite runs as root, so chmod 000 means something), then sorted,
// searched and exported with its hostile names. Nothing may crash, hang, or change a byte; every
// case gets its answer; the export's manifest checks with Triagem and with GNU sha256sum.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSorted } from '../../src/engine/export/export.js';
import { verifyExport } from '../../src/engine/export/manifest.js';
import { indexFolders, type IndexSummary } from '../../src/engine/indexer/indexer.js';
import { Library } from '../../src/engine/library/library.js';
import { loadModel } from '../../src/engine/models/model.js';
import type { ClipModel } from '../../src/engine/models/types.js';
import { SearchSession } from '../../src/engine/search/search.js';
import { sortLibrary } from '../../src/engine/sort/sort.js';
import { isRoot } from '../support/index-fixtures.js';
import { colourModelDir } from '../support/models.js';
import { writeHostileCorpus, unlockCorpus, type CorpusCase } from './support/hostile-corpus.js';
import { childEnv, useNoNetwork } from './support/no-network.js';
import { recordFigures, repoRoot, runNode, trustDir } from './support/trust-fixtures.js';

const NOBODY = 65534;

/** sha256 of every plain file below `root`, unreadable ones by their size and mode only (lstat). */
function fingerprint(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      const st = fs.lstatSync(full);
      if (e.isDirectory()) {
        out.set(path.relative(root, full) + '/', `dir ${st.mode}`);
        walk(full);
      } else if (e.isFile() && st.size < 64 * 1024 ** 2) {
        let digest = 'unreadable';
        try {
          digest = spawnSync('sha256sum', ['-b', full], { encoding: 'utf8' }).stdout.split(' ')[0] || digest;
        } catch {
          // keep "unreadable"
        }
        out.set(path.relative(root, full), `${digest} ${st.size} ${st.mode} ${st.mtimeMs}`);
      } else out.set(path.relative(root, full), `${e.isSymbolicLink() ? `link ${fs.readlinkSync(full)}` : 'other'} ${st.size} ${st.mode} ${st.mtimeMs}`);
    }
  };
  walk(root);
  return out;
}

describe('trust: the hostile corpus', () => {
  useNoNetwork('hostile corpus');
  let model: ClipModel;
  let modelDir: string;
  let work: string;
  let corpus: string;
  let cases: CorpusCase[];
  let before: Map<string, string>;
  const figures = { cases: 0, crashes: 0, hangs: 0, lost: 0, wrongAnswers: 0, runs: 0 };

  beforeAll(async () => {
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    work = trustDir('hostile');
    fs.chmodSync(work, 0o755);
    corpus = path.join(work, 'canal');
    fs.mkdirSync(corpus);
    cases = await writeHostileCorpus(corpus, path.join(work, 'fora-da-pasta'));
    figures.cases = cases.length;
    before = fingerprint(corpus);
  });
  afterAll(async () => {
    await model?.close();
    recordFigures('hostile-corpus', { ...figures });
    if (corpus) unlockCorpus(corpus);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Checks a run's answers case by case; `denied` cases count as failed when `unprivileged`. */
  function checkAnswers(summary: Pick<IndexSummary, 'failed' | 'warnings'>, indexedPaths: Set<string>, unprivileged: boolean): void {
    const failed = new Map(summary.failed.map((f) => [f.path, f.error]));
    const warned = new Map(summary.warnings.map((w) => [w.path, w.warning]));
    for (const c of cases) {
      const full = path.join(corpus, c.rel);
      const expected = c.expect === 'denied' ? (unprivileged ? 'failed' : 'indexed') : c.expect;
      const got = indexedPaths.has(full) ? 'indexed' : failed.has(full) ? 'failed' : warned.has(full) ? 'warning' : 'skipped';
      // An unreadable folder fails as the folder, its files unseen.
      const folderFailed = c.rel === 'cofre/dentro.jpg' && unprivileged && failed.has(path.join(corpus, 'cofre'));
      if (got !== expected && !(folderFailed && got === 'skipped')) figures.wrongAnswers++;
      if (!folderFailed) expect(got, `${c.kind}: ${JSON.stringify(c.rel)} ${failed.get(full) ?? ''}`).toBe(expected);
      const reason = failed.get(full);
      // A reason is a sentence for a person, never a stack trace.
      if (reason !== undefined) expect(reason).not.toMatch(/\n\s+at |Error:/);
    }
  }

  it('indexes the corpus in-process with no crash, no hang and no byte changed; every case gets its answer', async () => {
    const library = Library.open(path.join(work, 'lib-root.sqlite'));
    let summary: IndexSummary | undefined;
    const started = Date.now();
    try {
      summary = await indexFolders({ library, model, folders: [corpus], batchSize: 4 });
    } catch (err) {
      figures.crashes++;
      throw err;
    } finally {
      figures.runs++;
    }
    if (Date.now() - started > 120_000) figures.hangs++;
    const indexed = new Set(library.listFiles().map((f) => f.path));
    checkAnswers(summary, indexed, !isRoot);
    const after = fingerprint(corpus);
    figures.lost += [...before.keys()].filter((k) => after.get(k) !== before.get(k)).length;
    expect(after).toEqual(before);

    // Sort, search and export the hostile names; the copy verifies by manifest, also with GNU sha256sum.
    const sorted = await sortLibrary({ library, model, labels: ['vermelho', 'verde', 'azul', 'rosa', 'laranja'] });
    expect(sorted.results.length).toBe(indexed.size);
    const session = await SearchSession.open(library, model);
    const hits = await session.searchText('rosa', { limit: 100, cutoff: false });
    expect(hits.hits.length).toBeGreaterThan(0);
    const dest = path.join(work, 'exportado');
    const exported = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy', sources: [corpus], library });
    library.close();
    expect(exported.failed).toEqual([]);
    expect(exported.exported.length).toBe(indexed.size);
    const report = await verifyExport(dest);
    expect(report.passed).toBe(true);
    expect(report.ok).toBe(indexed.size);
    const gnu = spawnSync('sha256sum', ['-c', '--quiet', 'manifest-sha256.txt'], { cwd: dest, encoding: 'utf8' });
    if (gnu.error === undefined) expect(gnu.status, gnu.stdout + gnu.stderr).toBe(0);
    expect(fingerprint(corpus)).toEqual(before);
  }, 300_000);

  it(`indexes it with the real CLI${isRoot ? ' as an unprivileged user (chmod 000 denies)' : ''}: exit 0, JSON intact, same answers`, async () => {
    const shared = path.join(work, 'cli');
    fs.mkdirSync(path.join(shared, 'data'), { recursive: true });
    fs.chmodSync(shared, 0o777);
    fs.chmodSync(path.join(shared, 'data'), 0o777);
    const lib = path.join(shared, 'lib.sqlite');
    const env = childEnv({ TRIAGEM_DATA_DIR: path.join(shared, 'data'), HOME: shared });
    const args = ['bin/triagem.js', 'index', corpus, '--library', lib, '--model', modelDir, '--json', '--batch_size', '4'];
    const started = Date.now();
    const r = isRoot ? await runAs(NOBODY, args, env) : await runNode(args, env, 240_000);
    figures.runs++;
    if (r.signal) figures.hangs++;
    if (r.code !== 0) figures.crashes++;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(240_000);
    const out = JSON.parse(r.stdout) as IndexSummary;
    const library = Library.open(lib);
    const indexed = new Set(library.listFiles().map((f) => f.path));
    library.close();
    checkAnswers(out, indexed, true);
    const after = fingerprint(corpus);
    figures.lost += [...before.keys()].filter((k) => after.get(k) !== before.get(k)).length;
    expect(after).toEqual(before);
  }, 300_000);
});

/** `node <args>` as another user (the suite runs as root): the repository and models are world-readable. */
function runAs(uid: number, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    import('node:child_process')
      .then(({ spawn }) => {
        const child = spawn(process.execPath, args, { cwd: repoRoot, env, uid, gid: uid, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
        child.on('error', reject);
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal, stdout, stderr });
        });
      })
      .catch(reject);
  });
}
