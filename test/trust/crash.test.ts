// Trust suite, part 2: kill -9 at exact points of a move (every journal line, every copy fsync,
// link and delete) and of an index run. After each kill no file may be lost; undo then restores
// every original exactly once, byte-identical with its times and mode; a rerun of index finishes
// the library without duplicates. Child processes carry the no-network guard too.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { undoExport } from '../../src/engine/export/undo.js';
import { indexFolders } from '../../src/engine/indexer/indexer.js';
import { Library } from '../../src/engine/library/library.js';
import { loadModel } from '../../src/engine/models/model.js';
import type { ClipModel } from '../../src/engine/models/types.js';
import type { SortedFile } from '../../src/engine/sort/sort.js';
import { sortLibrary } from '../../src/engine/sort/sort.js';
import { snapshot } from '../support/index-fixtures.js';
import { colourModelDir } from '../support/models.js';
import { writePhotoTree, writePhoto, type Colour } from '../support/sort-fixtures.js';
import { childEnv, useNoNetwork } from './support/no-network.js';
import { CRASH_HOOK, MOVE_CHILD, hashTree, recordFigures, runNode, shaCounts, trustDir, type ChildResult } from './support/trust-fixtures.js';

const TREE: Record<string, Colour> = {
  'viagem/foto.jpg': 'red',
  'trabalho/foto.jpg': 'red',
  'verde claro.jpeg': 'green',
};
const LABELS = ['vermelho', 'verde', 'azul'];

interface Figures {
  points: number;
  killed: number;
  completed: number;
  crashes: number;
  lost: number;
  duplicatesAfterUndo: number;
}

function cpTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true });
}

/** The sort results, with every path moved from one photo root to another (same bytes, same sizes). */
function rebase(results: readonly SortedFile[], from: string, to: string): SortedFile[] {
  return results.map((r) => {
    const p = path.join(to, path.relative(from, r.file.path));
    return { ...r, file: { ...r.file, path: p, folder: path.dirname(p) } };
  });
}

/** Plain files below `root` other than journals (what an export left, or undo did not remove). */
function leftovers(root: string): string[] {
  return [...hashTree(root).keys()].filter((rel) => !path.basename(rel).startsWith('.triagem-journal-'));
}

describe('trust: kill -9', () => {
  useNoNetwork('kill -9');
  let model: ClipModel;
  let modelDir: string;
  let root: string;
  let template: string;
  let results: SortedFile[];
  const dataDir = process.env.TRIAGEM_DATA_DIR ?? '';
  const move: Figures = { points: 0, killed: 0, completed: 0, crashes: 0, lost: 0, duplicatesAfterUndo: 0 };
  const index = { points: 0, killed: 0, crashes: 0, lost: 0, duplicateRows: 0 };

  beforeAll(async () => {
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    root = trustDir('crash');
    template = path.join(root, 'template');
    await writePhotoTree(template, TREE);
    const library = Library.open(path.join(root, 'template.sqlite'));
    await indexFolders({ library, model, folders: [template], thumbnails: false });
    results = (await sortLibrary({ library, model, labels: LABELS })).results;
    library.close();
  });
  afterAll(async () => {
    await model?.close();
    recordFigures('kill-9-move', { ...move });
    recordFigures('kill-9-index', { ...index });
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** One move killed at `point`, then undone twice; returns what the child did. */
  async function crashMoveAt(point: string, n: number): Promise<ChildResult> {
    const dir = path.join(root, `move-${n}-${point.replace(/[^a-z0-9]+/gi, '_')}`);
    const photos = path.join(dir, 'fotos');
    const dest = path.join(dir, 'saída');
    cpTree(template, photos);
    const before = snapshot(photos);
    const plan = path.join(dir, 'plan.json');
    fs.writeFileSync(plan, JSON.stringify({ results: rebase(results, template, photos), labels: LABELS, destination: dest, operation: 'move', sources: [photos], dataDir }));
    const child = await runNode(['--import', 'tsx', MOVE_CHILD, plan], childEnv({ NODE_OPTIONS: `--import=${CRASH_HOOK}`, TRIAGEM_CRASH_AT: point, TRIAGEM_DATA_DIR: dataDir }));
    move.points++;
    if (child.signal === 'SIGKILL') move.killed++;
    else if (child.code === 0) move.completed++;
    else move.crashes++;
    expect(child.signal === 'SIGKILL' || child.code === 0, `${point}: ${child.stderr}`).toBe(true);

    // Right after the kill: every original's bytes exist somewhere, whole.
    const counts = shaCounts(photos, dest);
    const missing = [...before.values()].filter((f) => !counts.has(f.sha256)).length;
    move.lost += missing;
    expect(missing, `${point}: files lost after the kill`).toBe(0);

    const journals = fs.existsSync(dest) ? fs.readdirSync(dest).filter((f) => f.startsWith('.triagem-journal-')) : [];
    const signedHeader = journals.length === 1 && fs.readFileSync(path.join(dest, journals[0]), 'utf8').includes('"type":"header"');
    if (signedHeader) {
      for (let pass = 0; pass < 2; pass++) {
        const undo = await undoExport(path.join(dest, journals[0]));
        expect(undo.problems, `${point}, undo ${pass + 1}`).toEqual([]);
      }
    }
    // After undo (or when the kill came before anything was written): each original exactly once,
    // at its path, byte-identical, same times and mode; nothing of ours left in the destination.
    expect(snapshot(photos), point).toEqual(before);
    const left = fs.existsSync(dest) ? leftovers(dest) : [];
    move.duplicatesAfterUndo += left.length;
    expect(left, `${point}: left in the destination after undo`).toEqual([]);
    return child;
  }

  it('a move killed before or after every journal line, copy fsync, link and delete loses nothing, and undo restores it all', async () => {
    // Three files make 15 journal lines (header, reserve, 2 label folders, begin/placed/deleted per
    // file, end, manifest): a kill before each of them and one past the end; then kills around the
    // other steps that matter: the copy's fsync, its link into place, the deletes (of the temporary
    // name and of the original), the journal's fsync.
    const points: string[] = [];
    for (let i = 1; i <= 16; i++) points.push(`journal:${i}`);
    points.push('unlink:2:after', 'unlink:3', 'unlink:4:after', 'link:2:after', 'sync:1', 'sync:4', 'open-write:2', 'fsync:5');
    // Two at a time: each child is mostly waiting on process start-up.
    for (let i = 0; i < points.length; i += 2) await Promise.all(points.slice(i, i + 2).map((p, j) => crashMoveAt(p, i + j)));
    // The matrix reached past the end of a whole move: the last journal point let it finish.
    expect(move.completed).toBeGreaterThan(0);
    expect(move.killed).toBeGreaterThan(points.length / 2);
  }, 600_000);

  it('the real CLI killed mid-move (after a delete, before a journal line) is undone by `triagem undo`', async () => {
    for (const point of ['unlink:2:after', 'journal:7']) {
      const dir = path.join(root, `cli-${point.replace(/[^a-z0-9]+/gi, '_')}`);
      const photos = path.join(dir, 'fotos');
      const dest = path.join(dir, 'saída');
      const lib = path.join(dir, 'lib.sqlite');
      cpTree(template, photos);
      const before = snapshot(photos);
      const env = childEnv({ NODE_OPTIONS: `--import=${CRASH_HOOK}`, TRIAGEM_CRASH_AT: point, TRIAGEM_DATA_DIR: dataDir });
      const killed = await runNode(['bin/triagem.js', 'sort', '--source', photos, '--destination', dest, '--operation', 'move', '--labels', LABELS.join(', '), '--model', modelDir, '--library', lib], env);
      move.points++;
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      move.killed++;
      const counts = shaCounts(photos, dest);
      const missing = [...before.values()].filter((f) => !counts.has(f.sha256)).length;
      move.lost += missing;
      expect(missing).toBe(0);
      const journal = fs.readdirSync(dest).find((f) => f.startsWith('.triagem-journal-'))!;
      const undo = await runNode(['bin/triagem.js', 'undo', path.join(dest, journal)], childEnv({ TRIAGEM_DATA_DIR: dataDir }));
      expect(undo.code, undo.stderr).toBe(0);
      expect(snapshot(photos)).toEqual(before);
      expect(leftovers(dest)).toEqual([]);
    }
  }, 600_000);

  it('an index run killed while reading or writing thumbnails leaves originals untouched; the rerun completes without duplicates', async () => {
    const photos = path.join(root, 'index-photos');
    const colours: Colour[] = ['red', 'green', 'blue', 'yellow', 'purple'];
    for (let i = 0; i < 20; i++) await writePhoto(path.join(photos, `d${i % 3}`, `p${i}.jpg`), colours[i % 5], 500 + i);
    const before = snapshot(photos);
    for (const point of ['read:3', 'read:12', 'open-write:2', 'open-write:9:after']) {
      const lib = path.join(root, `index-${point.replace(/[^a-z0-9]+/gi, '_')}.sqlite`);
      const env = childEnv({ NODE_OPTIONS: `--import=${CRASH_HOOK}`, TRIAGEM_CRASH_AT: point, TRIAGEM_DATA_DIR: dataDir });
      const killed = await runNode(['bin/triagem.js', 'index', photos, '--library', lib, '--model', modelDir, '--batch_size', '2'], env);
      index.points++;
      if (killed.signal === 'SIGKILL') index.killed++;
      else if (killed.code !== 0) index.crashes++;
      expect(killed.signal, `${point}: ${killed.stderr}`).toBe('SIGKILL');
      expect(snapshot(photos), point).toEqual(before);
      const library = Library.open(lib);
      try {
        const rerun = await indexFolders({ library, model, folders: [photos] });
        expect(rerun.failed, point).toEqual([]);
        const files = library.listFiles();
        const dupes = files.length - new Set(files.map((f) => f.path)).size;
        index.duplicateRows += dupes;
        expect(dupes).toBe(0);
        expect(files.length, point).toBe(20);
        expect(library.counts().contents).toBe(20);
        expect(library.embeddingCount(library.modelKey(model.info))).toBe(20);
        // No half-written thumbnail of the killed run is left in the cache.
        const temps = fs.existsSync(library.thumbnailsDir)
          ? fs.readdirSync(library.thumbnailsDir).flatMap((s) => fs.readdirSync(path.join(library.thumbnailsDir, s))).filter((n) => n.endsWith('.tmp'))
          : [];
        expect(temps, point).toEqual([]);
      } finally {
        library.close();
      }
      const lost = [...before.keys()].filter((k) => !fs.existsSync(path.join(photos, k))).length;
      index.lost += lost;
    }
  }, 600_000);
});
