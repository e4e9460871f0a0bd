import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csvField, resultsCsv } from '../src/engine/export/csv.js';
import { exportSorted, recordOutput } from '../src/engine/export/export.js';
import { JournalWriter, readJournal } from '../src/engine/export/journal.js';
import { journalKey } from '../src/engine/export/journal-key.js';
import { labelFolderName, labelFolders, numberedName } from '../src/engine/export/names.js';
import { undoExport } from '../src/engine/export/undo.js';
import { manifestText, parseManifest, verifyExport } from '../src/engine/export/manifest.js';
import { lockMoveSources } from '../src/engine/export/move-lock.js';
import { runCli } from './support/cli.js';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import type { FileRecord } from '../src/engine/library/library.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sortLibrary, type SortResult, type SortedFile } from '../src/engine/sort/sort.js';
import { colourModelDir } from './support/models.js';
import { PAST_MTIME_MS, listTree, sha256, snapshot, tempDir, writePhotoTree } from './support/sort-fixtures.js';

const LABELS = ['vermelho', 'verde', 'azul'];

describe('export and undo', () => {
  let model: ClipModel;
  let work: string;
  let photos: string;
  let dest: string;
  let library: Library;

  beforeAll(async () => {
    model = await loadModel(await colourModelDir(), { device: 'cpu' });
  });
  afterAll(async () => {
    await model?.close();
  });

  // Each test gets a fresh photo tree and library, since moves change the tree.
  beforeEach(async () => {
    work = tempDir('export');
    photos = path.join(work, 'fotos');
    dest = path.join(work, 'saída');
    await writePhotoTree(photos);
    library = Library.open(path.join(work, 'lib.sqlite'));
    await indexFolders({ library, model, folders: [photos], thumbnails: false });
    return () => {
      library.close();
      fs.rmSync(work, { recursive: true, force: true });
    };
  });

  const sort = () => sortLibrary({ library, model, labels: LABELS });

  it('copies into label folders, numbering same-named files from different folders, keeping mtime', async () => {
    const before = snapshot(photos);
    const sorted = await sort();
    const atimes = new Map(sorted.results.map((r) => [r.file.path, fs.statSync(r.file.path).atimeMs]));
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    expect(summary.failed).toEqual([]);
    expect(summary.exported).toHaveLength(6);
    expect(listTree(dest).filter((p) => !p.startsWith('.triagem-journal-'))).toEqual([
      'azul/',
      'azul/céu azul.webp',
      'azul/mar.jpg',
      'manifest-sha256.txt',
      'verde/',
      'verde/folha.png',
      'verde/verde claro.jpeg',
      'vermelho/',
      'vermelho/foto (1).jpg',
      'vermelho/foto.jpg',
    ]);
    // Times first: reading a copy may bump its atime (relatime), which is the OS, not the export.
    for (const e of summary.exported) {
      const st = fs.statSync(e.to);
      expect(Math.abs(st.mtimeMs - fs.statSync(e.from).mtimeMs)).toBeLessThan(0.001);
      expect(Math.round(st.mtimeMs)).toBe(PAST_MTIME_MS);
      // Node's utimes takes seconds as a double: times survive to the microsecond, not the nanosecond.
      expect(Math.abs(st.atimeMs - atimes.get(e.from)!)).toBeLessThan(0.001);
      expect(st.mode).toBe(fs.statSync(e.from).mode);
    }
    for (const e of summary.exported) expect(sha256(e.to)).toBe(sha256(e.from));
    // Both foto.jpg files arrived intact, each under one of the two names.
    const reds = ['viagem/foto.jpg', 'trabalho/foto.jpg'].map((rel) => before.get(rel)!.sha256).sort();
    expect([sha256(path.join(dest, 'vermelho/foto.jpg')), sha256(path.join(dest, 'vermelho/foto (1).jpg'))].sort()).toEqual(reds);
    expect(snapshot(photos)).toEqual(before);
  });

  it('never overwrites what is already in the destination', async () => {
    const sorted = await sort();
    fs.mkdirSync(path.join(dest, 'vermelho'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'vermelho', 'foto.jpg'), 'already here');
    fs.writeFileSync(path.join(dest, 'vermelho', 'FOTO (1).jpg'), 'case-only twin');
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    expect(summary.failed).toEqual([]);
    expect(fs.readFileSync(path.join(dest, 'vermelho', 'foto.jpg'), 'utf8')).toBe('already here');
    expect(fs.readFileSync(path.join(dest, 'vermelho', 'FOTO (1).jpg'), 'utf8')).toBe('case-only twin');
    const reds = summary.exported.filter((e) => e.label === 'vermelho').map((e) => path.basename(e.to));
    expect(reds).toHaveLength(2);
    expect(reds).not.toContain('foto.jpg');

    // Undo removes only our copies; the user's files and the folder holding them stay.
    const undo = await undoExport(summary.journal);
    expect(undo.items.every((i) => i.outcome === 'removed')).toBe(true);
    expect(fs.readdirSync(path.join(dest, 'vermelho')).sort()).toEqual(['FOTO (1).jpg', 'foto.jpg']);
    expect(listTree(dest).filter((p) => !p.startsWith('.triagem-journal-'))).toEqual(['vermelho/', 'vermelho/FOTO (1).jpg', 'vermelho/foto.jpg']);
  });

  it('move then undo restores every source byte-identical with its mtime, and undo is idempotent', async () => {
    const before = snapshot(photos);
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move' });
    expect(summary.failed).toEqual([]);
    expect(summary.exported).toHaveLength(6);
    expect(snapshot(photos).size).toBe(0);
    const moved = snapshot(dest);
    for (const e of summary.exported) {
      const rel = path.relative(photos, e.from);
      expect(moved.get(path.relative(dest, e.to))).toEqual(before.get(rel));
    }

    // The journal is JSON lines with every step.
    const { entries } = readJournal(summary.journal, journalKey());
    expect(entries[0]).toMatchObject({ type: 'header', operation: 'move', sources: [fs.realpathSync(photos)] });
    expect(entries.filter((e) => e.type === 'deleted')).toHaveLength(6);
    expect(entries.filter((e) => e.type === 'end')).toHaveLength(1);
    // The manifest, written last, is an output undo removes.
    expect(entries.at(-1)).toMatchObject({ type: 'output', path: path.join(dest, 'manifest-sha256.txt') });
    expect(path.basename(summary.journal)).toMatch(/^\.triagem-journal-.*\.jsonl$/);

    const undo = await undoExport(summary.journal);
    expect(undo.problems).toEqual([]);
    expect(undo.items.map((i) => i.outcome)).toEqual(Array(6).fill('restored'));
    expect(snapshot(photos)).toEqual(before);
    expect(listTree(dest)).toEqual([path.basename(summary.journal)]);
    expect(undo.removedDirs.map((d) => path.basename(d)).sort()).toEqual(['azul', 'verde', 'vermelho']);

    const again = await undoExport(summary.journal);
    expect(again.items.map((i) => i.outcome)).toEqual(Array(6).fill('already-undone'));
    expect(snapshot(photos)).toEqual(before);
  });

  it('undo of a move never overwrites a file now at the original path: restores beside it', async () => {
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move' });
    const taken = path.join(photos, 'viagem', 'foto.jpg');
    fs.writeFileSync(taken, 'a new file the user put there');
    const undo = await undoExport(summary.journal);
    expect(undo.problems).toHaveLength(1);
    expect(undo.problems[0]).toMatchObject({ from: taken, outcome: 'restored-beside', restoredTo: path.join(photos, 'viagem', 'foto (1).jpg') });
    expect(fs.readFileSync(taken, 'utf8')).toBe('a new file the user put there');
    expect(Math.round(fs.statSync(path.join(photos, 'viagem', 'foto (1).jpg')).mtimeMs)).toBe(PAST_MTIME_MS);
  });

  it('does not move a file that changed since indexing, and reports it', async () => {
    const sorted = await sort();
    const changed = path.join(photos, 'verde claro.jpeg');
    const grown = path.join(photos, 'arquivo/fundo/mar.jpg');
    // Same size, different bytes: only the hash can tell.
    const bytes = fs.readFileSync(changed);
    bytes[bytes.length - 3] ^= 0xff;
    fs.writeFileSync(changed, bytes);
    fs.appendFileSync(grown, 'x');
    const changedBefore = sha256(changed);
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move' });
    expect(summary.failed.map((f) => f.path).sort()).toEqual([grown, changed].sort());
    for (const f of summary.failed) expect(f.error).toMatch(/changed since it was indexed/);
    expect(sha256(changed)).toBe(changedBefore);
    expect(fs.existsSync(grown)).toBe(true);
    expect(summary.exported).toHaveLength(4);
    expect(fs.readdirSync(path.join(dest, 'verde'))).toEqual(['folha.png']);
    const { entries } = readJournal(summary.journal, journalKey());
    expect(entries.filter((e) => e.type === 'aborted')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'failed')).toHaveLength(2);
  });

  it('undo of a copy keeps a copy that was edited after export, and one whose original is gone', async () => {
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    const edited = summary.exported.find((e) => e.from.endsWith('folha.png'))!;
    fs.appendFileSync(edited.to, 'edited');
    const orphan = summary.exported.find((e) => e.from.endsWith('mar.jpg'))!;
    fs.rmSync(orphan.from);
    const undo = await undoExport(summary.journal);
    const outcome = (to: string) => undo.items.find((i) => i.to === to)!.outcome;
    expect(outcome(edited.to)).toBe('kept');
    expect(outcome(orphan.to)).toBe('kept');
    expect(undo.items.filter((i) => i.outcome === 'removed')).toHaveLength(4);
    expect(fs.existsSync(edited.to)).toBe(true);
    expect(fs.existsSync(orphan.to)).toBe(true);
    expect(undo.keptDirs.map((d) => path.basename(d)).sort()).toEqual(['azul', 'verde']);
    expect(fs.existsSync(path.join(dest, 'vermelho'))).toBe(false);
  });

  it('removes a results file recorded in the journal only while unchanged', async () => {
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    const csv = path.join(dest, 'triagem-results.csv');
    fs.writeFileSync(csv, resultsCsv(sorted.labels, sorted.results));
    await recordOutput(summary.journal, csv);
    const undo = await undoExport(summary.journal);
    expect(undo.removedOutputs.sort()).toEqual([csv, path.join(dest, 'manifest-sha256.txt')].sort());
    expect(listTree(dest)).toEqual([path.basename(summary.journal)]);
  });

  it('recovers from a crash mid-copy: the partial temporary file goes, a stranger at the final name stays', async () => {
    const sorted = await sort();
    const [first, second] = sorted.results;
    fs.mkdirSync(path.join(dest, 'x'), { recursive: true });
    // Copies are written under a hidden temporary name and only linked to their final name once complete.
    const partial = path.join(dest, 'x', '.triagem-part-1-partial.jpg');
    const stranger = path.join(dest, 'x', 'stranger.jpg');
    fs.writeFileSync(partial, fs.readFileSync(first.file.path).subarray(0, 100));
    fs.writeFileSync(stranger, 'not from the export');
    // What a process killed while copying leaves behind: "begin" and no "placed".
    const journal = JournalWriter.create(dest, { createdAt: Date.now(), operation: 'copy', destination: dest, sources: [photos] }, journalKey());
    journal.write({ type: 'mkdir', path: path.join(dest, 'x') });
    journal.write({ type: 'begin', id: 1, op: 'copy', from: first.file.path, to: path.join(dest, 'x', 'partial.jpg'), tmp: partial, sha256: first.file.sha256, size: first.file.size });
    journal.write({ type: 'begin', id: 2, op: 'copy', from: second.file.path, to: stranger, tmp: path.join(dest, 'x', '.triagem-part-2-stranger.jpg'), sha256: second.file.sha256, size: second.file.size });
    journal.close();
    // ... and half a line.
    fs.appendFileSync(journal.file, '{"type":"placed","i');

    const undo = await undoExport(journal.file);
    expect(undo.deleted).toEqual([partial]);
    expect(undo.items.find((i) => i.to === stranger)?.outcome).toBe('kept');
    expect(fs.existsSync(partial)).toBe(false);
    expect(fs.readFileSync(stranger, 'utf8')).toBe('not from the export');
  });

  it('undoes a move killed right after deleting a source, before journaling it', async () => {
    const before = snapshot(photos);
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move' });
    // What the journal holds if the process died between unlink and its "deleted" line.
    const lines = fs.readFileSync(summary.journal, 'utf8').split('\n');
    const lastDeleted = lines.map((l) => l.includes('"type":"deleted"')).lastIndexOf(true);
    fs.writeFileSync(summary.journal, lines.slice(0, lastDeleted).join('\n') + '\n');
    const undo = await undoExport(summary.journal);
    expect(undo.problems).toEqual([]);
    expect(undo.items.map((i) => i.outcome)).toEqual(Array(6).fill('restored'));
    expect(snapshot(photos)).toEqual(before);
  });

  it('finishes an undo that was killed while copying a file back', async () => {
    const before = snapshot(photos);
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move' });
    const read = readJournal(summary.journal, journalKey());
    const begin = read.entries.find((e) => e.type === 'begin')!;
    const placed = read.entries.find((e) => e.type === 'placed' && e.id === (begin.type === 'begin' ? begin.id : -1));
    if (begin.type !== 'begin' || placed?.type !== 'placed') throw new Error('unreachable');
    // The killed undo had created the original path again and written part of the file.
    fs.writeFileSync(begin.from, fs.readFileSync(placed.to).subarray(0, 50));
    const writer = JournalWriter.append(read, journalKey());
    writer.write({ type: 'undo-begin', id: begin.id, target: begin.from }, true);
    writer.close();
    const undo = await undoExport(summary.journal);
    expect(undo.problems).toEqual([]);
    expect(undo.items.every((i) => i.outcome === 'restored')).toBe(true);
    expect(snapshot(photos)).toEqual(before);
  });

  it('verify-export passes on a fresh export and names a changed, a missing and an unlisted file (exit 1)', async () => {
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    expect(summary.manifest).toBe(path.join(dest, 'manifest-sha256.txt'));
    const ok = await runCli(['verify-export', dest]);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/^verified: 6 of 6 listed files intact/);
    const [a, b] = summary.exported;
    fs.appendFileSync(a.to, 'x');
    fs.rmSync(b.to);
    fs.writeFileSync(path.join(dest, 'azul', 'intrusa.jpg'), 'added later');
    const report = await verifyExport(dest);
    expect(report).toMatchObject({ checked: 6, ok: 4, passed: false, unlisted: [path.join(dest, 'azul', 'intrusa.jpg')] });
    expect(report.changed.map((p) => p.path)).toEqual([a.to]);
    expect(report.missing.map((p) => p.path)).toEqual([b.to]);
    const bad = await runCli(['verify-export', dest, '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ passed: false, ok: 4 });
    // A listed file replaced by a link is not followed.
    fs.rmSync(a.to);
    fs.symlinkSync(summary.exported[2].to, a.to);
    expect((await verifyExport(dest)).unsafe.map((p) => p.path)).toEqual([a.to]);
  });

  it('writes the manifest exactly as GNU sha256sum does, escaping newlines and backslashes', () => {
    const dir = path.join(work, 'nomes');
    const names = ['plain.jpg', 'nova\nlinha.jpg', 'back\\slash.jpg', 'tab\there.jpg'];
    fs.mkdirSync(dir);
    names.forEach((n, i) => fs.writeFileSync(path.join(dir, n), `file ${i}`));
    const entries = names.map((n) => ({ sha256: sha256(path.join(dir, n)), path: n }));
    const text = manifestText(entries);
    expect(parseManifest(text, 'm')).toEqual([...entries].sort((a, b) => (a.path < b.path ? -1 : 1)));
    const gnu = spawnSync('sha256sum', [...names].sort(), { cwd: dir, encoding: 'utf8' });
    if (gnu.error === undefined) {
      expect(text).toBe(gnu.stdout);
      fs.writeFileSync(path.join(dir, 'm.txt'), text);
      expect(spawnSync('sha256sum', ['-c', '--quiet', 'm.txt'], { cwd: dir }).status).toBe(0);
    }
  });

  it('refuses a journal with an edited line, but reads one cut short by a crash', async () => {
    const sorted = await sort();
    const summary = await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'copy' });
    const text = fs.readFileSync(summary.journal, 'utf8');
    fs.writeFileSync(summary.journal, text.slice(0, -25));
    expect(readJournal(summary.journal, journalKey()).entries.length).toBeGreaterThan(3);
    const begin = text.split('\n').find((l) => l.includes('"type":"begin"'))!;
    fs.writeFileSync(summary.journal, text.replace(begin, begin.replace(/"from":"[^"]*"/, `"from":${JSON.stringify(path.join(work, 'outro.jpg'))}`)));
    expect(() => readJournal(summary.journal, journalKey())).toThrow(/not signed by Triagem on this computer, or the journal was edited/);
    await expect(undoExport(summary.journal)).rejects.toThrow(/journal was edited/);
    // Lines moved from another journal break the chain too.
    fs.writeFileSync(summary.journal, text.split('\n').reverse().join('\n'));
    expect(() => readJournal(summary.journal, journalKey())).toThrow(/journal-|not signed|edited/);
  });

  it('a move lock covers folders inside the locked one, and is released after the export', async () => {
    const real = fs.realpathSync(photos);
    const held = await lockMoveSources([real]);
    await expect(lockMoveSources([path.join(real, 'viagem')])).rejects.toThrow(/another Triagem move from .* is running \(process \d+\)/);
    await expect(lockMoveSources([path.dirname(real)])).rejects.toThrow(/another Triagem move/);
    await held.release();
    const again = await lockMoveSources([path.join(real, 'viagem')]);
    await again.release();
    const sorted = await sort();
    await exportSorted({ results: sorted.results, labels: sorted.labels, destination: dest, operation: 'move', sources: [photos] });
    (await lockMoveSources([real])).release();
  });

  it('rejects a file that is not a journal', () => {
    const bogus = path.join(work, 'bogus.jsonl');
    fs.writeFileSync(bogus, '{"hello":1}\n');
    return expect(undoExport(bogus)).rejects.toThrow(/bogus\.jsonl/);
  });
});

describe('CSV', () => {
  const record = (p: string, sha: string): FileRecord => ({
    id: 1,
    path: p,
    folder: path.dirname(p),
    name: path.basename(p),
    ext: 'jpg',
    size: 1,
    mtimeMs: 0,
    contentId: 1,
    sha256: sha,
    format: 'jpeg',
    width: 1,
    height: 1,
    takenAt: null,
    gpsLat: null,
    gpsLon: null,
    camera: null,
  });

  it('writes Smart Image Sorter columns first, then path, sha256 and one score column per label, RFC 4180 quoted', () => {
    const labels = ['arma ou veículo militar', 'carro, moto', 'diz "oi"'];
    const results: SortedFile[] = [
      {
        file: record('/fotos/praia, 2024/fo"to.jpg', 'ab'.repeat(32)),
        label: 'carro, moto',
        score: 0.5,
        scores: { 'arma ou veículo militar': 0.25, 'carro, moto': 0.5, 'diz "oi"': 0.25 },
      },
      {
        file: record('/fotos/linha\nnova.jpg', 'cd'.repeat(32)),
        label: 'unsure',
        score: 1 / 3,
        scores: { 'arma ou veículo militar': 1 / 3, 'carro, moto': 1 / 3, 'diz "oi"': 1 / 3 },
      },
    ];
    const result: Pick<SortResult, 'labels' | 'results'> = { labels, results };
    expect(resultsCsv(result.labels, result.results)).toBe(
      'image_name,label,score,path,sha256,score:arma ou veículo militar,"score:carro, moto","score:diz ""oi"""\r\n' +
        `"fo""to.jpg","carro, moto",0.500000,"/fotos/praia, 2024/fo""to.jpg",${'ab'.repeat(32)},0.250000,0.500000,0.250000\r\n` +
        `"linha\nnova.jpg",unsure,0.333333,"/fotos/linha\nnova.jpg",${'cd'.repeat(32)},0.333333,0.333333,0.333333\r\n`,
    );
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField('plain é')).toBe('plain é');
  });
});

describe('names', () => {
  it('numbers a taken name before its extension', () => {
    expect(numberedName('foto.jpg', 0)).toBe('foto.jpg');
    expect(numberedName('foto.jpg', 1)).toBe('foto (1).jpg');
    expect(numberedName('foto.tar.gz', 2)).toBe('foto.tar (2).gz');
    expect(numberedName('.bashrc', 1)).toBe('.bashrc (1)');
    expect(numberedName('LEIAME', 3)).toBe('LEIAME (3)');
  });

  it('makes label folder names safe everywhere and distinct', () => {
    expect(labelFolderName('arma ou veículo militar')).toBe('arma ou veículo militar');
    expect(labelFolderName('a/b\\c:d*?"<>|')).toBe('a_b_c_d______');
    expect(labelFolderName('fim...  ')).toBe('fim');
    expect(labelFolderName('..')).toBe('_');
    expect(labelFolderName('con')).toBe('_con');
    expect(labelFolderName('satellite image of {}')).toBe('satellite image of');
    expect(labelFolderName('pre\u0301dio')).toBe('prédio');
    expect([...labelFolders(['a/b', 'a:b', 'A_B', 'unsure']).values()]).toEqual(['a_b', 'a_b (1)', 'A_B (2)', 'unsure']);
  });
});
