import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library } from '../src/engine/library/library.js';
import { colourModelDir } from './support/models.js';
import { PHOTO_TREE, listTree, snapshot, tempDir, writePhoto, writePhotoTree } from './support/sort-fixtures.js';
import { runCli } from './support/cli.js';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const EXPECTED_PT: Record<string, string> = { red: 'vermelho', green: 'verde', blue: 'azul' };

const run = runCli;

interface JsonOutput {
  results: { path: string; label: string; score: number; scores: Record<string, number>; exportedTo: string | null }[];
  journal: string | null;
  csv: string | null;
  failed: { path: string; error: string }[];
}

describe('triagem sort / undo', () => {
  let work: string;
  let modelDir: string;

  beforeAll(async () => {
    work = tempDir('cli-sort');
    modelDir = await colourModelDir();
  });
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** A fresh photo tree and library path under `work/<name>`. */
  async function setup(name: string) {
    const dir = path.join(work, name);
    const photos = path.join(dir, 'fotos');
    await writePhotoTree(photos);
    return { dir, photos, lib: path.join(dir, 'lib.sqlite'), dest: path.join(dir, 'ordenadas') };
  }

  it('indexes a nested source, copies into label folders and prints the --json shape', async () => {
    const { photos, lib, dest } = await setup('json');
    const r = await run([
      'sort', '--source', photos, '--destination', dest, '--labels', 'vermelho, verde, azul',
      '--model', modelDir, '--library', lib, '--json',
    ]);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as JsonOutput;
    expect(Object.keys(json).sort()).toEqual(['csv', 'failed', 'journal', 'manifest', 'results']);
    expect((json as JsonOutput & { manifest: string }).manifest).toBe(path.join(dest, 'manifest-sha256.txt'));
    expect(json.failed).toEqual([]);
    expect(json.results).toHaveLength(Object.keys(PHOTO_TREE).length);
    for (const res of json.results) {
      const colour = PHOTO_TREE[path.relative(photos, res.path)];
      expect(res.label, res.path).toBe(EXPECTED_PT[colour]);
      expect(typeof res.score).toBe('number');
      expect(path.dirname(res.exportedTo!)).toBe(path.join(dest, res.label));
    }
    expect(json.journal).toMatch(new RegExp(`^${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\.triagem-journal-.*\\.jsonl$`));
    expect(fs.existsSync(json.journal!)).toBe(true);
    expect(json.csv).toBe(path.join(dest, 'triagem-results.csv'));
    const csv = fs.readFileSync(json.csv!, 'utf8').split('\r\n');
    expect(csv[0]).toBe('image_name,label,score,path,sha256,score:vermelho,score:verde,score:azul');
    expect(csv).toHaveLength(Object.keys(PHOTO_TREE).length + 2);
    expect(fs.readdirSync(path.join(dest, 'vermelho')).sort()).toEqual(['foto (1).jpg', 'foto.jpg']);
  });

  it('sorts with English labels into the whole library without --source, CSV on stdout', async () => {
    const { photos, lib } = await setup('english');
    expect((await run(['sort', '--source', photos, '--labels', 'red,green,blue', '--model', modelDir, '--library', lib, '--json'])).code).toBe(0);
    const r = await run(['sort', '--labels', 'red, green, blue', '--model', modelDir, '--library', lib]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\r\n');
    expect(lines[0]).toBe('image_name,label,score,path,sha256,score:red,score:green,score:blue');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(Object.keys(PHOTO_TREE).length);
    for (const row of rows) {
      const file = row[3];
      expect(row[1], file).toBe(PHOTO_TREE[path.relative(photos, file)]);
    }
    expect(r.err).toMatch(/sorted 6 images into 3 labels/);
  });

  it('reports corrupt and unreadable files and sorts everything else (exit 0)', async () => {
    const { photos, lib } = await setup('bad');
    fs.writeFileSync(path.join(photos, 'viagem', 'quebrada.jpg'), 'this is not a jpeg at all');
    const png = fs.readFileSync(path.join(photos, 'viagem/2023/folha.png'));
    fs.writeFileSync(path.join(photos, 'truncada.png'), png.subarray(0, 60));
    const locked = path.join(photos, 'trancada.jpg');
    await writePhoto(locked, 'red', 77);
    fs.chmodSync(locked, 0o000);
    // Root reads any file whatever its mode; then only the two corrupt files can fail.
    const lockedFails = process.getuid?.() !== 0;
    try {
      const bad = [path.join(photos, 'viagem', 'quebrada.jpg'), path.join(photos, 'truncada.png'), ...(lockedFails ? [locked] : [])].sort();
      for (let pass = 0; pass < 2; pass++) {
        // The second pass finds them unchanged in the library and must still report them.
        const r = await run(['sort', '--source', photos, '--labels', 'vermelho,verde,azul', '--model', modelDir, '--library', lib, '--json']);
        expect(r.code, r.err).toBe(0);
        const json = JSON.parse(r.out) as JsonOutput;
        expect(json.failed.map((f) => f.path).sort()).toEqual(bad);
        for (const f of json.failed) expect(f.error.length).toBeGreaterThan(0);
        expect(json.results).toHaveLength(Object.keys(PHOTO_TREE).length + (lockedFails ? 0 : 1));
      }
      const human = await run(['sort', '--source', photos, '--labels', 'vermelho,verde,azul', '--model', modelDir, '--library', lib]);
      expect(human.code).toBe(0);
      expect(human.err).toContain(`${bad.length} file(s) not sorted`);
      expect(human.err).toContain('quebrada.jpg');
    } finally {
      fs.chmodSync(locked, 0o644);
    }
  });

  it('never indexes or re-sorts a destination inside the source', async () => {
    const { photos, lib } = await setup('inside');
    const dest = path.join(photos, 'triagem');
    const args = ['sort', '--source', photos, '--destination', dest, '--labels', 'vermelho,verde,azul', '--model', modelDir, '--library', lib, '--json'];
    const first = JSON.parse((await run(args)).out) as JsonOutput;
    const second = await run(args);
    expect(second.code, second.err).toBe(0);
    const json = JSON.parse(second.out) as JsonOutput;
    expect(first.results).toHaveLength(6);
    expect(json.results).toHaveLength(6);
    for (const r of json.results) expect(r.path.startsWith(dest + path.sep)).toBe(false);
    // Copies of the second run sit beside the first ones, never inside a nested label folder.
    expect(listTree(path.join(dest, 'vermelho'))).toEqual(['foto (1).jpg', 'foto (2).jpg', 'foto (3).jpg', 'foto.jpg']);
    const library = Library.open(lib);
    try {
      expect(library.listFiles({ folders: [dest] })).toEqual([]);
    } finally {
      library.close();
    }
  });

  it('moves a folder into label folders inside itself, and a second run leaves them alone', async () => {
    const { photos, lib } = await setup('in-place');
    const before = snapshot(photos);
    const args = ['sort', '--source', photos, '--destination', photos, '--operation', 'move', '--labels', 'vermelho,verde,azul', '--model', modelDir, '--library', lib, '--json'];
    const first = JSON.parse((await run(args)).out) as JsonOutput;
    expect(first.failed).toEqual([]);
    expect(first.results.every((r) => path.dirname(r.exportedTo!) === path.join(photos, r.label))).toBe(true);
    const second = await run(args);
    expect(second.code, second.err).toBe(0);
    expect((JSON.parse(second.out) as JsonOutput).results).toEqual([]);
    expect(fs.readdirSync(path.join(photos, 'vermelho')).sort()).toEqual(['foto (1).jpg', 'foto.jpg']);
    const undo = await run(['undo', first.journal!]);
    expect(undo.code, undo.err).toBe(0);
    const after = snapshot(photos);
    // Back where they were; left over: the journal and the second run's results CSV (it had no journal entry to undo).
    for (const [rel, state] of before) expect(after.get(rel), rel).toEqual(state);
    expect([...after.keys()].filter((rel) => !before.has(rel)).sort()).toEqual([path.basename(first.journal!), 'triagem-results (1).csv']);
  });

  it('threshold sends low scores to "unsure"; a preset plus labels combine', async () => {
    const { photos, lib, dest } = await setup('threshold');
    await writePhoto(path.join(photos, 'meio.png'), [150, 30, 150], 99);
    const r = await run([
      'sort', '--source', photos, '--destination', dest, '--labels', 'vermelho, azul', '--threshold', '0.9',
      '--model', modelDir, '--library', lib, '--json', '--templates', 'uma foto de {};a photo of {}',
    ]);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as JsonOutput;
    for (const res of json.results) {
      if (res.score < 0.9) expect(res.label).toBe('unsure');
      else expect(res.label).not.toBe('unsure');
    }
    const unsure = json.results.filter((x) => x.label === 'unsure');
    expect(unsure.length).toBeGreaterThan(0);
    expect(fs.readdirSync(path.join(dest, 'unsure')).length).toBe(unsure.length);

    const preset = await run(['sort', '--preset', 'osint', '--labels', 'vermelho', '--model', modelDir, '--library', lib, '--json']);
    expect(preset.code, preset.err).toBe(0);
    expect(Object.keys((JSON.parse(preset.out) as JsonOutput).results[0].scores)).toEqual(expect.arrayContaining(['documento', 'captura de tela', 'vermelho']));
  });

  it('exits 2 on usage errors, before touching any file', async () => {
    const { photos, lib, dest } = await setup('usage');
    const notCsv = path.join(photos, 'notas.txt');
    fs.writeFileSync(notCsv, 'my notes');
    const base = ['--source', photos, '--model', modelDir, '--library', lib];
    const cases: [string[], RegExp][] = [
      [['sort', ...base], /labels/],
      [['sort', ...base, '--labels', ' , '], /labels/],
      [['sort', ...base, '--labels', 'a,b', '--operation', 'teleport', '--destination', dest], /--operation/],
      [['sort', ...base, '--labels', 'a,b', '--threshold', 'alto'], /--threshold must be a number/],
      [['sort', ...base, '--labels', 'a,b', '--threshold', '1.5'], /between 0 and 1/],
      [['sort', ...base, '--labels', 'a,b', '--operation', 'move'], /--destination/],
      [['sort', ...base, '--labels', 'a,b', '--preset', 'nenhum'], /unknown preset/],
      [['sort', ...base, '--labels', 'a,b', '--templates', 'uma foto'], /\{\}/],
      [['sort', ...base, '--labels', 'a,unsure', '--threshold', '0.5'], /reserved/],
      [['sort', ...base, '--labels', 'a,b', '--output_file', notCsv], /refusing to overwrite/],
      [['sort', ...base, '--labels', 'a,b', '--batch_size', '0'], /batch_size/],
      [['sort', ...base, '--labels', 'a,b', '--device', 'gpu'], /--device/],
      [['sort', '--source', path.join(photos, 'nope'), '--labels', 'a', '--library', lib], /not a folder/],
      [['sort', ...base, '--labels', 'a', '--bogus'], /bogus/],
      [['undo'], /journal/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err, argv.join(' ')).toMatch(message);
    }
    expect(fs.existsSync(lib)).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readFileSync(notCsv, 'utf8')).toBe('my notes');
    const help = await run(['sort', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--output_file/);
    expect(help.out).toMatch(/triagem-results\.csv/);
  });

  it('exits 1 on a fatal error (a journal that is not one)', async () => {
    const bogus = path.join(work, 'bogus.jsonl');
    fs.writeFileSync(bogus, '{"not":"a journal"}\n');
    const r = await run(['undo', bogus]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bogus.jsonl');
  });

  it('runs for real: `node bin/triagem.js sort --operation move` then `undo` restores every byte', async () => {
    const { photos, lib, dest } = await setup('spawn');
    const before = snapshot(photos);
    const env = { ...process.env, TRIAGEM_DATA_DIR: path.join(work, 'spawn', 'data') };
    const sort = spawnSync(
      process.execPath,
      ['bin/triagem.js', 'sort', '--source', photos, '--destination', dest, '--operation', 'move', '--labels', 'vermelho, verde, azul', '--model', modelDir, '--library', lib],
      { cwd: repoRoot, env, encoding: 'utf8' },
    );
    expect(sort.status, sort.stderr).toBe(0);
    expect(sort.stdout).toMatch(/moved 6 files into/);
    expect(snapshot(photos).size).toBe(0);
    const journal = /journal: (\S+)/.exec(sort.stdout)?.[1];
    expect(journal).toBeDefined();
    expect(fs.readdirSync(path.join(dest, 'vermelho')).sort()).toEqual(['foto (1).jpg', 'foto.jpg']);

    for (let pass = 0; pass < 2; pass++) {
      const undo = spawnSync(process.execPath, ['bin/triagem.js', 'undo', journal!, '--json'], { cwd: repoRoot, env, encoding: 'utf8' });
      expect(undo.status, undo.stderr).toBe(0);
      const summary = JSON.parse(undo.stdout) as { items: { outcome: string }[]; problems: unknown[] };
      expect(summary.problems).toEqual([]);
      expect(summary.items.map((i) => i.outcome)).toEqual(Array(6).fill(pass === 0 ? 'restored' : 'already-undone'));
      expect(snapshot(photos)).toEqual(before);
    }
    // Only the journal is left: label folders and the results CSV are gone.
    expect(listTree(dest)).toEqual([path.basename(journal!)]);
  });
});
