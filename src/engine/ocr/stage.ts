// The OCR stage: reads the text in every indexed image that has no OCR record for the current
// settings yet, after `indexFolders` has run. Incremental like the indexer (a rerun recognises
// nothing already done; a cancelled run keeps what it finished), and per-image problems are
// recorded with the file and the reason without stopping the rest.

import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import { TriagemError, errorMessage } from '../errors.js';
import { readErrorReason } from '../images/formats.js';
import { RateMeter } from '../util/rate.js';
import type { Library } from '../library/library.js';
import type { OcrCandidate, OcrResult, OcrSettings, OcrStatus } from '../library/ocr.js';
import { engineName, OCR_LANGUAGES, type OcrLanguage } from './engine-files.js';
import { looksLikeText } from './gate.js';
import { OcrPool } from './pool.js';
import { gateLook, ocrInput, ocrScale } from './prepare.js';
import { pageText } from './text.js';

/**
 * Version of what this project adds around the engine: the gate, the preprocessing and the text
 * cleaning. Bump it when any of them changes its output, so existing records are redone.
 */
export const OCR_PIPELINE = 1;

/** Same cap as the indexer: anything larger is not a picture of text. */
const MAX_FILE_BYTES = 1024 * 2 ** 20;

export interface OcrProgress {
  phase: 'ocr';
  done: number;
  total: number;
  /** Of `done`: images in which text was found. */
  withText: number;
  /** Of `done`: images the gate judged text-free (not sent to OCR). */
  gated: number;
  failed: number;
  ratePerSec: number;
  etaSec: number | null;
  current?: string;
}

export interface OcrFailure {
  path: string;
  error: string;
}

export interface OcrSummary {
  /** Contents that needed OCR when the stage started. */
  pending: number;
  withText: number;
  /** OCR ran and kept no words. */
  empty: number;
  gated: number;
  failed: OcrFailure[];
  /** Set when the signal stopped the run; a rerun does the rest. */
  cancelled?: boolean;
  workers: number;
  /** Summed over images: time in the gate (decode + measure) and in the OCR engine. */
  gateMs: number;
  ocrMs: number;
  durationMs: number;
}

export interface OcrStageOptions {
  /** Folder for the OCR engine's language data (see engine-files.ts), e.g. `<user data>/ocr`. */
  dataDir: string;
  langs?: readonly OcrLanguage[];
  /** Worker threads; default from the cores (`defaultPoolSize`). Ignored when `pool` is given. */
  workers?: number;
  /** An open pool to use (and leave open); otherwise one is made for this run and closed after it. */
  pool?: OcrPool;
  /** Apply the likely-text gate (default true); false sends every image to OCR. */
  gate?: boolean;
  /** CLIP probability that an image bears text, by content id: lets more images past the gate. */
  clipTextScores?: ReadonlyMap<number, number>;
  signal?: AbortSignal;
  onProgress?: (p: OcrProgress) => void;
}

/**
 * The OCR switch for a library that never set one: on when the sort labels the user picked name
 * text-bearing pictures (documents, screenshots, memes, posters), otherwise only on machines with
 * cores to spare, since OCR roughly doubles indexing time where images hold text.
 */
export function ocrEnabledByDefault(labels: readonly string[], cores: number = os.availableParallelism()): boolean {
  const textual = /document|screenshot|captura|\btela\b|meme|text|poster|cartaz|\bsign\b|placa|\bprint\b/i;
  return labels.some((l) => textual.test(l)) || cores >= 8;
}

export function ocrSettings(langs: readonly OcrLanguage[] = OCR_LANGUAGES): OcrSettings {
  return { engine: engineName(), langs: langs.join('+'), pipeline: OCR_PIPELINE };
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** The bytes of the first file that still holds this content (a file edited since indexing does not). */
async function readContent(c: OcrCandidate): Promise<{ data: Buffer; path: string } | { error: string; path: string }> {
  let error = 'no file holds this image any more';
  for (const p of c.paths) {
    try {
      const stat = await fs.stat(p);
      if (stat.size > MAX_FILE_BYTES) {
        error = `file is larger than ${MAX_FILE_BYTES / 2 ** 20} MiB`;
        continue;
      }
      const data = await fs.readFile(p);
      if (createHash('sha256').update(data).digest('hex') !== c.sha256) {
        error = 'the file changed since it was indexed; run `triagem index` again';
        continue;
      }
      return { data, path: p };
    } catch (err) {
      error = readErrorReason(err);
    }
  }
  return { error, path: c.paths[0] };
}

function reasonOf(err: unknown, file: string): string {
  if (err instanceof TriagemError && err.file && err.message.startsWith(`${file}: `)) return err.message.slice(file.length + 2);
  return errorMessage(err);
}

/** OCRs every indexed content that has no record for the current settings. */
export async function ocrPending(library: Library, opts: OcrStageOptions): Promise<OcrSummary> {
  const started = performance.now();
  const langs = opts.langs ?? OCR_LANGUAGES;
  const settings = ocrSettings(langs);
  const gate = opts.gate ?? true;
  const candidates = library.ocr.candidates(settings, { regate: !gate });
  const pool = opts.pool ?? new OcrPool({ langs, dataDir: opts.dataDir, size: opts.workers });
  const { signal } = opts;
  const summary: OcrSummary = { pending: candidates.length, withText: 0, empty: 0, gated: 0, failed: [], workers: pool.size, gateMs: 0, ocrMs: 0, durationMs: 0 };

  let done = 0;
  let current: string | undefined;
  const meter = new RateMeter();
  meter.record(0);
  // One event per image: even a gated image takes milliseconds, so there is no flood to throttle.
  const progress = () => {
    if (!opts.onProgress) return;
    opts.onProgress({
      phase: 'ocr',
      done,
      total: candidates.length,
      withText: summary.withText,
      gated: summary.gated,
      failed: summary.failed.length,
      ratePerSec: meter.rate(),
      etaSec: done >= candidates.length ? 0 : meter.eta(candidates.length - done),
      current,
    });
  };

  const record = (c: OcrCandidate, status: OcrStatus, fields: Partial<OcrResult> & { path: string | null; ms: number }) => {
    library.ocr.put({ ...settings, contentId: c.contentId, status, text: '', confidence: null, error: null, ...fields });
    if (status === 'text') summary.withText++;
    else if (status === 'empty') summary.empty++;
    else if (status === 'gated') summary.gated++;
    done++;
    current = fields.path ?? current;
    meter.record(done);
    progress();
  };

  const one = async (c: OcrCandidate): Promise<void> => {
    const t0 = performance.now();
    const read = await readContent(c);
    if ('error' in read) {
      summary.failed.push({ path: read.path, error: read.error });
      record(c, 'failed', { path: read.path, error: read.error, ms: performance.now() - t0 });
      return;
    }
    try {
      const look = await gateLook(read.data, read.path);
      const t1 = performance.now();
      summary.gateMs += t1 - t0;
      if (gate && !looksLikeText(look, opts.clipTextScores?.get(c.contentId))) {
        record(c, 'gated', { path: read.path, ms: t1 - t0 });
        return;
      }
      const input = await ocrInput(read.data, read.path, look, ocrScale(look));
      const page = await pool.recognize(input.image, { signal });
      summary.ocrMs += page.ms;
      const text = pageText(page);
      record(c, text.words > 0 ? 'text' : 'empty', { path: read.path, text: text.text, confidence: text.confidence, ms: performance.now() - t0 });
    } catch (err) {
      // A cancelled image is left without a record: the next run does it.
      if (isAbort(err) || signal?.aborted) return;
      const error = reasonOf(err, read.path);
      summary.failed.push({ path: read.path, error });
      record(c, 'failed', { path: read.path, error, ms: performance.now() - t0 });
    }
  };

  // One lane more than workers, so the next image is decoded and waiting when a worker frees up.
  let cursor = 0;
  const lane = async () => {
    while (!signal?.aborted && cursor < candidates.length) await one(candidates[cursor++]);
  };
  progress();
  try {
    await Promise.all(Array.from({ length: Math.min(candidates.length, pool.size + 1) }, lane));
  } finally {
    if (!opts.pool) await pool.close();
  }
  if (signal?.aborted) summary.cancelled = true;
  summary.durationMs = Math.round(performance.now() - started);
  progress();
  return summary;
}
