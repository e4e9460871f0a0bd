import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIndexProgress } from '../src/cli/commands/index-cmd.js';
import { progressLine } from '../src/cli/progress.js';
import type { CliIo } from '../src/cli/command.js';
import { main } from '../src/cli/main.js';
import { Library } from '../src/engine/library/library.js';
import { colour, snapshot, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { withRawDb } from './support/raw-db.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

function capture(isTty = false): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, isTty, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

const NAMES = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'pink'];

describe('triagem index', () => {
  let root: string;
  let photos: string;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await colourModelDir();
    root = tempDir('cli-index');
    photos = path.join(root, 'photos');
    await writeImage(path.join(photos, 'a.jpg'), colour('red'));
    await writeImage(path.join(photos, 'sub/b.png'), colour('green'), { seed: 2 });
    await writeImage(path.join(photos, 'sub/c.webp'), colour('blue'), { seed: 3 });
    fs.writeFileSync(path.join(photos, 'sub/readme.txt'), 'hello');
    fs.writeFileSync(path.join(photos, 'broken.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(100, 3)]));
  });

  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const args = (lib: string, ...extra: string[]) => ['index', photos, '--library', lib, '--model', modelDir, '--device', 'cpu', ...extra];

  it('prints the JSON summary with exactly the documented keys, lists bad files and exits 0', async () => {
    const lib = path.join(root, 'json.sqlite');
    const io = capture();
    expect(await main(args(lib, '--json', '--batch_size', '2'), io)).toBe(0);
    expect(io.stdout).toHaveLength(1);
    const out = JSON.parse(io.stdout[0]);
    expect(Object.keys(out)).toEqual(['indexed', 'skipped', 'unchanged', 'reused', 'failed', 'warnings']);
    expect(out).toEqual({
      indexed: 3,
      skipped: 1,
      unchanged: 0,
      reused: 0,
      failed: [{ path: path.join(photos, 'broken.jpg'), error: expect.stringMatching(/corrupt|cannot decode/) }],
      warnings: [],
    });

    const again = capture();
    expect(await main(args(lib, '--json'), again)).toBe(0);
    expect(JSON.parse(again.stdout[0])).toMatchObject({ indexed: 0, unchanged: 3, skipped: 1 });
    const library = Library.open(lib);
    expect(library.listFiles().length).toBe(3);
    library.close();
  });

  it('prints a readable summary and the failed files for people', async () => {
    const io = capture();
    expect(await main(args(path.join(root, 'human.sqlite')), io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/indexed 3, 0 unchanged, 1 skipped \(not images\), 1 failed/);
    expect(io.stderr.join('\n')).toContain(`failed: ${path.join(photos, 'broken.jpg')}: `);
  });

  it('exits 2 on usage errors and 1 on a missing folder, naming it', async () => {
    const lib = path.join(root, 'usage.sqlite');
    for (const argv of [
      ['index'],
      ['index', photos, '--batch_size', '0'],
      ['index', photos, '--batch_size', 'many'],
      ['index', photos, '--device', 'gpu'],
      ['index', photos, '--no-such-option'],
    ]) {
      const io = capture();
      expect(await main([...argv, '--library', lib], io), argv.join(' ')).toBe(2);
      expect(io.stderr.join('\n')).toMatch(/Usage: triagem index/);
    }
    const io = capture();
    const missing = path.join(root, 'not-there');
    expect(await main(['index', missing, '--library', lib, '--model', modelDir], io)).toBe(1);
    expect(io.stderr.join('\n')).toContain(`${missing}: folder not found`);
    const help = capture();
    expect(await main(['index', '--help'], help)).toBe(0);
    expect(help.stdout.join('\n')).toMatch(/--batch_size/);
  });

  it('formats progress with done/total, rate and ETA, redrawing on a terminal', () => {
    expect(formatIndexProgress({ phase: 'index', done: 50, total: 200, failed: 2, ratePerSec: 12.5, etaSec: 12 })).toBe(
      'indexing 50/200 (25%)  12.5 img/s  ETA 12s  2 failed',
    );
    expect(formatIndexProgress({ phase: 'index', done: 10, total: 7000, failed: 0, ratePerSec: 3, etaSec: 4000 })).toMatch(/ETA 1h 06m/);
    expect(formatIndexProgress({ phase: 'scan', done: 7, total: 0, failed: 0, ratePerSec: 0, etaSec: null })).toBe('scanning… 7 files found');
    const tty = capture(true);
    const r = progressLine(tty, { drawEveryMs: 0 });
    r.update(formatIndexProgress({ phase: 'index', done: 1, total: 4, failed: 0, ratePerSec: 1, etaSec: 3 }));
    r.update(formatIndexProgress({ phase: 'index', done: 2, total: 4, failed: 0, ratePerSec: 1, etaSec: 2 }));
    r.finish();
    expect(tty.stderr[0]).toBe('indexing 1/4 (25%)  1.0 img/s  ETA 3s');
    expect(tty.stderr[1]).toBe('\x1b[1A\x1b[2Kindexing 2/4 (50%)  1.0 img/s  ETA 2s');
    expect(tty.stderr[2]).toMatch(/^\x1b\[1A\x1b\[2K/);
    const log = capture(false);
    const l = progressLine(log, { logEveryMs: 60_000 });
    for (let i = 0; i < 50; i++) l.update(formatIndexProgress({ phase: 'index', done: i, total: 50, failed: 0, ratePerSec: 1, etaSec: 1 }));
    expect(log.stderr).toHaveLength(0);
  });

  it('survives SIGKILL mid-run: the rerun indexes every file exactly once', async () => {
    const dir = path.join(root, 'kill');
    const images = path.join(dir, 'photos');
    const n = 300;
    for (let i = 0; i < n; i++) {
      await writeImage(path.join(images, `f${i % 6}`, `img${String(i).padStart(3, '0')}.jpg`), colour(NAMES[i % NAMES.length]), { width: 64, height: 48, seed: i + 1 });
    }
    const before = snapshot(images);
    const lib = path.join(dir, 'lib.sqlite');
    const child = spawn(process.execPath, [path.join(REPO, 'bin/triagem.js'), 'index', images, '--library', lib, '--model', modelDir, '--device', 'cpu', '--batch_size', '4'], {
      cwd: REPO,
      env: { ...process.env, TRIAGEM_DATA_DIR: path.join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    // Wait until some batches are committed, then kill without warning.
    let committed = 0;
    const deadline = Date.now() + 120_000;
    while (committed < 12 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        const db = new Database(lib, { readonly: true, fileMustExist: true });
        try {
          committed = db.prepare('SELECT count(*) FROM files').pluck().get() as number;
        } finally {
          db.close();
        }
      } catch {
        // not created or migrated yet
      }
    }
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode, stderr).toBe('SIGKILL');
    expect(committed).toBeGreaterThanOrEqual(12);
    const killed = new Database(lib, { readonly: true });
    const atKill = killed.prepare('SELECT count(*) FROM files').pluck().get() as number;
    killed.close();
    expect(atKill).toBeLessThan(n);

    const io = capture();
    expect(await main(['index', images, '--library', lib, '--model', modelDir, '--device', 'cpu', '--json'], io)).toBe(0);
    const summary = JSON.parse(io.stdout[0]);
    expect(summary.failed).toEqual([]);
    expect(summary.unchanged).toBe(atKill);
    expect(summary.indexed).toBe(n - atKill);

    const library = Library.open(lib);
    const one = (sql: string) => withRawDb(lib, (db) => db.prepare(sql).pluck().get() as number);
    expect(withRawDb(lib, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
    expect(one('SELECT count(*) FROM files')).toBe(n);
    expect(one('SELECT count(DISTINCT path) FROM files')).toBe(n);
    expect(one('SELECT count(*) FROM contents')).toBe(n);
    const key = library.listModels()[0].key;
    expect(library.embeddingCount(key)).toBe(n);
    const embedded = library.embeddedContentIds(key);
    expect(library.listFiles().every((f) => embedded.has(f.contentId))).toBe(true);
    library.close();
    expect(snapshot(images)).toEqual(before);
  });
});
