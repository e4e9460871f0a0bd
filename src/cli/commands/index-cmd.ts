import { indexFolders, type IndexProgress, type IndexSummary, type OcrProgress } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { COMMON_OPTIONS, parse, type CliIo, type Command } from '../command.js';
import { formatDuration, safe } from '../format.js';
import { MODEL_OPTIONS, batchSizeOption, parsePrecision, reportModel, withApp } from '../options.js';
import { progressLine } from '../progress.js';
import { checkOcrValues, formatOcrProgress, OCR_INDEX_OPTIONS, OCR_INDEX_USAGE, ocrRequest, ocrSummaryJson, ocrSummaryText } from '../ocr-options.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  batch_size: { type: 'string' },
  'batch-size': { type: 'string' },
  ...OCR_INDEX_OPTIONS,
} as const;

const USAGE = `triagem index <folder>... [options]

Adds every image under the folders (and their subfolders) to the library: reads each file once,
stores its path, size, dates, EXIF capture time, GPS and camera, a thumbnail, and its embedding.
Run it again after adding photos: unchanged files are skipped, renamed or moved files keep their
embedding, and identical copies are encoded once. Interrupt it at any time (Ctrl-C); the next run
picks up where it stopped. Your files are only read, never changed.

  --library <file>       library file (default: the app's library)
  --model <id|folder>    model to use (default: the library's model; for a new library the
                         multilingual model when your language is Portuguese, else clip-vit-b32);
                         --models-dir <dir> where models live
  --device <d>           auto | cpu | cuda | dml | coreml     --precision <p>  weights variant
  --batch_size <n>       images per inference batch (default 16)
${OCR_INDEX_USAGE}
  --json                 print {"indexed","skipped","unchanged","reused","failed":[{"path","error"}]}
                         "warnings":[{"path","warning"}] (damaged images indexed anyway; links leading
                         out of the folders, not followed), and "ocr":{"pending","withText","empty",
                         "gated","failed"} when text is read
  --verbose              also report which execution provider runs the model

Formats: JPEG, PNG, WebP, GIF (first frame), BMP, TIFF, AVIF; HEIC where the image library can
decode it. Other files are skipped and counted. Symbolic links are followed only when they lead to
a place inside the folders given; links leading out are skipped and listed as warnings.
Exit codes: 0 done (files that could not be read are listed, not fatal), 1 fatal error, 2 usage error.`;

export function formatIndexProgress(p: IndexProgress | OcrProgress): string {
  if (p.phase === 'ocr') return formatOcrProgress(p);
  if (p.phase === 'scan') return `scanning… ${p.done} files found`;
  const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
  const parts = [`indexing ${p.done}/${p.total} (${pct}%)`];
  if (p.ratePerSec > 0) parts.push(`${p.ratePerSec.toFixed(1)} img/s`);
  if (p.etaSec !== null && p.done < p.total) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  if (p.failed) parts.push(`${p.failed} failed`);
  return parts.join('  ');
}

function humanSummary(s: IndexSummary): string {
  const parts = [`indexed ${s.indexed}${s.reused ? ` (${s.reused} reused without encoding)` : ''}`, `${s.unchanged} unchanged`, `${s.skipped} skipped (not images)`];
  if (s.missing) parts.push(`${s.missing} no longer found`);
  parts.push(`${s.failed.length} failed`);
  if (s.warnings.length) parts.push(`${s.warnings.length} warnings`);
  return `${s.cancelled ? 'Stopped: ' : ''}${parts.join(', ')} in ${formatDuration(s.durationMs / 1000)}`;
}

/** Ctrl-C once: stop after the current batch; twice: quit at once. */
export function interruptible(io: CliIo): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    io.err('stopping after the current batch (Ctrl-C again to quit at once; the next run resumes)…');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}

export const indexCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, OPTIONS);
    if (positionals.length === 0) throw new UsageError('name at least one folder to index');
    const batchSize = batchSizeOption(values) ?? 16;
    const precision = parsePrecision(values.precision);
    checkOcrValues(values);
    const stop = interruptible(io);
    try {
      return await withApp({ ...values, batchSize }, async (app) => {
        const progress = progressLine(io, { logEveryMs: 5000 });
        const out = await indexFolders(app, {
          folders: positionals,
          model: values.model,
          precision,
          ocr: ocrRequest(values),
          signal: stop.signal,
          onProgress: (p) => progress.update(formatIndexProgress(p)),
          onModel: (use) => reportModel(io, use, values.verbose),
        });
        progress.finish();
        const s = out.summary;
        if (values.json) {
          io.out(
            JSON.stringify({
              indexed: s.indexed,
              skipped: s.skipped,
              unchanged: s.unchanged,
              reused: s.reused,
              failed: s.failed.map((f) => ({ path: f.path, error: f.error })),
              warnings: s.warnings.map((w) => ({ path: w.path, warning: w.warning })),
              ...(out.ocr ? { ocr: ocrSummaryJson(out.ocr) } : {}),
            }),
          );
        } else {
          io.out(humanSummary(s));
          for (const f of s.failed) io.err(`  failed: ${safe(f.path)}: ${safe(f.error)}`);
          for (const w of s.warnings) io.err(`  warning: ${safe(w.path)}: ${safe(w.warning)}`);
          if (out.ocr) io.out(ocrSummaryText(out.ocr));
          for (const f of out.ocr?.failed ?? []) io.err(`  text not read: ${safe(f.path)}: ${safe(f.error)}`);
        }
        return s.cancelled || out.ocr?.cancelled ? 130 : 0;
      });
    } finally {
      stop.release();
    }
  },
};
