// Opening a library: 'read' changes nothing (bytes, folder listing) and works on read-only media;
// 'write' migrates and leaves the file at rest without side files; a file that is not a Triagem
// library is refused untouched in either mode.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { AppContext } from '../src/app/context.js';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TriagemError } from '../src/engine/errors.js';
import { TRIAGEM_APPLICATION_ID } from '../src/engine/library/identity.js';
import { Library, schemaProblem } from '../src/engine/library/library.js';
import * as sqliteVec from 'sqlite-vec';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/engine/library/migrations.js';
import { runCli } from './support/cli.js';
import { colour, isRoot, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { withRawDb } from './support/raw-db.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
/** `nobody`: as root, chmod does not stop writes, so read-only folders are tested as another user. */
const OTHER_USER = { uid: 65534, gid: 65534 };

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The folder's entries with the hash of each file: what "left untouched" means. */
function folderState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    out[name] = fs.statSync(p).isDirectory() ? 'dir' : sha256(p);
  }
  return out;
}

/** Journal-mode bytes 18–19 of the SQLite header: 1 rollback journal, 2 WAL. */
function journalBytes(file: string): number[] {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    fs.readSync(fd, b, 0, 20, 0);
    return [b[18], b[19]];
  } finally {
    fs.closeSync(fd);
  }
}

function thrown(fn: () => unknown): TriagemError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TriagemError) return err;
    throw err;
  }
  throw new Error('expected a TriagemError');
}

/** The real CLI in its own process, as another user when this one is root. */
function cliAsReader(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin/triagem.js'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, HOME: '/tmp', TRIAGEM_DATA_DIR: '/tmp/triagem-nobody-data' },
    ...(isRoot ? OTHER_USER : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Turns a library into what Triagem left before the marker: schema 1, no application_id, WAL at rest. */
/** Turns a current library into one as version 1 wrote it: no marker, none of the later tables. */
/** A library exactly as the first Triagem made it (schema version 1), with `fill` run on it. */
function makeVersion1(file: string, fill: (db: Database.Database) => void = () => {}): void {
  const db = new Database(file);
  sqliteVec.load(db);
  MIGRATIONS[0](db);
  fill(db);
  db.pragma('user_version = 1');
  db.close();
}

function makeLegacy(file: string): void {
  withRawDb(file, (db) => {
    db.exec('DROP TABLE IF EXISTS ocr_fts; DROP TABLE IF EXISTS ocr_text; DROP TABLE IF EXISTS ocr_config;');
    db.pragma('application_id = 0');
    db.pragma('user_version = 1');
    db.pragma('journal_mode = WAL');
  });
  expect(journalBytes(file)).toEqual([2, 2]);
  expect(fs.readdirSync(path.dirname(file)).filter((n) => n.endsWith('-wal') || n.endsWith('-shm'))).toEqual([]);
}

describe('opening a library', () => {
  let root: string;
  let photos: string;
  let libFile: string;
  let modelDir: string;

  beforeAll(async () => {
    root = tempDir('library-open');
    fs.chmodSync(root, 0o755);
    photos = path.join(root, 'fotos');
    await writeImage(path.join(photos, 'vermelho.jpg'), colour('red'), { seed: 1 });
    await writeImage(path.join(photos, 'azul.jpg'), colour('blue'), { seed: 2 });
    await writeImage(path.join(photos, 'verde.png'), colour('green'), { seed: 3 });
    fs.copyFileSync(path.join(photos, 'verde.png'), path.join(photos, 'verde-cópia.png'));
    modelDir = await colourModelDir();
    fs.mkdirSync(path.join(root, 'biblioteca'));
    libFile = path.join(root, 'biblioteca', 'lib.sqlite');
    const index = await runCli(['index', photos, '--library', libFile, '--model', modelDir, '--device', 'cpu']);
    expect(index.code, index.err).toBe(0);
    expect((await runCli(['tag', 'add', 'urgente', path.join(photos, 'azul.jpg'), '--library', libFile])).code).toBe(0);
  });

  afterAll(() => {
    if (!root) return;
    for (const dir of fs.readdirSync(root)) fs.chmodSync(path.join(root, dir), 0o755);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('a writer leaves the library in rollback-journal mode with no -wal/-shm beside it', () => {
    expect(journalBytes(libFile)).toEqual([1, 1]);
    expect(fs.readdirSync(path.dirname(libFile)).sort()).toEqual(['lib.sqlite', 'lib.sqlite.lock', 'lib.sqlite.thumbs']);
    const lib = Library.open(libFile, { mode: 'write' });
    try {
      withRawDb(libFile, (db) => expect(db.pragma('journal_mode', { simple: true })).toBe('wal'));
    } finally {
      lib.close();
    }
    expect(journalBytes(libFile)).toEqual([1, 1]);
  });

  it('search, similar, duplicates, tag list and --help leave the library file and its folder byte-identical', async () => {
    const before = folderState(path.dirname(libFile));
    const common = ['--library', libFile, '--model', modelDir];
    const commands = [
      ['search', 'vermelho', ...common, '--json'],
      ['search', 'azul', ...common, '--tag', 'urgente', '--folder', photos],
      ['similar', path.join(photos, 'azul.jpg'), ...common, '--json'],
      ['similar', path.join(photos, 'verde.png'), ...common, '--all'],
      ['duplicates', ...common, '--json'],
      ['tag', 'list', '--library', libFile],
      ['--help'],
      ['search', '--help'],
      ['index', '--help'],
    ];
    for (const argv of commands) {
      const r = await runCli(argv);
      expect(r.code, `${argv.join(' ')}\n${r.err}`).toBe(0);
      expect(folderState(path.dirname(libFile)), argv.join(' ')).toEqual(before);
    }
    const search = JSON.parse((await runCli(['search', 'vermelho', ...common, '--json'])).out) as { results: { path: string }[] };
    expect(search.results.map((h) => path.basename(h.path))).toEqual(['vermelho.jpg']);
  });

  // Indexing stores the search codes; images added since (a stopped run) are encoded in memory
  // when search opens, so reading still answers and still changes nothing.
  it('a search whose stored codes are behind the embeddings still answers, and changes nothing', async () => {
    const dir = path.join(root, 'codigos-atrasados');
    fs.mkdirSync(dir);
    const stale = path.join(dir, 'lib.sqlite');
    fs.copyFileSync(libFile, stale);
    const lib = Library.open(stale, { mode: 'write' });
    const model = lib.listModels()[0];
    const id = lib.upsertContent({ sha256: 'f'.repeat(64), size: 1, format: 'jpeg', width: 1, height: 1 });
    lib.upsertFile({ path: path.join(root, 'fora', 'nova.jpg'), ext: 'jpg', size: 1, mtimeMs: 1, meta: { takenAt: null, gpsLat: null, gpsLon: null, camera: null } }, id, 1);
    lib.putEmbeddings(model.key, [{ contentId: id, vector: Float32Array.from({ length: model.dim }, (_, i) => (i === 0 ? 1 : 0)) }]);
    lib.close();
    const before = folderState(dir);
    for (const argv of [['search', 'vermelho'], ['duplicates']]) {
      const r = await runCli([...argv, '--library', stale, '--model', modelDir]);
      expect(r.code, `${argv[0]}: ${r.err}`).toBe(0);
      expect(folderState(dir)).toEqual(before);
    }
  });

  it('read mode refuses writes before SQLite would, and never switches the journal mode', () => {
    const lib = Library.open(libFile, { mode: 'read' });
    try {
      expect(lib.mode).toBe('read');
      expect(lib.listFiles().length).toBe(4);
      expect(lib.listTags()).toEqual([{ tag: 'urgente', contents: 1 }]);
      const file = lib.fileByPath(path.join(photos, 'vermelho.jpg'))!;
      for (const write of [() => lib.tagContent(file.contentId, 'x'), () => lib.upsertFile({ path: file.path, ext: 'jpg', size: 1, mtimeMs: 1, meta: { takenAt: null, gpsLat: null, gpsLon: null, camera: null } }, 1, 1), () => lib.transaction(() => 1)]) {
        const err = thrown(write);
        expect(err.code).toBe('library-read-only');
        expect(err.message).toContain(libFile);
      }
    } finally {
      lib.close();
    }
    expect(journalBytes(libFile)).toEqual([1, 1]);
  });

  it('reads a library on a read-only folder (search and tag list), changing nothing; writing there fails clearly', () => {
    const ro = path.join(root, 'somente-leitura');
    fs.mkdirSync(ro);
    const copy = path.join(ro, 'lib.sqlite');
    fs.copyFileSync(libFile, copy);
    fs.chmodSync(copy, 0o444);
    fs.chmodSync(ro, 0o555);
    const before = folderState(ro);
    const search = cliAsReader(['search', 'verde', '--library', copy, '--model', modelDir, '--json']);
    expect(search.status, search.stderr).toBe(0);
    expect((JSON.parse(search.stdout) as { results: { paths: string[] }[] }).results[0].paths.map((p) => path.basename(p)).sort()).toEqual(['verde-cópia.png', 'verde.png']);
    const tags = cliAsReader(['tag', 'list', '--library', copy, '--json']);
    expect(tags.status, tags.stderr).toBe(0);
    expect(JSON.parse(tags.stdout)).toEqual({ tags: [{ tag: 'urgente', contents: 1 }] });
    const index = cliAsReader(['index', photos, '--library', copy, '--model', modelDir, '--device', 'cpu']);
    expect(index.status).toBe(1);
    expect(index.stderr).toContain(`${copy}: cannot write to the library's folder`);
    expect(folderState(ro)).toEqual(before);
  });

  it('refuses to read a library too old to read (even from a read-only folder), untouched, and says how to upgrade it', () => {
    const dir = path.join(root, 'antiga-ro');
    fs.mkdirSync(dir);
    const legacy = path.join(dir, 'lib.sqlite');
    fs.copyFileSync(libFile, legacy);
    makeLegacy(legacy);
    fs.chmodSync(legacy, 0o444);
    fs.chmodSync(dir, 0o555);
    const before = folderState(dir);
    const search = cliAsReader(['search', 'vermelho', '--library', legacy, '--model', modelDir, '--json']);
    expect(search.status, search.stderr).toBe(1);
    expect(search.stderr).toMatch(/older than this Triagem reads|writing command|triagem index/);
    expect(folderState(dir)).toEqual(before);
  });

  it('recognises a real version-1 library by its tables and upgrades it when it is next written', () => {
    const dir = path.join(root, 'antiga');
    fs.mkdirSync(dir);
    const legacy = path.join(dir, 'lib.sqlite');
    makeVersion1(legacy, (db) => db.pragma('journal_mode = WAL'));
    const bytes = sha256(legacy);
    expect(() => Library.open(legacy, { mode: 'read' })).toThrow(/older|writing/);
    expect(sha256(legacy)).toBe(bytes);
    const writer = Library.open(legacy, { mode: 'write' });
    writer.close();
    withRawDb(legacy, (db) => {
      expect(db.pragma('application_id', { simple: true })).toBe(TRIAGEM_APPLICATION_ID);
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    });
    expect(journalBytes(legacy)).toEqual([1, 1]);
  });

  it('the window brings a library too old to read up to date when it opens it; one-shot commands do not', async () => {
    const dir = path.join(root, 'antiga-janela');
    fs.mkdirSync(dir);
    const legacy = path.join(dir, 'lib.sqlite');
    makeVersion1(legacy, (db) => {
      db.exec("INSERT INTO contents(id, sha256, size) VALUES (1, 'ab', 3)");
      db.exec("INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, indexed_at, present) VALUES ('/fotos/a.jpg', '/fotos', 'a.jpg', 'jpg', 3, 1, 1, 1, 1)");
    });
    const bytes = sha256(legacy);
    const cli = new AppContext({ libraryPath: legacy, modelsDir: dir, device: 'cpu', oneShot: true });
    try {
      expect(() => cli.library('read')).toThrow(/older|writing/);
    } finally {
      await cli.close();
    }
    expect(sha256(legacy)).toBe(bytes);
    const window = new AppContext({ libraryPath: legacy, modelsDir: dir, device: 'cpu' });
    try {
      const reader = window.library('read');
      expect(reader.mode).toBe('read');
      expect(reader.listFiles().map((f) => f.path)).toEqual(['/fotos/a.jpg']);
    } finally {
      await window.close();
    }
    withRawDb(legacy, (db) => expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION));
  });

  it('`triagem index` upgrades a library too old to read, which it names as the way to upgrade', async () => {
    const dir = path.join(root, 'antiga-index');
    fs.mkdirSync(path.join(dir, 'vazia'), { recursive: true });
    const legacy = path.join(dir, 'lib.sqlite');
    makeVersion1(legacy);
    const index = await runCli(['index', path.join(dir, 'vazia'), '--library', legacy, '--model', modelDir, '--device', 'cpu']);
    expect(index.code, index.err).toBe(0);
    withRawDb(legacy, (db) => expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION));
  });

  it('refuses a library newer than this Triagem in both modes, and explains one too old to read', () => {
    const dir = path.join(root, 'nova');
    fs.mkdirSync(dir);
    const newer = path.join(dir, 'lib.sqlite');
    fs.copyFileSync(libFile, newer);
    withRawDb(newer, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 1}`));
    const before = folderState(dir);
    for (const mode of ['read', 'write'] as const) {
      const err = thrown(() => Library.open(newer, { mode }));
      expect(err.code).toBe('library-too-new');
      expect(err.message).toMatch(/newer than this Triagem understands/);
    }
    expect(folderState(dir)).toEqual(before);
    expect(schemaProblem(SCHEMA_VERSION, 'read')).toBeUndefined();
    expect(schemaProblem(1, 'read', 2)).toMatch(/made by an older Triagem .*`triagem index`/);
    expect(schemaProblem(1, 'write', 2)).toBeUndefined();
  });

  it('read mode: a missing or empty file is not a library yet, and nothing is created', () => {
    const dir = path.join(root, 'vazio');
    fs.mkdirSync(dir);
    const missing = path.join(dir, 'nao-existe.sqlite');
    expect(thrown(() => Library.open(missing, { mode: 'read' })).message).toBe(`${missing}: no library here yet; run \`triagem index <folder>\` first`);
    const empty = path.join(dir, 'vazia.sqlite');
    fs.writeFileSync(empty, '');
    expect(thrown(() => Library.open(empty, { mode: 'read' })).message).toMatch(/the library is empty/);
    expect(fs.readdirSync(dir)).toEqual(['vazia.sqlite']);
    // For writing, an empty file simply becomes a library.
    Library.open(empty, { mode: 'write' }).close();
    withRawDb(empty, (db) => expect(db.pragma('application_id', { simple: true })).toBe(TRIAGEM_APPLICATION_ID));
  });
});

describe('a file that is not a Triagem library', () => {
  let root: string;

  beforeAll(() => {
    root = tempDir('not-a-library');
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** One file per folder, so the folder's listing shows anything left beside it. */
  function make(name: string, build: (file: string) => void): string {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    const file = path.join(dir, 'data.sqlite');
    build(file);
    return file;
  }

  function sqliteFile(file: string, setup: (db: Database.Database) => void): void {
    const db = new Database(file);
    setup(db);
    db.close();
  }

  it('is refused untouched in both modes and by the CLI, naming the file: no -wal, -shm, lock or change', async () => {
    const cases = [
      make('texto', (f) => fs.writeFileSync(f, 'apenas texto, não é um banco de dados\n'.repeat(40))),
      make('outro-app', (f) => sqliteFile(f, (db) => db.exec("CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES ('x'); PRAGMA user_version = 3"))),
      // WAL mode at rest with user_version set: only its tables tell, read without creating -wal/-shm.
      make('outro-app-wal', (f) =>
        sqliteFile(f, (db) => {
          db.pragma('journal_mode = WAL');
          db.exec("CREATE TABLE files(path TEXT); CREATE TABLE contents(id); INSERT INTO files VALUES ('/x'); PRAGMA user_version = 1");
        }),
      ),
      make('geopackage', (f) => sqliteFile(f, (db) => db.exec('PRAGMA application_id = 1196444487; PRAGMA user_version = 10200; CREATE TABLE gpkg_contents(table_name TEXT)'))),
      make('sem-tabelas', (f) => sqliteFile(f, (db) => db.exec('PRAGMA user_version = 7'))),
    ];
    const modelDir = await colourModelDir();
    const photos = path.join(root, 'fotos');
    await writeImage(path.join(photos, 'a.jpg'), colour('red'));
    for (const file of cases) {
      const dir = path.dirname(file);
      const before = folderState(dir);
      for (const mode of ['read', 'write'] as const) {
        const err = thrown(() => Library.open(file, { mode }));
        expect(err.code, `${file} ${mode}`).toBe('not-a-library');
        expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot open library: .*not a Triagem library; it was left untouched$`));
        expect(folderState(dir), `${file} ${mode}`).toEqual(before);
      }
      for (const argv of [
        ['search', 'red', '--library', file, '--model', modelDir],
        ['index', photos, '--library', file, '--model', modelDir, '--device', 'cpu'],
        ['tag', 'add', 'x', path.join(photos, 'a.jpg'), '--library', file],
      ]) {
        const r = await runCli(argv);
        expect(r.code, argv.join(' ')).toBe(1);
        expect(r.err).toContain(`${file}: cannot open library:`);
        expect(folderState(dir), argv.join(' ')).toEqual(before);
      }
    }
  });
});
