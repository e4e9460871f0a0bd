// OCR accuracy and speed through the real stage (`ocrPending` over an indexed library: file read,
// hash check, gate, preprocessing, tesseract.js workers, text cleaning, SQLite + FTS writes).
//
//   npm run bench -- ocr [--workers N] [--compare-workers] [--sizes 12,16,24,36] [--photos 16] [--no-devset]
//
// Generated set: Portuguese and English sentences rendered at several sizes and fonts, clean and
// with noise, ±3° rotation, dark and gradient backgrounds and photo-like backgrounds; character
// error rate (CER) per condition and images/s. Text-free photo-like frames measure the gate.
// Dev set (../shared/devset, skipped with a reason when absent): every image through the stage
// with the gate, then the ones it set aside again without it, to measure what the gate skips, what
// that saves, and what text (if any) it would have missed; CER on the two memes (hand
// transcriptions below) and word recall on the web-page screenshot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { defaultPoolSize } from '../src/engine/ocr/pool.js';
import { ocrPending, type OcrSummary } from '../src/engine/ocr/stage.js';
import { colourModelDir, sharedDir } from '../test/support/models.js';
import { canonicalText, characterErrorRate, editDistance, FONTS, photoLike, renderTextImage, SENTENCES_EN, SENTENCES_PT, type TextImageSpec } from '../test/support/text-images.js';
import { flag, median, round } from './_stats.js';

type Condition = 'clean' | 'noise' | 'rotate' | 'dark' | 'gradient' | 'photo';

interface Sample {
  file: string;
  text: string;
  condition: Condition;
  size: number;
  lang: 'pt' | 'en';
}

// The dev set's memes, transcribed by hand from the images; the web page's larger words.
const DEVSET_TRANSCRIPTS: Record<string, string> = {
  'memegen_fine_011.jpg': '101 °F THIS IS FINE',
  'memegen_sparta_044.jpg': 'THIS IS A WIDE IMAGE!',
};
const DEVSET_DOCUMENT = 'inet_n06359193.jpg';
const DOCUMENT_WORDS =
  'Cybermation LOGIN SIGN UP SEARCH CORPORATE SOLUTIONS PRODUCTS CUSTOMERS SERVICES EVENTS RESOURCE CENTER CONTACT FIND OUT HOW UPS GOT REAL WITH READ THE STORY VIEW PRESENTATION PRESS RELEASE Real Solutions Results Time Feature Customer Story 2005 Gartner Hype Cycle Coffee and a Paper Volume In the News LATEST NEWS Achieves Highest Growth Rate in Job Scheduling Software Market';

function listFlag(args: string[], name: string, fallback: number[]): number[] {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  return args[i + 1].split(',').map(Number);
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

function wordRecall(reference: string, recognised: string): number {
  const have = new Set(fold(recognised).split(/[^\p{L}\p{N}]+/u).filter(Boolean));
  const want = fold(reference).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  return want.filter((w) => have.has(w)).length / want.length;
}

async function generateSet(dir: string, sizes: number[]): Promise<Sample[]> {
  fs.mkdirSync(dir, { recursive: true });
  const samples: Sample[] = [];
  const sentences = [...SENTENCES_PT.map((t) => ({ t, lang: 'pt' as const })), ...SENTENCES_EN.map((t) => ({ t, lang: 'en' as const }))];
  let n = 0;
  const add = async (condition: Condition, size: number, spec: Partial<TextImageSpec>) => {
    const s = sentences[n % sentences.length];
    const font = FONTS[n % FONTS.length];
    const { image, text } = await renderTextImage({ text: s.t, size, font, width: Math.max(360, Math.round(size * 26)), seed: n + 1, ...spec });
    const file = path.join(dir, `${String(n).padStart(3, '0')}-${condition}-${size}.${spec.format === 'jpeg' ? 'jpg' : 'png'}`);
    fs.writeFileSync(file, image);
    samples.push({ file, text, condition, size, lang: s.lang });
    n++;
  };
  for (const size of sizes) {
    for (let k = 0; k < 2; k++) await add('clean', size, {});
    await add('noise', size, { noise: 14, format: 'jpeg' });
    await add('rotate', size, { rotate: n % 2 ? 3 : -3 });
    await add('dark', size, { colour: '#f0f0f0', background: { kind: 'plain', colour: '#1c2541' } });
    await add('gradient', size, { background: { kind: 'gradient', from: '#fff3c4', to: '#9ec5fe' }, noise: 6 });
    await add('photo', size, { bold: true, colour: '#ffffff', background: { kind: 'photo', seed: n }, format: 'jpeg' });
  }
  return samples;
}

async function indexed(folder: string, file: string, model: ClipModel): Promise<Library> {
  fs.rmSync(file, { force: true });
  const library = Library.open(file);
  const summary = await indexFolders({ library, model, folders: [folder], thumbnails: false });
  if (summary.failed.length) throw new Error(`indexing failed: ${JSON.stringify(summary.failed)}`);
  return library;
}

/** Record of every present file: path → status, text, ms. */
function records(library: Library): Map<string, { status: string; text: string; ms: number }> {
  const out = new Map<string, { status: string; text: string; ms: number }>();
  for (const f of library.listFiles({ present: true })) {
    const r = library.ocr.get(f.contentId);
    if (r) out.set(f.path, { status: r.status, text: r.text, ms: r.ms ?? 0 });
  }
  return out;
}

async function stage(library: Library, dataDir: string, workers: number, gate: boolean): Promise<{ summary: OcrSummary; wallMs: number }> {
  const t = performance.now();
  const summary = await ocrPending(library, { dataDir, workers, gate });
  return { summary, wallMs: performance.now() - t };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const workers = flag(args, 'workers', defaultPoolSize());
  const sizes = listFlag(args, 'sizes', [12, 16, 24, 36]);
  const photoCount = flag(args, 'photos', 16);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-ocr-'));
  const dataDir = path.join(root, 'data');
  const model = await loadModel(await colourModelDir(), { device: 'cpu' });
  const result: Record<string, unknown> = { cores: os.availableParallelism(), workers };
  try {
    // ---------- generated text and photo-like frames
    const genDir = path.join(root, 'generated');
    const samples = await generateSet(path.join(genDir, 'text'), sizes);
    fs.mkdirSync(path.join(genDir, 'photos'), { recursive: true });
    for (let i = 0; i < photoCount; i++) {
      const [w, h] = [[640, 480], [1024, 768], [480, 640], [1600, 1200]][i % 4];
      fs.writeFileSync(path.join(genDir, 'photos', `photo-${i}.jpg`), await photoLike({ seed: 100 + i, width: w, height: h }));
    }
    let library = await indexed(genDir, path.join(root, 'gen.sqlite'), model);
    const gated = await stage(library, dataDir, workers, true);
    const recs = records(library);
    const cerBy = new Map<string, number[]>();
    const push = (key: string, v: number) => (cerBy.get(key) ?? cerBy.set(key, []).get(key)!).push(v);
    let edits = 0;
    let chars = 0;
    let cleanEdits = 0;
    let cleanChars = 0;
    let textMissedByGate = 0;
    const worst: { file: string; cer: number; read: string }[] = [];
    for (const s of samples) {
      const r = recs.get(s.file);
      if (r?.status === 'gated') textMissedByGate++;
      const read = r?.text ?? '';
      const cer = characterErrorRate(s.text, read);
      const ref = canonicalText(s.text);
      const d = editDistance(ref, canonicalText(read));
      edits += d;
      chars += ref.length;
      if (s.condition === 'clean') {
        cleanEdits += d;
        cleanChars += ref.length;
      }
      push(s.condition, cer);
      push(`size${s.size}`, cer);
      push(s.lang, cer);
      worst.push({ file: path.basename(s.file), cer: round(cer, 3), read: canonicalText(read).slice(0, 80) });
    }
    const photos = [...recs.entries()].filter(([p]) => p.includes(`${path.sep}photos${path.sep}`));
    const photoMs = photos.map(([, r]) => r.ms);
    // The same photos through OCR without the gate: what the gate saved on them.
    const ungated = await stage(library, dataDir, workers, false);
    const photoOcrMs = [...records(library).entries()].filter(([p]) => p.includes(`${path.sep}photos${path.sep}`)).map(([, r]) => r.ms);
    const textMs = samples.map((s) => recs.get(s.file)?.ms ?? 0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    result.generated = {
      textImages: samples.length,
      photoLike: photos.length,
      cerClean: round(cleanEdits / cleanChars, 4),
      cerAll: round(edits / chars, 4),
      cerMeanByCondition: Object.fromEntries(['clean', 'noise', 'rotate', 'dark', 'gradient', 'photo'].map((c) => [c, round(mean(cerBy.get(c) ?? []), 4)])),
      cerMeanBySize: Object.fromEntries(sizes.map((s) => [`${s}px`, round(mean(cerBy.get(`size${s}`) ?? []), 4)])),
      cerMeanByLang: { pt: round(mean(cerBy.get('pt') ?? []), 4), en: round(mean(cerBy.get('en') ?? []), 4) },
      imagesPerSec: round(gated.summary.pending / (gated.wallMs / 1000), 3),
      textImagesMsMedian: Math.round(median(textMs)),
      worst: worst.sort((a, b) => b.cer - a.cer).slice(0, 5),
      gate: {
        textImagesPassed: `${samples.length - textMissedByGate}/${samples.length}`,
        photosSkipped: `${photos.filter(([, r]) => r.status === 'gated').length}/${photos.length}`,
        gateMsMedianOnPhotos: Math.round(median(photoMs)),
        ocrMsMedianOnPhotosWithoutGate: Math.round(median(photoOcrMs)),
        photosSecondsWithGate: round(photoMs.reduce((a, b) => a + b, 0) / 1000, 2),
        photosSecondsWithoutGate: round(photoOcrMs.reduce((a, b) => a + b, 0) / 1000, 2),
        photosReadAsTextWithoutGate: ungated.summary.withText,
      },
    };
    library.close();

    if (args.includes('--compare-workers')) {
      const speeds: Record<string, number> = {};
      for (const n of [1, 2, 3].filter((k) => k <= Math.max(2, os.availableParallelism()))) {
        library = await indexed(path.join(genDir, 'text'), path.join(root, `w${n}.sqlite`), model);
        const r = await stage(library, dataDir, n, true);
        speeds[`workers${n}`] = round(r.summary.pending / (r.wallMs / 1000), 3);
        library.close();
      }
      result.imagesPerSecByWorkers = speeds;
    }

    // ---------- the dev set
    const devset = path.join(sharedDir(), 'devset');
    if (args.includes('--no-devset')) result.devset = { skipped: '--no-devset' };
    else if (!fs.existsSync(devset)) result.devset = { skipped: `no dev set at ${devset}` };
    else {
      library = await indexed(devset, path.join(root, 'devset.sqlite'), model);
      const withGate = await stage(library, dataDir, workers, true);
      const first = records(library);
      const skipped = [...first.entries()].filter(([, r]) => r.status === 'gated');
      const withoutGate = await stage(library, dataDir, workers, false);
      const second = records(library);
      // Text found in images the gate set aside: words of 3+ letters (the cleaning already
      // dropped words under the confidence floor).
      const missed = skipped
        .map(([p]) => ({ file: path.basename(p), text: second.get(p)?.text ?? '' }))
        .filter((m) => m.text.split(/\s+/).filter((w) => /[\p{L}]{3,}/u.test(w)).length >= 2)
        .map((m) => ({ file: m.file, text: canonicalText(m.text).slice(0, 60) }));
      const byName = (name: string) => [...second.entries()].find(([p]) => path.basename(p) === name)?.[1];
      const memes = Object.entries(DEVSET_TRANSCRIPTS).map(([name, ref]) => {
        const r = byName(name);
        return { file: name, cer: round(characterErrorRate(ref, r?.text ?? ''), 3), read: canonicalText(r?.text ?? '') };
      });
      const doc = byName(DEVSET_DOCUMENT);
      const okMs = [...first.values()].filter((r) => r.status !== 'gated').map((r) => r.ms);
      result.devset = {
        images: withGate.summary.pending,
        imagesPerSecWithGate: round(withGate.summary.pending / (withGate.wallMs / 1000), 3),
        secondsWithGate: round(withGate.wallMs / 1000, 1),
        secondsForSkippedWithoutGate: round(withoutGate.wallMs / 1000, 1),
        ocrMsMedianOnPassedImages: Math.round(median(okMs)),
        gate: {
          skipped: `${skipped.length}/${withGate.summary.pending}`,
          gateMsMedianOnSkipped: Math.round(median(skipped.map(([, r]) => r.ms))),
          ocrMsMedianOnSkippedWithoutGate: Math.round(median(skipped.map(([p]) => second.get(p)?.ms ?? 0))),
          textFoundInSkippedImages: missed,
        },
        memes,
        memeCerMean: round(memes.reduce((a, m) => a + m.cer, 0) / memes.length, 3),
        documentWordRecall: round(wordRecall(DOCUMENT_WORDS, doc?.text ?? ''), 3),
        documentStatus: `${doc?.status ?? 'missing'} (gate ${first.get([...first.keys()].find((p) => path.basename(p) === DEVSET_DOCUMENT) ?? '')?.status === 'gated' ? 'skipped it' : 'passed it'})`,
      };
      library.close();
    }
  } finally {
    await model.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
  return result;
}
