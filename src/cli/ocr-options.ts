// The CLI side of OCR: `triagem index --ocr` options, the per-library switch, progress and summary
// text, and the `search --text` hit lines. Kept out of the command files so they stay thin.

import { parseLanguages, type OcrProgress, type OcrRequest, type OcrSnippet, type OcrSummary } from '../app/index.js';
import { TriagemError, UsageError } from '../shared/errors.js';
import { intOption } from './command.js';
import { formatDuration, safe } from './format.js';

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

/** The flags as a request to the app layer (which also remembers the switch in the library). */
export function ocrRequest(values: OcrIndexValues): OcrRequest {
  return {
    ...(values.ocr ? { enabled: true } : values['no-ocr'] ? { enabled: false } : {}),
    ...(values['ocr-langs'] !== undefined ? { langs: values['ocr-langs'] } : {}),
    ...(values['ocr-workers'] !== undefined ? { workers: intOption(values['ocr-workers'], 'ocr-workers', 1) } : {}),
  };
}

export function formatOcrProgress(p: OcrProgress): string {
  const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
  const parts = [`reading text ${p.done}/${p.total} (${pct}%)`];
  if (p.ratePerSec > 0) parts.push(`${p.ratePerSec.toFixed(1)} img/s`);
  if (p.etaSec !== null && p.done < p.total) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  parts.push(`${p.withText} with text`, `${p.gated} skipped as text-free`);
  if (p.failed) parts.push(`${p.failed} failed`);
  return parts.join('  ');
}

export function ocrSummaryText(s: OcrSummary): string {
  const parts = [`${s.withText} with text`, `${s.empty} without`, `${s.gated} skipped as text-free`, `${s.failed.length} failed`];
  return `${s.cancelled ? 'Stopped reading text: ' : 'Read text in '}${s.pending} image${s.pending === 1 ? '' : 's'}: ${parts.join(', ')} in ${formatDuration(s.durationMs / 1000)}`;
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
    out += `${safe(snippet.text.slice(at, s))}[${safe(snippet.text.slice(s, e))}]`;
    at = e;
  }
  return out + safe(snippet.text.slice(at));
}
