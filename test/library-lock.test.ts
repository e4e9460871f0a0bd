// One writer per library across processes: real second processes hold, release and die holding the
// lock; two real `triagem index` runs on one library do the work once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TriagemError } from '../src/engine/errors.js';
import { Library } from '../src/engine/library/library.js';
import { lockFileOf, readWriterInfo, writerInfoFileOf } from '../src/engine/library/write-lock.js';
import { runCli } from './support/cli.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

interface Holder {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
}

/** Starts a process that opens `file` for writing as `command`; resolves once it holds the lock. */
async function hold(file: string, command: string, holdMs?: number): Promise<Holder> {
  const args = ['--import', 'tsx', path.join(REPO, 'test/support/hold-library.ts'), file, command, ...(holdMs ? [String(holdMs)] : [])];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('holding')) resolve();
    });
    exited.then((code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return { child, exited };
}

function busyError(fn: () => unknown): TriagemError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TriagemError) return err;
    throw err;
  }
  throw new Error('expected the library to be busy');
}

describe('one writer per library', () => {
  let root: string;
  let file: string;

  beforeAll(() => {
    root = tempDir('lock');
    file = path.join(root, 'lib.sqlite');
    const lib = Library.open(file);
    lib.upsertContent({ sha256: 'a'.repeat(64), size: 1, format: 'jpeg', width: 1, height: 1 });
    lib.close();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('tells a second writer which process holds the library, with its command and since when; readers go on', async () => {
    const command = 'triagem index /fotos/📷 viagem';
    const before = Date.now();
    const holder = await hold(file, command);
    try {
      const err = busyError(() => Library.open(file, { mode: 'write', waitMs: 300 }));
      expect(err.code).toBe('library-busy');
      expect(err.file).toBe(file);
      expect(err.message).toMatch(
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: library is being written by pid ${holder.child.pid} \\(triagem index /fotos/📷 viagem\\) since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(waited 0\\.\\d s\\)`),
      );
      const info = readWriterInfo(file)!;
      expect(info).toMatchObject({ pid: holder.child.pid, command });
      expect(info.since).toBeGreaterThanOrEqual(before - 1000);
      // Reading needs no lock.
      const reader = Library.open(file, { mode: 'read' });
      expect(reader.counts().contents).toBe(1);
      reader.close();
    } finally {
      holder.child.stdin.end();
      expect(await holder.exited).toBe(0);
    }
    // Released: the next writer gets it at once, and the holder's record is gone.
    expect(fs.existsSync(writerInfoFileOf(file))).toBe(false);
    const next = Library.open(file, { mode: 'write', waitMs: 0 });
    next.close();
  });

  it('lets a second writer wait for the first to finish', async () => {
    const holder = await hold(file, 'triagem sort', 1500);
    const started = Date.now();
    const lib = Library.open(file, { mode: 'write', waitMs: 30_000 });
    const waited = Date.now() - started;
    lib.close();
    expect(await holder.exited).toBe(0);
    expect(waited).toBeGreaterThan(500);
    expect(waited).toBeLessThan(30_000);
  });

  it('is free the moment its holder is killed (-9), whatever record it left behind', async () => {
    const holder = await hold(file, 'triagem index /fotos');
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(readWriterInfo(file)?.pid).toBe(holder.child.pid);
    const lib = Library.open(file, { mode: 'write', waitMs: 0 });
    expect(readWriterInfo(file)?.pid).toBe(process.pid);
    lib.close();
  });

  it('is shared by every handle of one process, and leaves only the lock file beside the library', () => {
    const a = Library.open(file, { mode: 'write', waitMs: 0 });
    const b = Library.open(file, { mode: 'write', waitMs: 0 });
    b.close();
    a.upsertContent({ sha256: 'b'.repeat(64), size: 1, format: 'jpeg', width: 1, height: 1 });
    a.close();
    expect(fs.readdirSync(root).sort()).toEqual(['lib.sqlite', path.basename(lockFileOf(file))]);
  });

  it('CLI: a writing command is refused while another process writes; reading commands still work', async () => {
    const holder = await hold(file, 'triagem index /outra/pasta');
    try {
      const photos = path.join(root, 'vazia');
      fs.mkdirSync(photos, { recursive: true });
      const index = await runCli(['index', photos, '--library', file, '--model', await colourModelDir(), '--device', 'cpu']);
      expect(index.code).toBe(1);
      expect(index.err).toContain(`library is being written by pid ${holder.child.pid} (triagem index /outra/pasta) since `);
      const tag = await runCli(['tag', 'add', 'x', path.join(photos, 'a.jpg'), '--library', file]);
      expect(tag.code).toBe(1);
      expect(tag.err).toMatch(/library is being written by pid/);
      const list = await runCli(['tag', 'list', '--library', file, '--json']);
      expect(list.code, list.err).toBe(0);
      expect(JSON.parse(list.out)).toEqual({ tags: [] });
    } finally {
      holder.child.stdin.end();
      await holder.exited;
    }
  });
});

describe('two `triagem index` processes on one library', () => {
  let root: string;

  beforeAll(() => {
    root = tempDir('lock-index');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('index each image once: the second run waits or is turned away, never repeats the work', async () => {
    const names = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'pink'];
    const photos = path.join(root, 'fotos');
    const n = 40;
    for (let i = 0; i < n; i++) await writeImage(path.join(photos, `img${i}.jpg`), colour(names[i % names.length]), { width: 64, height: 48, seed: i + 1 });
    const lib = path.join(root, 'lib.sqlite');
    const modelDir = await colourModelDir();
    const run = () => {
      const child = spawn(process.execPath, [path.join(REPO, 'bin/triagem.js'), 'index', photos, '--library', lib, '--model', modelDir, '--device', 'cpu', '--json'], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      return new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
    };
    const results = await Promise.all([run(), run()]);
    const done = results.filter((r) => r.code === 0).map((r) => JSON.parse(r.out) as { indexed: number; unchanged: number });
    const refused = results.filter((r) => r.code !== 0);
    for (const r of refused) expect(r.err).toMatch(/library is being written by (pid \d+ \(triagem index .*\) since|another process)/);
    expect(done.length).toBeGreaterThanOrEqual(1);
    // Every image was encoded by exactly one of the runs.
    expect(done.reduce((s, d) => s + d.indexed, 0)).toBe(n);
    const library = Library.open(lib, { mode: 'read' });
    expect(library.counts().files).toBe(n);
    library.close();
  });
});
