// What the window needs from OCR and from damaged-image warnings, through the real service (outputs
// checked against the contract): the library's OCR switch and a plain index run honouring it, the
// OCR phase in progress events, the recognised text (or why there is none) in a file's details, a
// search of images' text with highlighted snippets, and damaged images marked on their tiles, in
// their details and in the failures list, still after a restart. Cancelling in the OCR phase.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { createClient, type TriagemClient } from '../src/shared/client.js';
import type { EventPayload } from '../src/shared/contract.js';
import { damagedJpeg } from './support/damaged-images.js';
import { colourModelDir } from './support/models.js';
import { tempDir, writePhoto } from './support/sort-fixtures.js';
import { photoLike, renderTextImage, SENTENCES_EN, SENTENCES_PT } from './support/text-images.js';

function localClient(service: EngineService): TriagemClient {
  return createClient({
    invoke: (op, input) => service.invoke(op, input),
    on: (event, listener) => service.onEvent((name, payload) => name === event && listener(payload as never)),
  });
}

describe('OCR and damaged images in the window ops', () => {
  let root: string;
  let photos: string;
  let modelsDir: string;
  let libraryPath: string;
  let service: EngineService;
  let client: TriagemClient;
  const savedDataDir = process.env.TRIAGEM_DATA_DIR;
  const ids = new Map<string, number>();

  function open(): void {
    service = createEngineService({ libraryPath, modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
    client = localClient(service);
  }

  async function fileId(name: string): Promise<number> {
    if (ids.size === 0) {
      const all = await client.invoke('library.query', {});
      for (const item of (await client.invoke('library.items', { fileIds: all.fileIds })).items) ids.set(path.basename(item.path), item.fileId);
    }
    const id = ids.get(name);
    if (id === undefined) throw new Error(`no file ${name}`);
    return id;
  }

  beforeAll(async () => {
    root = tempDir('ocr-window');
    process.env.TRIAGEM_DATA_DIR = path.join(root, 'data');
    modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    photos = path.join(root, 'fotos');
    fs.mkdirSync(photos, { recursive: true });
    fs.writeFileSync(path.join(photos, 'protesto.png'), (await renderTextImage({ text: SENTENCES_PT[0], size: 24, width: 640 })).image);
    fs.writeFileSync(path.join(photos, 'paisagem.jpg'), await photoLike({ seed: 4, width: 320, height: 240 }));
    fs.writeFileSync(path.join(photos, 'danificada.jpg'), await damagedJpeg());
    await writePhoto(path.join(photos, 'verde.jpg'), 'green', 3);
    libraryPath = path.join(root, 'library.sqlite');
    open();
  });

  afterAll(async () => {
    await service?.close();
    if (savedDataDir === undefined) delete process.env.TRIAGEM_DATA_DIR;
    else process.env.TRIAGEM_DATA_DIR = savedDataDir;
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('OCR is off in a new library: an index run reads no text, and the details say "not read"', async () => {
    expect(await client.invoke('library.ocr', {})).toEqual({ enabled: null, langs: ['por', 'eng'], counts: { text: 0, empty: 0, gated: 0, failed: 0 } });
    const out = await client.invoke('index.start', { folders: [photos], model: 'colour' });
    expect(out.ocr).toBeUndefined();
    expect(out.indexed).toBe(4);
    const details = await client.invoke('library.file', { fileId: await fileId('protesto.png') });
    expect(details.ocr).toBeNull();
    expect(details.warning).toBeNull();
  });

  it('a damaged image that decodes is reported, and marked on its tile, in its details and in the failures list', async () => {
    const damaged = await fileId('danificada.jpg');
    const details = await client.invoke('library.file', { fileId: damaged });
    expect(details.warning).toMatch(/damaged image data, decoded with errors/);
    const items = (await client.invoke('library.items', { fileIds: [damaged, await fileId('verde.jpg')] })).items;
    expect(items.find((i) => i.fileId === damaged)?.warning).toMatch(/damaged image data, decoded with errors/);
    expect(items.find((i) => i.fileId !== damaged)?.warning).toBeUndefined();
    const listed = await client.invoke('index.failures', { folders: [photos] });
    expect(listed.failures).toEqual([]);
    expect(listed.warnings.map((w) => path.basename(w.path))).toEqual(['danificada.jpg']);
    expect((await client.invoke('index.failures', { folders: [path.join(root, 'elsewhere')] })).warnings).toEqual([]);
  });

  it('turning OCR on is remembered, and a plain index run (a drop) then reads the text, with an OCR phase in its progress', async () => {
    expect(await client.invoke('library.ocr', { enabled: true })).toMatchObject({ enabled: true, langs: ['por', 'eng'] });
    const events: EventPayload<'index.progress'>[] = [];
    const off = client.on('index.progress', (p) => events.push(p));
    const out = await client.invoke('index.start', { folders: [photos] });
    off();
    expect(out.unchanged).toBe(4);
    expect(out.ocr).toMatchObject({ pending: 4, failed: [], cancelled: false });
    expect(out.ocr?.withText).toBeGreaterThanOrEqual(1);
    const ocrEvents = events.filter((e) => e.phase === 'ocr');
    expect(ocrEvents.length).toBeGreaterThan(0);
    expect(ocrEvents.at(-1)).toMatchObject({ done: 4, total: 4 });
    expect(ocrEvents.at(-1)?.withText).toBe(out.ocr?.withText);
    const state = await client.invoke('library.ocr', {});
    expect(state.enabled).toBe(true);
    expect(state.counts.text + state.counts.empty + state.counts.gated).toBe(4);
  });

  it('a file\'s details carry its recognised text with languages and confidence, or why there is none', async () => {
    const text = await client.invoke('library.file', { fileId: await fileId('protesto.png') });
    expect(text.ocr).toMatchObject({ status: 'text', langs: ['por', 'eng'], error: null });
    expect(text.ocr?.text).toMatch(/manifesta..o/i);
    expect(text.ocr?.text).toMatch(/Paulista/);
    expect(text.ocr?.confidence).toBeGreaterThan(50);
    const photo = await client.invoke('library.file', { fileId: await fileId('paisagem.jpg') });
    expect(['gated', 'empty']).toContain(photo.ocr?.status);
    expect(photo.ocr?.text).toBe('');
  });

  it('a text-only search finds the words with a highlighted snippet', async () => {
    const out = await client.invoke('search.text', { query: '', text: 'manifestacao paulista' });
    expect(out.hits.map((h) => path.basename(h.path))).toEqual(['protesto.png']);
    const snippet = out.hits[0].ocrSnippet;
    expect(snippet).toBeDefined();
    const marked = snippet?.highlights.map(([s, e]) => snippet.text.slice(s, e).toLowerCase());
    expect(marked).toEqual(expect.arrayContaining(['paulista']));
    expect(marked?.some((m) => m.startsWith('manifesta'))).toBe(true);
  });

  it('the damage warning survives a restart; turning OCR off is remembered', async () => {
    await service.close();
    open();
    ids.clear();
    const damaged = await fileId('danificada.jpg');
    expect((await client.invoke('library.file', { fileId: damaged })).warning).toMatch(/damaged image data/);
    expect((await client.invoke('library.items', { fileIds: [damaged] })).items[0].warning).toMatch(/damaged image data/);
    expect((await client.invoke('library.ocr', {})).enabled).toBe(true);
    expect((await client.invoke('library.ocr', { enabled: false })).enabled).toBe(false);
    fs.writeFileSync(path.join(photos, 'nova.png'), (await renderTextImage({ text: SENTENCES_EN[1], size: 24, width: 640 })).image);
    const out = await client.invoke('index.start', { folders: [photos] });
    expect(out.indexed).toBe(1);
    expect(out.ocr).toBeUndefined();
    ids.clear();
    expect((await client.invoke('library.file', { fileId: await fileId('nova.png') })).ocr).toBeNull();
  });

  it('a damaged file replaced by a clean one is no longer listed', async () => {
    // The warning belongs to the old bytes, which no present file holds any more.
    await writePhoto(path.join(photos, 'danificada.jpg'), 'red', 9);
    await client.invoke('index.start', { folders: [photos] });
    expect((await client.invoke('index.failures', {})).warnings).toEqual([]);
  });

  it('cancel works in the OCR phase', async () => {
    const more = path.join(root, 'mais');
    fs.mkdirSync(more);
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(more, `texto-${i}.png`), (await renderTextImage({ text: SENTENCES_PT[(i + 1) % SENTENCES_PT.length], size: 22, width: 600, seed: i })).image);
    let cancelled = false;
    const off = client.on('index.progress', (p) => {
      if (p.phase === 'ocr' && !cancelled) {
        cancelled = true;
        void client.invoke('index.cancel', {});
      }
    });
    const out = await client.invoke('index.start', { folders: [more], ocr: true });
    off();
    expect(cancelled).toBe(true);
    expect(out.cancelled).toBe(true);
    const counts = (await client.invoke('library.ocr', {})).counts;
    // Stopped before reading all six.
    expect(counts.text + counts.empty + counts.gated).toBeLessThan(4 + 1 + 6);
    expect((await client.invoke('app.status', {})).indexJob).toBeNull();
  });
});
