// Trust suite, part 1: one test per finding of issue F (1, 2, 3, 4, 6, 8, 9, 11, 12), each written
// against the public doors (the CLI, the engine's export/undo/index functions, the bridge's engine
// service) so it fails on the code before the fix and passes after. Fixtures are generated.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultsCsv } from '../../src/engine/export/csv.js';
import { exportSorted } from '../../src/engine/export/export.js';
import { undoExport } from '../../src/engine/export/undo.js';
import { indexFolders } from '../../src/engine/indexer/indexer.js';
import { Library } from '../../src/engine/library/library.js';
import { loadModel } from '../../src/engine/models/model.js';
import type { ClipModel } from '../../src/engine/models/types.js';
import { createEngineService } from '../../src/app/service.js';
import { normalizeLabels } from '../../src/engine/sort/labels.js';
import { sortLibrary } from '../../src/engine/sort/sort.js';
import { runCli } from '../support/cli.js';
import { colourModelDir } from '../support/models.js';
import { PHOTO_TREE, writePhoto, writePhotoTree } from '../support/sort-fixtures.js';
import { useNoNetwork } from './support/no-network.js';
import { hashTree, injectEnospc, mountTmpfs, recordFigures, sha256, shaCounts, trustDir, type SmallDisk, noisyPhoto } from './support/trust-fixtures.js';

const LABELS = 'vermelho, verde, azul';
const N = Object.keys(PHOTO_TREE).length;

/** RFC 4180 rows (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  return rows;
}

/** A pid that belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('trust: the findings of issue F', () => {
  useNoNetwork('findings');
  let model: ClipModel;
  let modelDir: string;
  let modelsDir: string;
  let root: string;
  let cases = 0;

  beforeAll(async () => {
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    root = trustDir('findings');
    modelsDir = path.join(root, 'models');
    fs.cpSync(modelDir, path.join(modelsDir, 'colour'), { recursive: true });
  });
  afterAll(async () => {
    await model?.close();
    recordFigures('findings', { cases });
    fs.rmSync(root, { recursive: true, force: true });
  });

  const work = (name: string) => {
    cases++;
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    return { dir, photos: path.join(dir, 'fotos'), dest: path.join(dir, 'saída'), lib: path.join(dir, 'lib.sqlite') };
  };

  const indexAndSort = async (photos: string, libFile: string) => {
    const library = Library.open(libFile);
    await indexFolders({ library, model, folders: [photos], thumbnails: false });
    const sorted = await sortLibrary({ library, model, labels: LABELS.split(', ') });
    return { library, sorted };
  };

  it('1. a move never takes a file from outside the source through a folder link', async () => {
    const { dir, photos, dest, lib } = work('f1');
    await writePhotoTree(photos);
    const privado = path.join(dir, 'privado');
    await writePhoto(path.join(privado, 'segredo.jpg'), 'red', 99);
    fs.symlinkSync(privado, path.join(photos, 'pasta'));
    const secret = sha256(path.join(privado, 'segredo.jpg'));

    const r = await runCli(['sort', '--source', photos, '--destination', dest, '--operation', 'move', '--labels', LABELS, '--model', modelDir, '--library', lib]);
    expect(r.code, r.err).toBe(0);
    expect(sha256(path.join(privado, 'segredo.jpg'))).toBe(secret);
    expect(shaCounts(dest).get(secret)).toBeUndefined();
    expect(r.err).toMatch(/pasta: symbolic link to .*privado, outside the folders being indexed; not followed/);
    // The photos that were really in the source did move.
    expect(hashTree(photos).size).toBe(0);

    // A folder swapped for a link after indexing (a check-then-use race) is caught at move time.
    const two = work('f1-race');
    await writePhotoTree(two.photos);
    const { library, sorted } = await indexAndSort(two.photos, two.lib);
    const elsewhere = path.join(two.dir, 'privado', 'viagem');
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.renameSync(path.join(two.photos, 'viagem'), path.join(two.dir, 'viagem-real'));
    fs.copyFileSync(path.join(two.dir, 'viagem-real', 'foto.jpg'), path.join(elsewhere, 'foto.jpg'));
    fs.symlinkSync(elsewhere, path.join(two.photos, 'viagem'));
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: two.dest, operation: 'move', sources: [two.photos] } as Parameters<typeof exportSorted>[0]);
    library.close();
    expect(fs.existsSync(path.join(elsewhere, 'foto.jpg'))).toBe(true);
    expect(summary.failed.find((f) => f.path === path.join(two.photos, 'viagem', 'foto.jpg'))?.error).toMatch(/outside the folders being sorted/);
  });

  it('2. undo acts only on journals Triagem signed, and only inside their destination and sources', async () => {
    const { dir } = work('f2');
    // (a) A crafted journal in a "scraped archive" names the user's own backup as an exported copy.
    const home = path.join(dir, 'home');
    const archive = path.join(dir, 'arquivo-baixado');
    fs.mkdirSync(archive, { recursive: true });
    await writePhoto(path.join(home, 'original.jpg'), 'blue', 7);
    fs.mkdirSync(path.join(home, 'backup'));
    fs.copyFileSync(path.join(home, 'original.jpg'), path.join(home, 'backup', 'original.jpg'));
    const sha = sha256(path.join(home, 'original.jpg'));
    const size = fs.statSync(path.join(home, 'original.jpg')).size;
    const crafted = path.join(archive, '.triagem-journal-2024-01-01T00-00-00-000Z.jsonl');
    const payload = path.join(archive, 'payload.bin');
    fs.writeFileSync(payload, '#!/bin/sh\necho pwned\n');
    const planted = path.join(dir, 'elsewhere', 'planted.sh');
    const lines = [
      { type: 'header', version: 1, createdAt: 1, operation: 'copy', destination: archive },
      { type: 'begin', id: 1, op: 'copy', from: path.join(home, 'original.jpg'), to: path.join(home, 'backup', 'original.jpg'), sha256: sha, size },
      { type: 'copied', id: 1 },
      // (b) and a fake move entry that would "restore" a file anywhere.
      { type: 'begin', id: 2, op: 'move', from: planted, to: payload, sha256: sha256(payload), size: fs.statSync(payload).size },
      { type: 'copied', id: 2 },
      { type: 'deleted', id: 2 },
    ];
    fs.writeFileSync(crafted, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = await runCli(['undo', crafted]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not signed by Triagem|not a Triagem|journal/);
    expect(fs.existsSync(path.join(home, 'backup', 'original.jpg'))).toBe(true);
    expect(fs.existsSync(planted)).toBe(false);
    expect(fs.existsSync(payload)).toBe(true);

    // (c) A genuine journal, but a label folder was swapped for a link to another folder holding a
    // file with the same name and bytes: undo must not delete through the link.
    const c = work('f2-link');
    await writePhotoTree(c.photos);
    const { library, sorted } = await indexAndSort(c.photos, c.lib);
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: c.dest, operation: 'copy' });
    library.close();
    const victim = path.join(c.dir, 'vitima');
    fs.renameSync(path.join(c.dest, 'vermelho'), victim);
    fs.symlinkSync(victim, path.join(c.dest, 'vermelho'));
    const before = hashTree(victim);
    const undo = await undoExport(summary.journal);
    expect(hashTree(victim)).toEqual(before);
    expect(undo.items.filter((i) => i.to.startsWith(path.join(c.dest, 'vermelho'))).every((i) => i.outcome === 'kept')).toBe(true);

    // (d) The bridge undoes only journals of its own library's exports.
    const d = work('f2-bridge');
    await writePhotoTree(d.photos);
    const other = await indexAndSort(d.photos, path.join(d.dir, 'other.sqlite'));
    const foreign = await exportSorted({ results: other.sorted.results, labels: other.sorted.labels, destination: d.dest, operation: 'copy', library: other.library } as Parameters<typeof exportSorted>[0]);
    other.library.close();
    const copies = hashTree(d.dest);
    const service = createEngineService({ libraryPath: d.lib, modelsDir, device: 'cpu' });
    try {
      const res = await service.invoke('export.undo', { journal: foreign.journal });
      expect(res.ok).toBe(false);
      if (!res.ok) expect(res.error.message).toMatch(/not from an export of the open library/);
    } finally {
      await service.close();
    }
    expect(hashTree(d.dest)).toEqual(copies);
  });

  it('3. exports never write through a label folder that is a link, and a dangling link fails nothing (CLI and bridge)', async () => {
    const { dir, photos, dest, lib } = work('f3');
    await writePhotoTree(photos);
    const outside = path.join(dir, 'fora');
    fs.mkdirSync(outside);
    fs.mkdirSync(dest);
    fs.symlinkSync(outside, path.join(dest, 'vermelho'));
    fs.symlinkSync(path.join(dir, 'nada'), path.join(dest, 'verde'));
    const r = await runCli(['sort', '--source', photos, '--destination', dest, '--operation', 'copy', '--labels', LABELS, '--model', modelDir, '--library', lib, '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { failed: unknown[]; results: { exportedTo: string | null }[] };
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(json.failed).toEqual([]);
    expect(json.results.every((x) => x.exportedTo !== null && fs.realpathSync(x.exportedTo).startsWith(fs.realpathSync(dest) + path.sep))).toBe(true);
    expect(fs.lstatSync(path.join(dest, 'verde')).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(dir, 'nada'))).toBe(false);

    // The bridge's export.run, through the engine service.
    const b = work('f3-bridge');
    await writePhotoTree(b.photos);
    const fora = path.join(b.dir, 'fora');
    fs.mkdirSync(fora);
    fs.mkdirSync(b.dest);
    fs.symlinkSync(fora, path.join(b.dest, 'azul'));
    const service = createEngineService({ libraryPath: b.lib, modelsDir, device: 'cpu' });
    try {
      expect((await service.invoke('index.start', { folders: [b.photos], model: 'colour', thumbnails: false })).ok).toBe(true);
      expect((await service.invoke('sort.run', { labels: LABELS.split(', '), model: 'colour', limit: 10 })).ok).toBe(true);
      const res = await service.invoke('export.run', { destination: b.dest, operation: 'copy' });
      expect(res.ok && res.value.failed).toEqual([]);
      if (res.ok) expect(res.value.done).toBe(N);
    } finally {
      await service.close();
    }
    expect(fs.readdirSync(fora)).toEqual([]);
  });

  it('4. a full disk stops the export cleanly: summary, journal path, whole journal, no orphan, exit 1', async () => {
    const { dir, photos, lib } = work('f4');
    const colours = ['red', 'green', 'blue'];
    for (let i = 0; i < 10; i++) await noisyPhoto(path.join(photos, `p${i}.jpg`), colours[i % 3], 100 + i, 320);
    const before = hashTree(photos);
    const disk: SmallDisk = mountTmpfs(2 * 1024 * 1024) ?? (await injectEnospc(2 * 1024 * 1024));
    try {
      const dest = path.join(disk.dir, 'saída');
      const r = await runCli(['sort', '--source', photos, '--destination', dest, '--operation', 'copy', '--labels', LABELS, '--model', modelDir, '--library', lib]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stopped: the destination disk is full \(ENOSPC\)/);
      const journal = /journal: (\S+)/.exec(r.out)?.[1];
      expect(journal, r.out).toBeDefined();
      // The journal ends on a whole line, with its end record.
      const text = fs.readFileSync(journal!, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      const entries = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
      expect(entries.some((e) => e.type === 'end')).toBe(true);
      // Sources intact; what is in the destination is whole copies only (no partial, no empty file).
      expect(hashTree(photos)).toEqual(before);
      const sources = new Set(before.values());
      const inDest = [...hashTree(dest).entries()].filter(([rel]) => !/^(\.triagem-journal-|manifest-sha256|triagem-results)/.test(rel));
      expect(inDest.length).toBeGreaterThan(0);
      for (const [rel, sha] of inDest) expect(sources.has(sha), `${rel} is not a whole copy`).toBe(true);
      expect(fs.readdirSync(dest).filter((n) => n.endsWith('.tmp') || n.startsWith('.triagem-part-') || n.startsWith('.triagem-reserve-'))).toEqual([]);
      // Undo of the copies works on the still-full disk.
      const u = await runCli(['undo', journal!]);
      expect(u.code, u.err).toBe(0);
      expect([...hashTree(dest).keys()].filter((rel) => !rel.startsWith('.triagem-journal-'))).toEqual([]);
      console.log(`finding 4 used a ${disk.mode === 'tmpfs' ? 'real 2 MiB tmpfs' : 'injected ENOSPC (mount refused)'}`);
      recordFigures('finding-4-disk', { mode: disk.mode });
    } finally {
      await disk.close();
    }
    void dir;
  });

  it('6. CSV cells that would start a formula are neutralised', async () => {
    const { photos, dest, lib } = work('f6');
    await writePhoto(path.join(photos, '=HYPERLINK("http---x","clique").jpg'), 'red', 1);
    await writePhoto(path.join(photos, '+cmd.jpg'), 'green', 2);
    await writePhoto(path.join(photos, '-2+3.jpg'), 'blue', 3);
    await writePhoto(path.join(photos, '@SUM(A1).jpg'), 'red', 4);
    const r = await runCli(['sort', '--source', photos, '--destination', dest, '--labels', '=vermelho, +verde, @azul', '--model', modelDir, '--library', lib]);
    expect(r.code, r.err).toBe(0);
    const rows = parseCsv(fs.readFileSync(path.join(dest, 'triagem-results.csv'), 'utf8'));
    expect(rows).toHaveLength(5);
    for (const row of rows.slice(1)) {
      for (const cell of [row[0], row[1], row[3]]) expect(cell, cell).not.toMatch(/^\s*[=+\-@\t\r]/);
      expect(row[0].startsWith("'")).toBe(true);
    }
    // Unit level, with tab and carriage return too; numbers are left alone.
    const csv = resultsCsv(['\tx'], [
      { file: { id: 1, path: '/f/\rcr.jpg', folder: '/f', name: '\rcr.jpg', ext: 'jpg', size: 1, mtimeMs: 0, contentId: 1, sha256: 'a'.repeat(64), format: 'jpeg', width: 1, height: 1, takenAt: null, gpsLat: null, gpsLon: null, camera: null }, label: '\tx', score: 0.5, scores: { '\tx': 0.5 } },
    ]);
    const [, row] = parseCsv(csv);
    expect(row[0]).toBe("'\rcr.jpg");
    expect(row[1]).toBe("'\tx");
    expect(row[2]).toBe('0.500000');
  });

  it('8. two moves from one source at once never duplicate a file', async () => {
    const { dir, photos, lib } = work('f8');
    await writePhotoTree(photos);
    const before = hashTree(photos);
    const { library, sorted } = await indexAndSort(photos, lib);
    const one = path.join(dir, 'um');
    const two = path.join(dir, 'dois');
    const runs = await Promise.allSettled([
      exportSorted({ results: sorted.results, labels: sorted.labels, destination: one, operation: 'move', sources: [photos] } as Parameters<typeof exportSorted>[0]),
      exportSorted({ results: sorted.results, labels: sorted.labels, destination: two, operation: 'move', sources: [photos] } as Parameters<typeof exportSorted>[0]),
    ]);
    library.close();
    const counts = shaCounts(photos, one, two);
    for (const sha of before.values()) expect(counts.get(sha), 'each photo exactly once').toBe(1);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const refused = runs.filter((x) => x.status === 'rejected');
    expect(refused).toHaveLength(1);
    expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/another Triagem move from .* is running/);
    const done = runs.find((x) => x.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof exportSorted>>>;
    expect(done.value.failed).toEqual([]);
    expect(done.value.exported).toHaveLength(N);
  });

  it('9. after a move, search returns the new paths, never the old missing ones', async () => {
    for (const inside of [false, true]) {
      const { dir, photos, lib } = work(`f9-${inside ? 'inside' : 'apart'}`);
      await writePhotoTree(photos);
      const dest = inside ? path.join(photos, 'triado') : path.join(dir, 'triado');
      const s = await runCli(['sort', '--source', photos, '--destination', dest, '--operation', 'move', '--labels', LABELS, '--model', modelDir, '--library', lib]);
      expect(s.code, s.err).toBe(0);
      const q = await runCli(['search', 'vermelho', '--all', '--limit', '50', '--json', '--model', modelDir, '--library', lib]);
      expect(q.code, q.err).toBe(0);
      const hits = (JSON.parse(q.out) as { results: { path: string; paths: string[] }[] }).results;
      const paths = hits.flatMap((h) => h.paths);
      for (const p of paths) expect(fs.existsSync(p), `${p} is gone`).toBe(true);
      // Inside a folder the library covers, the moved files are found at their new place.
      if (inside) expect(paths.length).toBe(N);
      else expect(paths).toEqual([]);
    }
  });

  it('11. a damaged but decodable JPEG is indexed with a warning; temporary thumbnails of a killed run are cleaned', async () => {
    const { photos, lib } = work('f11');
    const w = 400;
    const h = 300;
    const raw = Buffer.alloc(w * h * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
    const jpg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
    const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
    const damaged = Buffer.from(jpg);
    // Garbage over part of the scan data: libjpeg decodes through it, with grey and smeared blocks.
    for (let i = sos + 400; i < sos + 2400; i++) damaged[i] = (i * 31) & 0xff;
    fs.mkdirSync(photos, { recursive: true });
    fs.writeFileSync(path.join(photos, 'danificada.jpg'), damaged);
    fs.writeFileSync(path.join(photos, 'inteira.jpg'), jpg.subarray(0));
    await writePhoto(path.join(photos, 'outra.jpg'), 'green', 5);
    // What a killed run leaves in the thumbnail cache, and what a concurrent live run is writing.
    const shard = path.join(`${lib}.thumbs`, 'ab');
    fs.mkdirSync(shard, { recursive: true });
    const stale = path.join(shard, `${'ab'.repeat(32)}.webp.${deadPid()}.x1y2.tmp`);
    const live = path.join(shard, `${'ab'.repeat(32)}.webp.${process.pid}.z9.tmp`);
    fs.writeFileSync(stale, 'half a thumbnail');
    fs.writeFileSync(live, 'being written');

    const r = await runCli(['index', photos, '--library', lib, '--model', modelDir, '--json']);
    expect(r.code, r.err).toBe(0);
    const out = JSON.parse(r.out) as { indexed: number; failed: unknown[]; warnings?: { path: string; warning: string }[] };
    expect(out.indexed).toBe(3);
    expect(out.failed).toEqual([]);
    expect(out.warnings?.map((x) => path.basename(x.path))).toEqual(['danificada.jpg']);
    expect(out.warnings?.[0].warning).toMatch(/damaged image data, decoded with errors.*Corrupt JPEG data/);
    const library = Library.open(lib);
    expect(library.fileByPath(path.join(photos, 'danificada.jpg'))).toBeDefined();
    library.close();
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });

  it('12. the same label in two spellings, or an invisible one, is refused by the CLI and the engine', async () => {
    const { photos, lib } = work('f12');
    await writePhotoTree(photos);
    for (const labels of ['red, Red', 'prédio, pre\u0301dio', '\u200b, red', 'red, red\u200b', 'vermelho, VERMELHO ']) {
      const r = await runCli(['sort', '--source', photos, '--labels', labels, '--model', modelDir, '--library', lib]);
      expect(r.code, `${JSON.stringify(labels)}: ${r.err}`).toBe(2);
      expect(r.err).toMatch(/is given twice|no visible characters/);
    }
    expect(() => normalizeLabels(['\u200b\u200c', 'azul'])).toThrow(/no visible characters/);
    expect(() => normalizeLabels(['ｒｅｄ', 'red'])).toThrow(/twice/);
    // Bridge: sort.run rejects them too.
    const service = createEngineService({ libraryPath: lib, modelsDir, device: 'cpu' });
    try {
      const res = await service.invoke('sort.run', { labels: ['azul', '\u2060'], model: 'colour' });
      expect(res.ok).toBe(false);
    } finally {
      await service.close();
    }
  });
});
