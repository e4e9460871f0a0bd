// The real OCR engine (tesseract.js workers with the Portuguese and English data from npm): accuracy
// on clean rendered text, the pool's lifecycle, and the OCR stage over an indexed library. OCR is
// slow on two cores, so the images are few and small and one pool serves the accuracy tests.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { OcrPool } from '../src/engine/ocr/pool.js';
import { gateLook, ocrInput, ocrScale } from '../src/engine/ocr/prepare.js';
import { ocrPending, ocrSettings, type OcrProgress } from '../src/engine/ocr/stage.js';
import { pageText } from '../src/engine/ocr/text.js';
import { tempDir } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { characterErrorRate, FONTS, photoLike, renderTextImage, SENTENCES_EN, SENTENCES_PT } from './support/text-images.js';

async function recognise(pool: OcrPool, image: Buffer): Promise<string> {
  const look = await gateLook(image, 'rendered');
  const input = await ocrInput(image, 'rendered', look, ocrScale(look));
  return pageText(await pool.recognize(input.image)).text;
}

describe('OCR engine', () => {
  let dir: string;
  let pool: OcrPool;

  beforeAll(() => {
    dir = tempDir('ocr-engine');
    pool = new OcrPool({ langs: ['por', 'eng'], dataDir: path.join(dir, 'data'), size: 1 });
  });

  afterAll(async () => {
    await pool?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts no worker until the first image', () => {
    expect(pool.started).toBe(0);
    expect(fs.existsSync(path.join(dir, 'data'))).toBe(false);
  });

  it('reads clean rendered Portuguese and English with CER ≤ 3 %', async () => {
    const cases = [
      { text: SENTENCES_PT[0], size: 22, font: FONTS[0] },
      { text: SENTENCES_PT[3], size: 18, font: FONTS[1] },
      { text: SENTENCES_PT[6], size: 26, font: FONTS[3] },
      { text: SENTENCES_EN[0], size: 20, font: FONTS[2] },
      { text: SENTENCES_EN[3], size: 16, font: FONTS[0] },
    ];
    let edits = 0;
    let chars = 0;
    for (const spec of cases) {
      const { image, text } = await renderTextImage({ ...spec, width: 640 });
      const read = await recognise(pool, image);
      const cer = characterErrorRate(text, read);
      edits += cer * text.length;
      chars += text.length;
      expect(cer, `${text} → ${read}`).toBeLessThanOrEqual(0.06);
    }
    expect(edits / chars).toBeLessThanOrEqual(0.03);
    expect(pool.started).toBe(1);
  });

  it('withdraws a queued image and stops a running one when asked, then carries on', async () => {
    const prepare = async (image: Buffer) => {
      const look = await gateLook(image, 'x');
      return (await ocrInput(image, 'x', look, ocrScale(look))).image;
    };
    // A page of small text takes seconds to read, so it is still running when stopped.
    const page = await prepare((await renderTextImage({ text: [...SENTENCES_PT, ...SENTENCES_EN].join(' '), size: 11, width: 900 })).image);
    const { image, text } = await renderTextImage({ text: SENTENCES_PT[1], size: 20, width: 640 });
    const input = await prepare(image);
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.recognize(page, { signal: running.signal });
    const second = pool.recognize(input, { signal: queued.signal });
    queued.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 300));
    running.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    const startedBefore = pool.started;
    expect(characterErrorRate(text, pageText(await pool.recognize(input)).text)).toBeLessThanOrEqual(0.05);
    // Stopping a recognition in progress costs its worker: a fresh one took over.
    expect(pool.started).toBe(startedBefore + 1);
    const pre = new AbortController();
    pre.abort();
    await expect(pool.recognize(input, { signal: pre.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('reports a time limit overrun as a failure and recovers', async () => {
    const slow = new OcrPool({ langs: ['por'], dataDir: path.join(dir, 'data'), size: 1, jobTimeoutMs: 1 });
    try {
      const { image } = await renderTextImage({ text: SENTENCES_PT[2], size: 20, width: 640 });
      await expect(slow.recognize(image)).rejects.toThrow(/longer than 0 s/);
    } finally {
      await slow.close();
    }
    await expect(slow.recognize(Buffer.alloc(1))).rejects.toThrow(/closed/);
  });
});

describe('OCR stage over an indexed library', () => {
  let root: string;
  let photos: string;
  let library: Library;
  let model: ClipModel;
  const rel = (p: string) => path.relative(photos, p);

  beforeAll(async () => {
    root = tempDir('ocr-stage');
    photos = path.join(root, 'fotos');
    fs.mkdirSync(photos, { recursive: true });
    fs.writeFileSync(path.join(photos, 'nota.png'), (await renderTextImage({ text: SENTENCES_PT[2], size: 20, width: 560 })).image);
    fs.writeFileSync(path.join(photos, 'aviso.jpg'), (await renderTextImage({ text: SENTENCES_PT[6], size: 20, width: 560, format: 'jpeg' })).image);
    fs.writeFileSync(path.join(photos, 'praia.jpg'), await photoLike({ seed: 9, width: 320, height: 240 }));
    fs.copyFileSync(path.join(photos, 'nota.png'), path.join(photos, 'nota (cópia).png'));
    model = await loadModel(await colourModelDir(), { device: 'cpu' });
    library = Library.open(path.join(root, 'lib.sqlite'));
    expect((await indexFolders({ library, model, folders: [photos], thumbnails: false })).failed).toEqual([]);
  });

  afterAll(async () => {
    library?.close();
    await model?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('reads each content once, sets text-free photos aside, records failures with the file, and redoes only those', async () => {
    // Edited after indexing: its bytes no longer are the content the library knows.
    fs.writeFileSync(path.join(photos, 'aviso.jpg'), (await renderTextImage({ text: SENTENCES_EN[1], size: 20, width: 560, format: 'jpeg' })).image);
    const progress: OcrProgress[] = [];
    const dataDir = path.join(root, 'data');
    const first = await ocrPending(library, { dataDir, workers: 1, onProgress: (p) => progress.push(p) });
    expect(first).toMatchObject({ pending: 3, withText: 1, empty: 0, gated: 1 });
    expect(first.failed).toEqual([{ path: path.join(photos, 'aviso.jpg'), error: expect.stringMatching(/changed since it was indexed/) }]);
    expect(progress.at(-1)).toMatchObject({ phase: 'ocr', done: 3, total: 3, withText: 1, gated: 1, failed: 1 });

    const nota = library.fileByPath(path.join(photos, 'nota.png'))!;
    const record = library.ocr.get(nota.contentId)!;
    expect(record).toMatchObject({ status: 'text', langs: 'por+eng', engine: expect.stringMatching(/^tesseract\.js 7/) });
    expect(characterErrorRate(SENTENCES_PT[2], record.text)).toBeLessThanOrEqual(0.05);
    expect(record.confidence).toBeGreaterThan(70);
    expect(library.ocr.get(library.fileByPath(path.join(photos, 'praia.jpg'))!.contentId)).toMatchObject({ status: 'gated', text: '' });
    expect(library.ocr.get(library.fileByPath(path.join(photos, 'aviso.jpg'))!.contentId)).toMatchObject({ status: 'failed', path: path.join(photos, 'aviso.jpg') });
    expect([...library.ocr.match('justica relatorio').keys()]).toEqual([nota.contentId]);

    // Second run: only the failure is tried again (and fails again the same way).
    const pool = new OcrPool({ langs: ['por', 'eng'], dataDir, size: 1 });
    try {
      const second = await ocrPending(library, { dataDir, pool });
      expect(second).toMatchObject({ pending: 1, withText: 0, gated: 0 });
      expect(second.failed.map((f) => rel(f.path))).toEqual(['aviso.jpg']);
      expect(pool.started).toBe(0);
    } finally {
      await pool.close();
    }
    // Without the gate, the photo set aside is read too.
    const ungated = await ocrPending(library, { dataDir, gate: false, langs: ['por', 'eng'] });
    expect(ungated.pending).toBe(2);
    expect(ungated.gated).toBe(0);
    expect(library.ocr.get(library.fileByPath(path.join(photos, 'praia.jpg'))!.contentId)!.status).toMatch(/^(text|empty)$/);
    // Other settings (only Portuguese) make every record stale.
    expect(library.ocr.candidates(ocrSettings(['por']))).toHaveLength(3);
  });

  it('stops when cancelled, keeping what it finished; the next run does the rest', async () => {
    const dataDir = path.join(root, 'data');
    const controller = new AbortController();
    controller.abort();
    const none = await ocrPending(library, { dataDir, langs: ['por'], signal: controller.signal });
    expect(none.cancelled).toBe(true);
    expect(none.withText + none.gated + none.empty + none.failed.length).toBe(0);

    const later = new AbortController();
    const run = ocrPending(library, {
      dataDir,
      langs: ['por'],
      workers: 1,
      signal: later.signal,
      // aviso.jpg fails in milliseconds (changed since indexing) and stays a candidate, so
      // stop only once an image was really finished; which one depends on the machine's pace.
      onProgress: (p) => {
        if (p.done - p.failed >= 1) later.abort();
      },
    });
    const stopped = await run;
    expect(stopped.cancelled).toBe(true);
    const left = library.ocr.candidates(ocrSettings(['por'])).length;
    expect(left).toBeLessThan(3);
    expect(left).toBeGreaterThan(0);
    const rest = await ocrPending(library, { dataDir, langs: ['por'], workers: 1 });
    expect(rest.cancelled).toBeUndefined();
    expect(rest.pending).toBe(left);
  });
});
