import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, UsageError } from '../../engine/errors.js';
import { indexFolders, type IndexProgress, type IndexSummary } from '../../engine/indexer/indexer.js';
import { Library } from '../../engine/library/library.js';
import { persistNearPairs } from '../../engine/duplicates/duplicates.js';
import { persistVectorIndex } from '../../engine/vectors/code-store.js';
import { resolveLibraryPath } from '../../engine/paths.js';
import { COMMON_OPTIONS, intOption, parse, type CliIo, type Command } from '../command.js';
import { MODEL_OPTIONS, openModelForCli, parseDevice, parsePrecision } from '../model-options.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  // Smart Image Sorter spells it with an underscore; the dashed form is accepted too.
  batch_size: { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

const USAGE = `triagem index <folder>... [options]

Adds every image under the folders (and their subfolders) to the library: reads each file once,
stores its path, size, dates, EXIF capture time, GPS and camera, a thumbnail, and its embedding.
Run it again after adding photos: unchanged files are skipped, renamed or moved files keep their
embedding, and identical copies are encoded once. Interrupt it at any time (Ctrl-C); the next run
picks up where it stopped. Your files are only read, never changed.

  --library <file>       library file (default: the app's library)
  --model <id|folder>    model to use (default clip-vit-b32); --models-dir <dir> where models live
  --device <d>           auto | cpu | cuda | dml | coreml     --precision <p>  weights variant
  --batch_size <n>       images per inference batch (default 16)
  --json                 print {"indexed","skipped","unchanged","reused","failed":[{"path","error"}]}
  --verbose              also report which execution provider runs the model

Formats: JPEG, PNG, WebP, GIF (first frame), BMP, TIFF, AVIF; HEIC where the image library can
decode it. Other files are skipped and counted.
Exit codes: 0 done (files that could not be read are listed, not fatal), 1 fatal error, 2 usage error.`;

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatIndexProgress(p: IndexProgress): string {
  if (p.phase === 'scan') return `scanning… ${p.done} files found`;
  const pct = p.total ? Math.floor((100 * p.done) / p.total) : 100;
  const parts = [`indexing ${p.done}/${p.total} (${pct}%)`];
  if (p.ratePerSec > 0) parts.push(`${p.ratePerSec.toFixed(1)} img/s`);
  if (p.etaSec !== null && p.done < p.total) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  if (p.failed) parts.push(`${p.failed} failed`);
  return parts.join('  ');
}

/**
 * A terminal gets one line redrawn in place (io.err always ends lines, so: cursor up, clear);
 * a log or pipe gets a line every few seconds, so long runs leave a short, readable trail.
 */
export function progressReporter(io: CliIo, intervalMs = io.isTty ? 100 : 5000): { update(p: IndexProgress): void; finish(): void } {
  let drawn = false;
  // Logs get their first line only once the run has lasted an interval: short runs stay silent.
  let last = io.isTty ? 0 : Date.now();
  return {
    update(p) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      io.err(`${io.isTty && drawn ? '\x1b[1A\x1b[2K' : ''}${formatIndexProgress(p)}`);
      drawn = true;
    },
    finish() {
      if (io.isTty && drawn) io.err('\x1b[1A\x1b[2K\x1b[1A');
      drawn = false;
    },
  };
}

function humanSummary(s: IndexSummary): string {
  const parts = [`indexed ${s.indexed}${s.reused ? ` (${s.reused} reused without encoding)` : ''}`, `${s.unchanged} unchanged`, `${s.skipped} skipped (not images)`];
  if (s.missing) parts.push(`${s.missing} no longer found`);
  parts.push(`${s.failed.length} failed`);
  return `${s.cancelled ? 'Stopped: ' : ''}${parts.join(', ')} in ${formatDuration(s.durationMs / 1000)}`;
}

export const indexCommand: Command = {
  name: 'index',
  summary: 'Add the images in folders to the library (incremental; run again to update)',
  usage: USAGE,
  async run(argv: string[], io: CliIo): Promise<number> {
    const { values, positionals } = parse(argv, OPTIONS);
    if (positionals.length === 0) throw new UsageError('name at least one folder to index');
    const batchSize = intOption(values.batch_size ?? values['batch-size'], 'batch_size', 16);
    parseDevice(values.device);
    parsePrecision(values.precision);
    // Checked before the model loads (seconds) so a typo fails at once.
    for (const folder of positionals) {
      if (!fs.existsSync(folder)) throw new TriagemError('folder not found', 'not-found', path.resolve(folder));
    }

    const library = Library.open(resolveLibraryPath(values.library));
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      io.err('stopping after the current batch (Ctrl-C again to quit at once; the next run resumes)…');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    try {
      const model = await openModelForCli({
        model: values.model,
        modelsDir: values['models-dir'],
        device: values.device,
        precision: values.precision,
        batchSize,
        io,
        verbose: values.verbose,
      });
      try {
        const reporter = progressReporter(io);
        const summary = await indexFolders({
          library,
          model,
          folders: positionals,
          batchSize,
          signal: controller.signal,
          onProgress: (p) => reporter.update(p),
        });
        reporter.finish();
        // Store the search codes, duplicate signatures and near pairs now: searching only reads them.
        const key = library.modelKey(model.info);
        if (!summary.cancelled && library.modelId(key) !== undefined) {
          persistVectorIndex(library, key);
          persistNearPairs(library, key);
        }
        if (values.json) {
          io.out(
            JSON.stringify({
              indexed: summary.indexed,
              skipped: summary.skipped,
              unchanged: summary.unchanged,
              reused: summary.reused,
              failed: summary.failed.map((f) => ({ path: f.path, error: f.error })),
            }),
          );
        } else {
          io.out(humanSummary(summary));
          for (const f of summary.failed) io.err(`  failed: ${f.path}: ${f.error}`);
        }
        return summary.cancelled ? 130 : 0;
      } finally {
        await model.close();
      }
    } finally {
      process.off('SIGINT', onSigint);
      library.close();
    }
  },
};
