// Trust suite, part 4: exports onto a full disk. A real 2 MiB tmpfs where the suite may mount one
// (root in a container), and always an injected ENOSPC through Node's fs as well, so both the real
// file system and the fallback are exercised. Copy and move must stop cleanly, keep every file,
// finish a signed journal, leave no partial or empty file, and undo must work on the full disk.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSorted, type ExportSummary } from '../../src/engine/export/export.js';
import { readJournal } from '../../src/engine/export/journal.js';
import { journalKey } from '../../src/engine/export/journal-key.js';
import { verifyExport } from '../../src/engine/export/manifest.js';
import { undoExport } from '../../src/engine/export/undo.js';
import { indexFolders } from '../../src/engine/indexer/indexer.js';
import { Library } from '../../src/engine/library/library.js';
import { loadModel } from '../../src/engine/models/model.js';
import type { ClipModel } from '../../src/engine/models/types.js';
import type { SortedFile } from '../../src/engine/sort/sort.js';
import { sortLibrary } from '../../src/engine/sort/sort.js';
import { snapshot } from '../support/index-fixtures.js';
import { colourModelDir } from '../support/models.js';
import { useNoNetwork } from './support/no-network.js';
import { fillUp, hashTree, injectEnospc, mountTmpfs, noisyPhoto, recordFigures, shaCounts, trustDir, type SmallDisk } from './support/trust-fixtures.js';

const DISK = 2 * 1024 * 1024;

/**
 * A snapshot with mtimes to the microsecond: Node's utimes takes seconds as a double, so a time
 * carried over twice (export, then undo) can drift by a microsecond; bytes, size and mode may not.
 */
function comparable(snap: ReturnType<typeof snapshot>): Map<string, unknown> {
  return new Map([...snap].map(([k, v]) => [k, { ...v, mtimeMs: Math.round(v.mtimeMs * 100) / 100 }]));
}
const LABELS = ['vermelho', 'verde', 'azul'];

describe('trust: a full disk', () => {
  useNoNetwork('disk full');
  let model: ClipModel;
  let root: string;
  let template: string;
  let results: SortedFile[];
  const figures = { runs: 0, stoppedCleanly: 0, lost: 0, orphans: 0, cutJournalLines: 0, modes: '' };
  const mountable = (() => {
    const probe = mountTmpfs(64 * 1024);
    void probe?.close();
    return probe !== undefined;
  })();

  beforeAll(async () => {
    model = await loadModel(await colourModelDir(), { device: 'cpu' });
    root = trustDir('disk-full');
    template = path.join(root, 'fotos');
    const colours = ['red', 'green', 'blue'];
    // About 3.2 MiB of photos for a 2 MiB disk.
    for (let i = 0; i < 10; i++) await noisyPhoto(path.join(template, `d${i % 2}`, `p${i}.jpg`), colours[i % 3], 200 + i, 320);
    const library = Library.open(path.join(root, 'lib.sqlite'));
    await indexFolders({ library, model, folders: [template], thumbnails: false });
    results = (await sortLibrary({ library, model, labels: LABELS })).results;
    library.close();
  });
  afterAll(async () => {
    await model?.close();
    recordFigures('disk-full', { ...figures });
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** A fresh copy of the photos (same bytes, same times) and the sort results pointing at it. */
  function freshPhotos(name: string): { photos: string; results: SortedFile[] } {
    const photos = path.join(root, name);
    fs.cpSync(template, photos, { recursive: true, preserveTimestamps: true });
    return {
      photos,
      results: results.map((r) => {
        const p = path.join(photos, path.relative(template, r.file.path));
        return { ...r, file: { ...r.file, path: p, folder: path.dirname(p) } };
      }),
    };
  }

  /** What every stopped export must satisfy, whatever the operation. */
  function checkStopped(summary: ExportSummary, dest: string): void {
    figures.runs++;
    expect(summary.stopped?.code).toBe('ENOSPC');
    expect(summary.stopped?.reason).toBe('the destination disk is full');
    expect(summary.exported.length).toBeGreaterThan(0);
    expect(summary.exported.length + summary.stopped!.notAttempted).toBeLessThan(results.length);
    // The journal: signed, whole lines only, with the stop and the end recorded.
    const text = fs.readFileSync(summary.journal, 'utf8');
    if (!text.endsWith('\n')) figures.cutJournalLines++;
    expect(text.endsWith('\n')).toBe(true);
    const types = readJournal(summary.journal, journalKey()).entries.map((e) => e.type);
    expect(types).toContain('stopped');
    expect(types).toContain('end');
    // No partial copy, no temporary, no empty file, no space reserve left behind.
    const names = [...hashTree(dest).keys()];
    const orphans = names.filter((n) => /(^|\/)\.triagem-(part|reserve)-/.test(n) || fs.statSync(path.join(dest, n)).size === 0);
    figures.orphans += orphans.length;
    expect(orphans).toEqual([]);
    for (const e of summary.exported) expect(hashTree(path.dirname(e.to)).get(path.basename(e.to))).toBe(e.sha256);
    figures.stoppedCleanly++;
  }

  async function withDisk(mode: 'tmpfs' | 'injected', run: (disk: SmallDisk) => Promise<void>): Promise<void> {
    const disk = mode === 'tmpfs' ? mountTmpfs(DISK) : await injectEnospc(DISK);
    if (!disk) throw new Error('tmpfs mount refused');
    figures.modes = [...new Set([...figures.modes.split(',').filter(Boolean), disk.mode])].join(',');
    try {
      await run(disk);
    } finally {
      await disk.close();
    }
  }

  for (const mode of ['tmpfs', 'injected'] as const) {
    it.skipIf(mode === 'tmpfs' && !mountable)(`copy onto a full ${mode === 'tmpfs' ? 'real 2 MiB tmpfs' : 'disk (injected ENOSPC)'}: a clean stop, and undo works with the disk still full`, async () => {
      const { photos, results: mine } = freshPhotos(`copy-${mode}`);
      const before = snapshot(photos);
      await withDisk(mode, async (disk) => {
        const dest = path.join(disk.dir, 'saída');
        const summary = await exportSorted({ results: mine, labels: LABELS, destination: dest, operation: 'copy', sources: [photos] });
        checkStopped(summary, dest);
        expect(snapshot(photos)).toEqual(before);
        if (summary.manifest) expect((await verifyExport(dest)).passed).toBe(true);

        // Fill what room is left to the last byte, then undo: deleting copies needs no space.
        const filler = fillUp(disk.dir);
        const undo = await undoExport(summary.journal);
        expect(undo.items.filter((i) => i.outcome === 'removed')).toHaveLength(summary.exported.length);
        for (const e of summary.exported) expect(undo.deleted).toContain(e.to);
        expect([...hashTree(dest).keys()].filter((n) => !n.startsWith('.triagem-journal-'))).toEqual([]);
        // Whatever undo could record, the journal still reads: no cut line.
        expect(fs.readFileSync(summary.journal, 'utf8').endsWith('\n')).toBe(true);
        readJournal(summary.journal, journalKey());
        fs.rmSync(filler);
      });
      expect(snapshot(photos)).toEqual(before);
    });

    it.skipIf(mode === 'tmpfs' && !mountable)(`move onto a full ${mode === 'tmpfs' ? 'real 2 MiB tmpfs' : 'disk (injected ENOSPC)'}: every file exactly once, and undo brings all back`, async () => {
      const { photos, results: mine } = freshPhotos(`move-${mode}`);
      const before = snapshot(photos);
      const shas = new Set([...before.values()].map((f) => f.sha256));
      await withDisk(mode, async (disk) => {
        const dest = path.join(disk.dir, 'saída');
        const summary = await exportSorted({ results: mine, labels: LABELS, destination: dest, operation: 'move', sources: [photos] });
        checkStopped(summary, dest);
        const counts = shaCounts(photos, dest);
        const lost = [...shas].filter((s) => counts.get(s) !== 1).length;
        figures.lost += lost;
        expect(lost, 'each photo exactly once across source and destination').toBe(0);
        for (const e of summary.exported) expect(fs.existsSync(e.from)).toBe(false);
        const undo = await undoExport(summary.journal);
        expect(undo.problems).toEqual([]);
      });
      expect(comparable(snapshot(photos))).toEqual(comparable(before));
    });
  }
});
