// The CLI side of OCR: `triagem index --ocr` options, the per-library switch, progress and summary
// text, and the `search --text` hit lines. Kept out of the command files so they stay thin.

import path from 'node:path';
import { TriagemError, UsageError } from '../engine/errors.js';
import type { Library } from '../engine/library/library.js';
import type { OcrSnippet } from '../engine/library/ocr.js';
import type { ClipModel } from '../engine/models/types.js';
import { clipTextScores } from '../engine/ocr/clip-prior.js';
import { parseLanguages, type OcrLanguage } from '../engine/ocr/engine-files.js';
import { defaultPoolSize } from '../engine/ocr/pool.js';
import { ocrPending, ocrSettings, type OcrProgress, type OcrSummary } from '../engine/ocr/stage.js';
import { userDataDir } from '../engine/paths.js';
import { intOption, type CliIo } from './command.js';

export const OCR_INDEX_OPTIONS = {
  ocr: { type: 'boolean', default: false },
  'no-ocr': { type: 'boolean', default: false },
  'ocr-langs': { type: 'string' },
  'ocr-workers': { type: 'string' },
} as const;

export const OCR_INDEX_USAGE = `  --ocr                  also read the text inside images (screenshots, documents, memes, signs) so
                         \`triagem search --text\` finds them; the library remembers the choice
  --no-ocr               stop reading text in this library's images
  --ocr-langs <l>        por+eng (default), por or eng
  --ocr-workers <n>      OCR threads (default: cores − 1, at most 4)`;

export interface OcrIndexValues {
  ocr?: boolean;
  'no-ocr'?: boolean;
  'ocr-langs'?: string;
  'ocr-workers'?: string;
}

export interface OcrPlan {
  langs: OcrLanguage[];
  workers: number;
}

/** Usage mistakes, found before anything is opened. */
export function checkOcrValues(values: OcrIndexValues): void {
  if (values.ocr && values['no-ocr']) throw new UsageError('--ocr and --no-ocr contradict each other');
  if (values['ocr-langs'] !== undefined) {
    try {
      parseLanguages(values['ocr-langs']);
    } catch (err) {
      throw new UsageError(err instanceof TriagemError ? err.message : String(err));
    }
  }
  intOption(values['ocr-workers'], 'ocr-workers', 1);
}

/**
 * Whether this run reads text, from the flags and the library's remembered switch (the flags also
 * update the switch): OCR is off in a library until asked for once.
 */
export function ocrPlan(values: OcrIndexValues, library: Library): OcrPlan | null {
  if (values['no-ocr']) {
    library.ocr.setConfig({ enabled: false });
    return null;
  }
  const stored = library.ocr.config();
  const langs = parseLanguages(values['ocr-langs'] ?? stored.langs ?? 'por+eng');
  if (values.ocr) library.ocr.setConfig({ enabled: true, langs: langs.join('+') });
  else if (stored.enabled !== true) return null;
  return { langs, workers: intOption(values['ocr-workers'], 'ocr-workers', defaultPoolSize()) };
}

/** Where the OCR engine's language data is gathered (beside the models, in the user's data folder). */
export function ocrDataDir(): string {
  return path.join(userDataDir(), 'ocr');
}

export function formatOcrProgress(p: OcrProgress): string {
  const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
  const parts = [`reading text ${p.done}/${p.total} (${pct}%)`];
  if (p.ratePerSec > 0) parts.push(`${p.ratePerSec.toFixed(1)} img/s`);
  if (p.etaSec !== null && p.done < p.total) {
    const s = Math.round(p.etaSec);
    parts.push(`ETA ${s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`}`);
  }
  parts.push(`${p.withText} with text`, `${p.gated} skipped as text-free`);
  if (p.failed) parts.push(`${p.failed} failed`);
  return parts.join('  ');
}

/** Runs the OCR stage for an indexed library, with the CLIP prior when the model's embeddings are there. */
export async function runOcr(
  library: Library,
  plan: OcrPlan,
  opts: { model?: ClipModel; signal?: AbortSignal; onProgress?: (p: OcrProgress) => void },
): Promise<OcrSummary> {
  let clip: Map<number, number> | undefined;
  if (opts.model) {
    const ids = library.ocr.candidates(ocrSettings(plan.langs)).map((c) => c.contentId);
    clip = await clipTextScores(library, opts.model, ids);
  }
  return ocrPending(library, { dataDir: ocrDataDir(), langs: plan.langs, workers: plan.workers, clipTextScores: clip, signal: opts.signal, onProgress: opts.onProgress });
}

export function ocrSummaryText(s: OcrSummary): string {
  const parts = [`${s.withText} with text`, `${s.empty} without`, `${s.gated} skipped as text-free`, `${s.failed.length} failed`];
  return `${s.cancelled ? 'Stopped reading text: ' : 'Read text in '}${s.pending} image${s.pending === 1 ? '' : 's'}: ${parts.join(', ')} in ${Math.round(s.durationMs / 1000)}s`;
}

export function ocrSummaryJson(s: OcrSummary): Record<string, unknown> {
  return { pending: s.pending, withText: s.withText, empty: s.empty, gated: s.gated, failed: s.failed.map((f) => ({ path: f.path, error: f.error })) };
}

/** JSON fields a search hit gains when it matched the image's text. */
export function snippetJson(snippet: OcrSnippet | undefined): Record<string, unknown> {
  return snippet ? { ocr_snippet: snippet.text, ocr_highlights: snippet.highlights } : {};
}

/** The snippet for a terminal, matches in [brackets]. */
export function snippetLine(snippet: OcrSnippet): string {
  let out = '';
  let at = 0;
  for (const [s, e] of snippet.highlights) {
    out += `${snippet.text.slice(at, s)}[${snippet.text.slice(s, e)}]`;
    at = e;
  }
  return out + snippet.text.slice(at);
}
