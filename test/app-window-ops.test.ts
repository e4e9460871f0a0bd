// The contract ops the window uses, through the real service (outputs checked against the contract):
// grid paging, marks and their undo, thresholds, tags, duplicate decisions, export plans with name
// clashes, the folder picker, loupe previews and the model download/import the first run offers.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { createClient, type TriagemClient } from '../src/shared/client.js';
import type { EventPayload } from '../src/shared/contract.js';
import { Library } from '../src/engine/library/library.js';
import { HUB_REVISION, MULTILINGUAL_ID, startModelHub, type ModelHub } from './support/model-hub.js';
import { colourModelDir } from './support/models.js';
import { tempDir, writePhoto, type Colour } from './support/sort-fixtures.js';

const PHOTOS: Record<string, Colour> = {
  'pauta/vermelha-1.jpg': 'red',
  'pauta/vermelha-2.jpg': 'red',
  'pauta/vermelha-3.png': 'red',
  'pauta/verde-1.jpg': 'green',
  'pauta/verde-2.jpg': 'green',
  'pauta/sub/azul.jpg': 'blue',
  'pauta/sub/amarela.jpg': 'yellow',
  'outra/roxa.jpg': 'purple',
};
/** Between red and yellow: the photo the model is least sure about. */
const ORANGE: [number, number, number] = [250, 140, 20];
const LABELS = ['vermelho', 'verde', 'azul', 'amarelo', 'roxo'];

function localClient(service: EngineService): TriagemClient {
  return createClient({
    invoke: (op, input) => service.invoke(op, input),
    on: (event, listener) => service.onEvent((name, payload) => name === event && listener(payload as never)),
  });
}

describe('window ops over the real service', () => {
  let root: string;
  let photos: string;
  let service: EngineService;
  let client: TriagemClient;
  const byName = new Map<string, number>();

  beforeAll(async () => {
    root = tempDir('window-ops');
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    photos = path.join(root, 'fotos');
    let seed = 1;
    for (const [rel, colour] of Object.entries(PHOTOS)) await writePhoto(path.join(photos, rel), colour, seed++);
    await writePhoto(path.join(photos, 'ambigua/laranja.jpg'), ORANGE, 99);
    // The same bytes twice: an exact duplicate.
    fs.mkdirSync(path.join(photos, 'copia'));
    fs.copyFileSync(path.join(photos, 'pauta/verde-1.jpg'), path.join(photos, 'copia/verde-1.jpg'));
    // A large photo, for the loupe preview.
    await sharp({ create: { width: 2400, height: 1600, channels: 3, background: { r: 240, g: 235, b: 30 } } }).jpeg().toFile(path.join(photos, 'grande.jpg'));
    service = createEngineService({ libraryPath: path.join(root, 'library.sqlite'), modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
    client = localClient(service);
    await client.invoke('index.start', { folders: [photos], model: 'colour' });
    const all = await client.invoke('library.query', {});
    for (const item of (await client.invoke('library.items', { fileIds: all.fileIds })).items) byName.set(path.relative(photos, item.path), item.fileId);
  });

  afterAll(async () => {
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const id = (rel: string): number => {
    const found = byName.get(rel);
    if (found === undefined) throw new Error(`no file ${rel}`);
    return found;
  };

  it('app.status reports the library, and no job', async () => {
    const status = await client.invoke('app.status', {});
    expect(status).toMatchObject({ library: { exists: true }, indexJob: null, download: null, latestRunId: null });
  });

  it('pages the library by path, name and date, and names every file once', async () => {
    const byPath = await client.invoke('library.query', { sort: 'path' });
    expect(byPath.total).toBe(Object.keys(PHOTOS).length + 3);
    const items = (await client.invoke('library.items', { fileIds: byPath.fileIds })).items;
    expect(items.map((i) => i.path)).toEqual([...items.map((i) => i.path)].sort());
    const byNameDesc = await client.invoke('library.query', { sort: 'name', descending: true });
    const names = (await client.invoke('library.items', { fileIds: byNameDesc.fileIds })).items.map((i) => i.name);
    expect(names[0]).toBe('vermelha-3.png');
    const inFolder = await client.invoke('library.query', { filters: { folders: [path.join(photos, 'pauta/sub')] } });
    expect(inFolder.total).toBe(2);
    // Tiles come back in the order asked for, unknown ids left out.
    const some = [id('outra/roxa.jpg'), 999_999, id('pauta/verde-1.jpg')];
    expect((await client.invoke('library.items', { fileIds: some })).items.map((i) => i.name)).toEqual(['roxa.jpg', 'verde-1.jpg']);
  });

  it('describes one file: metadata, copies, sha256', async () => {
    const details = await client.invoke('library.file', { fileId: id('pauta/verde-1.jpg') });
    expect(details).toMatchObject({ name: 'verde-1.jpg', folder: path.join(photos, 'pauta'), present: true, width: 48, height: 36, gps: null });
    expect(details.copies).toEqual([path.join(photos, 'copia/verde-1.jpg')]);
    expect(details.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('sorts, then reviews least confident first, with marks that undo', async () => {
    const sorted = await client.invoke('sort.run', { labels: LABELS, limit: 0 });
    const { summary } = await client.invoke('review.summary', {});
    expect(summary?.runId).toBe(sorted.runId);
    expect(summary?.labels).toEqual(LABELS);
    const queue = await client.invoke('library.query', { sort: 'score', filters: { label: 'vermelho', onePerContent: true } });
    expect(queue.total).toBeGreaterThanOrEqual(3);
    const red = summary?.perLabel.find((l) => l.label === 'vermelho');
    expect(red).toMatchObject({ suggested: queue.total, reviewed: 0, final: queue.total, threshold: 0 });
    expect(red?.histogram.reduce((a, b) => a + b, 0)).toBe(queue.total);
    const tiles = (await client.invoke('library.items', { fileIds: queue.fileIds })).items;
    const scores = tiles.map((t) => t.suggestion?.score ?? NaN);
    expect(scores).toEqual([...scores].sort((a, b) => a - b));
    expect(tiles.every((t) => t.suggestion?.label === 'vermelho' && t.mark === null)).toBe(true);

    // The green photo exists twice: one tile per content in review queues.
    expect((await client.invoke('library.query', { filters: { label: 'verde', onePerContent: true } })).total).toBe(2);
    expect((await client.invoke('library.query', { filters: { label: 'verde' } })).total).toBe(3);

    const accepted = await client.invoke('review.mark', { fileIds: [tiles[0].fileId, tiles[1].fileId], action: 'accept' });
    expect(accepted.marks.map((m) => m.label)).toEqual(['vermelho', 'vermelho']);
    const moved = await client.invoke('review.mark', { fileIds: [tiles[2].fileId], action: 'label', label: 'roxo' });
    expect(moved.batch).toBeGreaterThan(accepted.batch);
    await client.invoke('review.mark', { fileIds: [tiles[2].fileId], action: 'reject' });
    let after = (await client.invoke('review.summary', {})).summary;
    expect(after).toMatchObject({ reviewed: 3, rejected: 1 });
    expect(after?.perLabel.find((l) => l.label === 'vermelho')).toMatchObject({ suggested: queue.total, reviewed: 3, final: queue.total - 1 });
    expect(after?.perLabel.find((l) => l.label === 'roxo')).toMatchObject({ suggested: 1, final: 2 });

    // Reviewed / flag filters.
    expect((await client.invoke('library.query', { filters: { reviewed: true } })).total).toBe(3);
    expect((await client.invoke('library.query', { filters: { flag: 'reject' } })).total).toBe(1);

    // Undo goes back one batch at a time: first the reject, then the relabel.
    const undone = await client.invoke('review.undo', {});
    expect(undone.marks).toEqual([{ contentId: tiles[2].contentId, label: 'roxo', flag: null }]);
    await client.invoke('review.undo', {});
    after = (await client.invoke('review.summary', {})).summary;
    expect(after).toMatchObject({ reviewed: 2, rejected: 0 });

    // Confirmed labels are stored as few-shot examples.
    const lib = Library.open(path.join(root, 'library.sqlite'));
    try {
      expect(lib.confirmedLabels().map((e) => [e.contentId, e.label, e.runId])).toEqual(
        [tiles[0], tiles[1]].map((t) => [t.contentId, 'vermelho', sorted.runId]).sort((a, b) => Number(a[0]) - Number(b[0])),
      );
    } finally {
      lib.close();
    }
    await client.invoke('review.mark', { fileIds: [tiles[0].fileId], action: 'clear' });
    expect((await client.invoke('library.items', { fileIds: [tiles[0].fileId] })).items[0].mark).toBeNull();
    await expect(client.invoke('review.mark', { fileIds: [tiles[0].fileId], action: 'label' })).rejects.toMatchObject({ code: 'invalid-input' });
  });

  it('per-label thresholds move low scores to "unsure", and the histogram predicts how many', async () => {
    const { summary } = await client.invoke('review.summary', {});
    if (!summary) throw new Error('no run');
    // The orange photo is the one scored well below certainty; put the threshold just above it.
    const lowest = (bins: number[]) => bins.findIndex((n) => n > 0);
    const unsureLabel = summary.perLabel.filter((l) => l.suggested > 0).sort((a, b) => lowest(a.histogram) - lowest(b.histogram))[0];
    const bins = unsureLabel.histogram;
    const cut = lowest(bins);
    expect(cut).toBeLessThan(900);
    const threshold = (cut + 1) / bins.length;
    const predicted = bins.slice(0, cut + 1).reduce((a, b) => a + b, 0);
    const next = (await client.invoke('review.thresholds', { runId: summary.runId, thresholds: { [unsureLabel.label]: threshold } })).summary;
    expect(next.perLabel.find((l) => l.label === unsureLabel.label)).toMatchObject({ threshold, suggested: unsureLabel.suggested - predicted });
    expect(next.unsure.suggested).toBe(summary.unsure.suggested + predicted);
    const unsure = await client.invoke('library.query', { filters: { label: 'unsure' } });
    expect((await client.invoke('library.items', { fileIds: unsure.fileIds })).items.map((i) => i.name)).toContain('laranja.jpg');
    await client.invoke('review.thresholds', { runId: summary.runId, thresholds: { [unsureLabel.label]: 0 } });
    await expect(client.invoke('review.thresholds', { runId: summary.runId, thresholds: { gato: 0.2 } })).rejects.toMatchObject({ code: 'unknown-label' });
  });

  it('tags a selection and filters by tag', async () => {
    const change = await client.invoke('tags.change', { action: 'add', tag: 'capa', fileIds: [id('outra/roxa.jpg'), id('pauta/sub/azul.jpg')] });
    expect(change).toMatchObject({ changed: 2, unchanged: 0 });
    expect((await client.invoke('tags.list', {})).tags).toEqual([{ tag: 'capa', contents: 2 }]);
    expect((await client.invoke('library.query', { filters: { tags: ['capa'] } })).total).toBe(2);
    expect((await client.invoke('library.items', { fileIds: [id('outra/roxa.jpg')] })).items[0].tags).toEqual(['capa']);
    await client.invoke('tags.change', { action: 'remove', tag: 'capa', fileIds: [id('pauta/sub/azul.jpg')] });
    expect((await client.invoke('library.query', { filters: { tags: ['capa'] } })).total).toBe(1);
  });

  it('reviews duplicate groups: keeper suggestion, "not duplicates" remembered, resolved groups out', async () => {
    const first = await client.invoke('duplicates.review', { threshold: 0.99 });
    // Same-colour photos embed alike in the colour model: the two greens and the copy are one group.
    const greens = first.groups.find((g) => g.files.some((f) => f.path === path.join(photos, 'copia/verde-1.jpg')));
    expect(greens?.files.map((f) => path.relative(photos, f.path)).sort()).toEqual(['copia/verde-1.jpg', 'pauta/verde-1.jpg', 'pauta/verde-2.jpg']);
    const reds = first.groups.find((g) => g.files.some((f) => f.name === 'vermelha-1.jpg'));
    if (!greens || !reds) throw new Error('expected a green and a red group');
    expect(reds.files.map((f) => f.fileId)).toContain(reds.suggested);
    // Same size, same dates: the copy made later is not the suggested keeper.
    expect(greens.suggested).toBe(id('pauta/verde-1.jpg'));

    await client.invoke('duplicates.decide', { action: 'not-duplicates', fileIds: reds.files.map((f) => f.fileId) });
    const trash = greens.files.find((f) => f.name === 'verde-1.jpg' && f.folder.endsWith('copia'));
    if (!trash) throw new Error('no copy');
    const keep = greens.files.filter((f) => f !== trash);
    await client.invoke('duplicates.decide', { action: 'resolve', keep: keep.map((f) => f.fileId), trash: [trash.fileId] });
    const exact = greens;
    const second = await client.invoke('duplicates.review', { threshold: 0.99 });
    expect(second.groups.map((g) => g.key)).not.toContain(reds.key);
    expect(second.groups.map((g) => g.key)).not.toContain(exact.key);
    expect(second).toMatchObject({ dismissed: 1, resolved: 1 });
    const withResolved = await client.invoke('duplicates.review', { threshold: 0.99, includeResolved: true });
    expect(withResolved.groups.find((g) => g.key === exact.key)?.files.find((f) => f.fileId === trash.fileId)?.choice).toBe('trash');
    expect((await client.invoke('library.items', { fileIds: [trash.fileId] })).items[0].duplicate).toBe('trash');
    await expect(client.invoke('duplicates.decide', { action: 'resolve', keep: [], trash: [] })).rejects.toMatchObject({ code: 'usage' });
    await expect(client.invoke('duplicates.decide', { action: 'resolve', keep: [trash.fileId], trash: [trash.fileId] })).rejects.toMatchObject({ code: 'usage' });

    // Reset brings the red group back.
    await client.invoke('duplicates.decide', { action: 'reset', fileIds: reds.files.map((f) => f.fileId) });
    expect((await client.invoke('duplicates.review', { threshold: 0.99 })).groups.map((g) => g.key)).toContain(reds.key);
  });

  it('previews an export with every name clash, writes exactly that, and undoes it', async () => {
    const dest = path.join(root, 'saida');
    // A file already at the target name, and two selected photos that share a name.
    fs.mkdirSync(path.join(dest, 'capa'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'capa', 'roxa.jpg'), 'someone else’s file');
    const selection = [id('outra/roxa.jpg'), id('pauta/verde-1.jpg'), id('copia/verde-1.jpg'), id('pauta/sub/azul.jpg')];
    const input = { scope: { kind: 'selection' as const, fileIds: selection, folder: 'capa' }, destination: dest, operation: 'copy' as const };
    const plan = await client.invoke('export.preview', input);
    // copia/verde-1.jpg was set aside in duplicate review: it stays out unless asked for.
    expect(plan).toMatchObject({ files: 3, leftOut: 1, clashes: 1, csv: path.join(dest, 'triagem-results.csv') });
    expect(plan.items.find((i) => i.from.endsWith('roxa.jpg'))).toMatchObject({ to: path.join(dest, 'capa', 'roxa (1).jpg'), clash: 'exists' });
    const withAll = await client.invoke('export.preview', { ...input, includeSetAside: true });
    expect(withAll).toMatchObject({ files: 4, clashes: 2 });
    expect(withAll.items.filter((i) => i.clash === 'same-name').map((i) => path.basename(i.to))).toEqual(['verde-1 (1).jpg']);

    const done = await client.invoke('export.start', input);
    expect(done).toMatchObject({ done: 3, failed: [], csv: plan.csv });
    for (const item of plan.items) expect(fs.existsSync(item.to), item.to).toBe(true);
    expect(fs.readFileSync(path.join(dest, 'capa', 'roxa.jpg'), 'utf8')).toBe('someone else’s file');
    expect(fs.readFileSync(done.csv, 'utf8').split('\r\n')[0]).toBe('image_name,label,score,path,sha256');
    if (!done.journal) throw new Error('a copy writes a journal');
    const undone = await client.invoke('export.undo', { journal: done.journal });
    expect(undone).toMatchObject({ undone: 3, problems: [] });
    expect(fs.readdirSync(path.join(dest, 'capa'))).toEqual(['roxa.jpg']);
    expect(fs.existsSync(done.csv)).toBe(false);
  });

  it('exports a label with its confirmed marks, and rejects stay out', async () => {
    const dest = path.join(root, 'saida-rotulo');
    const verdes = (await client.invoke('library.query', { filters: { finalLabel: 'verde', onePerContent: true } })).fileIds;
    await client.invoke('review.mark', { fileIds: [verdes[0]], action: 'reject' });
    const plan = await client.invoke('export.preview', { scope: { kind: 'label', label: 'verde' }, destination: dest, operation: 'csv' });
    expect(plan.folders).toEqual([{ label: 'verde', folder: 'verde', files: plan.files }]);
    expect(plan.leftOut).toBeGreaterThanOrEqual(1);
    const csvOnly = await client.invoke('export.start', { scope: { kind: 'label', label: 'verde' }, destination: dest, operation: 'csv' });
    expect(csvOnly.journal).toBeNull();
    expect(fs.readdirSync(dest)).toEqual(['triagem-results.csv']);
    await client.invoke('review.undo', {});
  });

  it('lists folders for the browser-mode picker', async () => {
    const listing = await client.invoke('folders.list', { path: photos });
    expect(listing.parent).toBe(root);
    expect(listing.entries.slice(0, 4).map((e) => [e.name, e.kind])).toEqual([
      ['ambigua', 'folder'],
      ['copia', 'folder'],
      ['outra', 'folder'],
      ['pauta', 'folder'],
    ]);
    expect(listing.entries.find((e) => e.name === 'grande.jpg')?.kind).toBe('image');
    expect(listing.roots[0].name).toBe('~');
    await expect(client.invoke('folders.list', { path: path.join(photos, 'nao-existe') })).rejects.toMatchObject({ code: 'not-found' });
  });

  it('makes a ~1440 px loupe preview once and serves it from the cache after', async () => {
    const big = (await client.invoke('library.items', { fileIds: [id('grande.jpg')] })).items[0];
    const p = await client.invoke('preview.get', { sha256: big.sha256 });
    const meta = await sharp(p.path).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 1440, 960]);
    const mtime = fs.statSync(p.path).mtimeMs;
    const again = await client.invoke('preview.get', { contentId: big.contentId, bytes: true });
    expect(fs.statSync(again.path).mtimeMs).toBe(mtime);
    expect(Buffer.from(again.base64 ?? '', 'base64').subarray(8, 12).toString('latin1')).toBe('WEBP');
  });

  it('lists presets in both languages', async () => {
    const { presets } = await client.invoke('presets.list', {});
    expect(presets.map((p) => p.language)).toEqual(expect.arrayContaining(['pt-BR', 'en']));
  });
});

describe('first-run model download and import', () => {
  let root: string;
  let hub: ModelHub;
  let service: EngineService;
  let client: TriagemClient;
  const saved = { catalog: process.env.TRIAGEM_CATALOG, endpoint: process.env.TRIAGEM_HF_ENDPOINT };

  beforeAll(async () => {
    root = tempDir('window-models');
    hub = await startModelHub(path.join(root, 'hub'));
    process.env.TRIAGEM_CATALOG = hub.catalogFile;
    process.env.TRIAGEM_HF_ENDPOINT = hub.hub.endpoint;
    service = createEngineService({ libraryPath: path.join(root, 'library.sqlite'), modelsDir: path.join(root, 'models'), device: 'cpu', threads: 1, checkOutputs: true, locale: 'pt-BR' });
    client = localClient(service);
  });

  afterAll(async () => {
    await service?.close();
    await hub?.close();
    for (const [k, v] of [['TRIAGEM_CATALOG', saved.catalog], ['TRIAGEM_HF_ENDPOINT', saved.endpoint]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('lists the catalog with sizes and which model is the default for Portuguese', async () => {
    const list = await client.invoke('models.list', {});
    const multi = list.models.find((m) => m.id === MULTILINGUAL_ID);
    expect(multi).toMatchObject({ installed: false, defaultFor: ['pt'], defaultPrecision: 'quantized' });
    expect(multi?.downloadBytes?.quantized).toBeGreaterThan(1000);
  });

  it('downloads with progress events, cancels, and resumes where it stopped', async () => {
    const progress: EventPayload<'models.progress'>[] = [];
    const off = client.on('models.progress', (p) => progress.push(p));
    const STALLED = 'onnx/text_model_quantized.onnx';
    hub.hub.setMode(STALLED, { kind: 'stall', afterBytes: 65_536, times: 1 });
    const running = client.invoke('models.download', { id: MULTILINGUAL_ID }).then(
      () => new Error('finished although cancelled'),
      (err: unknown) => err,
    );
    const part = path.join(root, 'models', '.downloads', `${MULTILINGUAL_ID}-${HUB_REVISION.slice(0, 12)}`, `${STALLED}.part`);
    await expect.poll(() => (fs.existsSync(part) ? fs.statSync(part).size : 0), { timeout: 20_000 }).toBe(65_536);
    expect(progress.length).toBeGreaterThan(0);
    expect((await client.invoke('app.status', {})).download?.id).toBe(MULTILINGUAL_ID);
    expect(await client.invoke('models.cancel', {})).toEqual({ cancelled: true });
    expect(await running).toMatchObject({ code: 'cancelled' });
    expect((await client.invoke('app.status', {})).download).toBeNull();

    hub.hub.resetModes();
    hub.hub.requests.length = 0;
    const done = await client.invoke('models.download', { id: MULTILINGUAL_ID });
    off();
    expect(done).toMatchObject({ id: MULTILINGUAL_ID, alreadyInstalled: false, precisions: ['quantized'] });
    // The stalled file resumed from its partial bytes rather than starting over.
    expect(hub.hub.requests.some((r) => r.path === STALLED && r.range === 'bytes=65536-')).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'validating' });
    expect((await client.invoke('models.list', {})).models.find((m) => m.id === MULTILINGUAL_ID)?.installed).toBe(true);
  });

  it('imports a model folder for offline laptops, checksummed into its manifest', async () => {
    const imported = await client.invoke('models.import', { folder: await colourModelDir(), id: 'cores' });
    expect(imported.id).toBe('cores');
    expect(imported.files).toBeGreaterThan(3);
    await expect(client.invoke('models.import', { folder: path.join(root, 'nada') })).rejects.toMatchObject({ code: expect.any(String) });
  });
});
