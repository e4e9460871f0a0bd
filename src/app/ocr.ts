// Reading the text inside images (OCR): the per-library switch, the stage that runs after indexing,
// and text-only search. Offline: the language data ships in npm packages and is read locally.

import path from 'node:path';
import type { Library } from '../engine/library/library.js';
import type { OcrCounts, OcrSnippet, OcrStatus } from '../engine/library/ocr.js';
import type { ClipModel } from '../engine/models/types.js';
import { clipTextScores } from '../engine/ocr/clip-prior.js';
import { OCR_LANGUAGES, parseLanguages, type OcrLanguage } from '../engine/ocr/engine-files.js';
import { defaultPoolSize } from '../engine/ocr/pool.js';
import { ocrEnabledByDefault, ocrPending, ocrSettings, type OcrProgress, type OcrSummary } from '../engine/ocr/stage.js';
import { userDataDir } from '../engine/paths.js';
import { searchImageText, type ImageTextResponse } from '../engine/search/image-text.js';
import type { SearchFilters } from '../engine/search/filters.js';
import type { AppContext } from './context.js';

export { ocrEnabledByDefault, parseLanguages };
export type { ImageTextResponse, OcrLanguage, OcrProgress, OcrSnippet, OcrSummary };

/** What the caller asks about OCR for one index run; unset fields follow the library's switch. */
export interface OcrRequest {
  /** true: turn it on for this library (remembered); false: turn it off; undefined: as the library says. */
  enabled?: boolean;
  /** "por+eng" (default), "por" or "eng". */
  langs?: string;
  workers?: number;
}

export interface OcrPlan {
  langs: OcrLanguage[];
  workers: number;
}

/** Where the OCR engine's language data is gathered (beside the models, in the user's data folder). */
export function ocrDataDir(): string {
  return path.join(userDataDir(), 'ocr');
}

/**
 * Whether this run reads text. The request also updates the library's remembered switch: OCR is
 * off in a library until asked for once, and stays on for later runs until turned off.
 */
export function ocrPlan(app: AppContext, request: OcrRequest = {}): OcrPlan | null {
  const library = app.library('write');
  if (request.enabled === false) {
    library.ocr.setConfig({ enabled: false });
    return null;
  }
  const stored = library.ocr.config();
  const langs = parseLanguages(request.langs ?? stored.langs ?? 'por+eng');
  if (request.enabled === true) library.ocr.setConfig({ enabled: true, langs: langs.join('+') });
  else if (stored.enabled !== true) return null;
  return { langs, workers: request.workers ?? defaultPoolSize() };
}

/** Reads the text of every indexed image that has none yet for these settings (incremental). */
export async function readImageText(
  app: AppContext,
  plan: OcrPlan,
  opts: { model?: ClipModel; signal?: AbortSignal; onProgress?: (p: OcrProgress) => void } = {},
): Promise<OcrSummary> {
  const library = app.library('write');
  let clip: Map<number, number> | undefined;
  if (opts.model) {
    // The CLIP prior: images the model thinks bear text get past the cheap gate.
    const ids = library.ocr.candidates(ocrSettings(plan.langs)).map((c) => c.contentId);
    clip = await clipTextScores(library, opts.model, ids);
  }
  return ocrPending(library, { dataDir: ocrDataDir(), langs: plan.langs, workers: plan.workers, clipTextScores: clip, signal: opts.signal, onProgress: opts.onProgress });
}

/** Images whose recognised text holds the words, best full-text match first; no model needed. */
export function searchImageTextOnly(app: AppContext, text: string, opts: { limit?: number; filters?: SearchFilters } = {}): ImageTextResponse & { textRead: number } {
  const library = app.library('read');
  const counts = library.ocr.counts();
  return { ...searchImageText(library, text, opts), textRead: counts.text + counts.empty + counts.gated };
}

/** The recognised text of one image, for the preview panel. */
export function imageText(app: AppContext, contentId: number): { text: string; confidence: number | null } | null {
  const row = app.library('read').ocr.get(contentId);
  return row && row.status === 'text' ? { text: row.text ?? '', confidence: row.confidence ?? null } : null;
}

/** What OCR made of one image, as the info panel says it; null when it has not been read yet. */
export interface ImageTextRecord {
  status: OcrStatus;
  /** Empty unless `status` is "text". */
  text: string;
  /** Mean word confidence, 0–100. */
  confidence: number | null;
  /** The languages it was read in, e.g. ["por", "eng"]. */
  langs: string[];
  /** Why reading failed. */
  error: string | null;
  /** When it was read, ms since epoch. */
  at: number;
}

export function imageTextRecord(library: Library, contentId: number): ImageTextRecord | null {
  const row = library.ocr.get(contentId);
  if (!row) return null;
  return {
    status: row.status,
    text: row.status === 'text' ? row.text : '',
    confidence: row.confidence,
    langs: row.langs ? row.langs.split('+') : [],
    error: row.status === 'failed' ? (row.error ?? null) : null,
    at: row.at,
  };
}

/** The library's OCR switch and what has been read so far, for the window's toggle. */
export interface OcrState {
  /** null: never set for this library (off until asked for). */
  enabled: boolean | null;
  langs: string[];
  counts: OcrCounts;
}

export function ocrState(app: AppContext): OcrState {
  if (!app.libraryExists()) return { enabled: null, langs: [...OCR_LANGUAGES], counts: { text: 0, empty: 0, gated: 0, failed: 0 } };
  const library = app.library('read');
  const config = library.ocr.config();
  return { enabled: config.enabled, langs: parseLanguages(config.langs ?? 'por+eng'), counts: library.ocr.counts() };
}

/** Turns the library's switch on or off for later index runs (a drop follows it). */
export function setOcrEnabled(app: AppContext, enabled: boolean): OcrState {
  const library = app.library('write');
  const stored = library.ocr.config();
  library.ocr.setConfig({ enabled, langs: stored.langs ?? OCR_LANGUAGES.join('+') });
  return ocrState(app);
}
