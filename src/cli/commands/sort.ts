import path from 'node:path';
import {
  DEFAULT_TEMPLATES,
  RESULTS_CSV,
  UNSURE_LABEL,
  checkSortInput,
  combineLabels,
  findPreset,
  loadPresets,
  parseLabelList,
  parseTemplates,
  sortJob,
  type ExportOperation,
} from '../../app/index.js';
import { TriagemError, UsageError } from '../../shared/errors.js';
import { COMMON_OPTIONS, numberOption, parse, type Command } from '../command.js';
import { safe } from '../format.js';
import { MODEL_OPTIONS, batchSizeOption, parseDevice, parsePrecision, reportModel, withApp } from '../options.js';
import { progressLine } from '../progress.js';
import { formatIndexProgress, interruptible } from './index-cmd.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  source: { type: 'string' },
  destination: { type: 'string' },
  labels: { type: 'string' },
  preset: { type: 'string' },
  templates: { type: 'string' },
  operation: { type: 'string' },
  threshold: { type: 'string' },
  examples: { type: 'string' },
  'no-confirmed': { type: 'boolean', default: false },
  // Smart Image Sorter spells these with underscores; the dashed forms are accepted too.
  output_file: { type: 'string' },
  'output-file': { type: 'string' },
  batch_size: { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

const OPERATIONS = ['copy', 'move', 'none'] as const;

const USAGE = `triagem sort (--labels "<a, b, c>" | --preset <name>) [options]

Sorts images into the label each fits best. Images are encoded once into the library; sorting
again with other labels only encodes the label texts.

  --labels <list>        comma-separated labels in any language ("arma ou veículo militar, meme,
                         documento"); wrap a label holding a comma in double quotes. A label that
                         contains {} is used as the whole prompt instead of the templates.
  --preset <name>        a label preset; combines with --labels. Presets: ${presetNames()}
  --templates <list>     prompt templates separated by ";", {} marks the label. Default:
                         "${DEFAULT_TEMPLATES.join(';')}"
  --source <folder>      index this folder (and its subfolders) when needed, then sort its images;
                         without it the whole library is sorted
  --destination <folder> where label folders are made: <destination>/<label>/. What is inside it
                         is not sorted again (if it holds the source, just its label folders)
  --operation <op>       copy | move | none (default: copy with --destination, else none). Never
                         overwrites: a taken name becomes "foto (1).jpg". Move deletes an original
                         only after its copy verified by sha256. Every copy/move writes a journal
                         <destination>/.triagem-journal-<time>.jsonl; \`triagem undo <journal>\` reverts it
  --threshold <0..1>     images whose best score is below it go to "${UNSURE_LABEL}"
  --examples <folder>    confirmed examples, one subfolder per label (e.g. <folder>/meme/*.jpg):
                         each label becomes its text plus its examples (few-shot), which helps
                         labels the model reads poorly. A few per label are enough; with one per
                         label, or when they do not help on their own examples, the text alone is used
  --no-confirmed         leave out the photos confirmed in the window's review. By default those of the
                         labels being sorted join the examples (read from the library: no model runs
                         for them), so a re-sort learns from what was checked
  --output_file <csv>    results CSV (UTF-8, RFC 4180): image_name,label,score,path,sha256, then
                         score:<label> per label. Default: <destination>/${RESULTS_CSV} (numbered if
                         taken) when there is a destination, else printed to stdout (unless --json).
                         An existing file is replaced only if it is an earlier results CSV
  --json                 print {"results":[{path,label,score}],"journal","csv","failed"} to stdout, plus
                         "manifest" (the export's manifest-sha256.txt), "redirected" (labels whose
                         folder name was taken by a link or file) and "stopped" (disk full) when set
  --model <id|folder>    model to use (default: the library's model; for a new library the
                         multilingual model when the labels are Portuguese, else clip-vit-b32);
                         --models-dir <dir> where models live
  --library <file>       library file (default: the app's library)
  --device <d>           auto | cpu | cuda | dml | coreml     --precision <p>  weights variant
  --batch_size <n>       images per inference batch while indexing
  --verbose              one line per file on stderr

Exit codes: 0 done (unreadable files are listed, not fatal), 1 fatal error, 2 usage error.`;

function presetNames(): string {
  try {
    return loadPresets()
      .map((p) => p.name)
      .join(', ');
  } catch {
    return 'see resources/labels/presets.json';
  }
}

/** Every usage mistake is caught here, before a model or library is opened. */
function plan(values: ReturnType<typeof parse<typeof OPTIONS>>['values']) {
  const threshold = numberOption(values.threshold, 'threshold');
  if (threshold !== undefined && (threshold < 0 || threshold > 1)) {
    throw new UsageError(`--threshold must be between 0 and 1, got "${values.threshold}"`);
  }
  const op = values.operation ?? (values.destination !== undefined ? 'copy' : 'none');
  if (!(OPERATIONS as readonly string[]).includes(op)) throw new UsageError(`--operation must be copy, move or none, got "${op}"`);
  const operation = op as ExportOperation | 'none';
  if (operation !== 'none' && values.destination === undefined) throw new UsageError(`--operation ${operation} needs --destination <folder>`);
  parseDevice(values.device);
  const precision = parsePrecision(values.precision);
  const batchSize = batchSizeOption(values);
  // Engine validation errors (bad label list, unknown preset, template without {}, a destination
  // that is a file) are usage errors here.
  try {
    const preset = values.preset !== undefined ? findPreset(values.preset).labels : [];
    const given = values.labels !== undefined ? parseLabelList(values.labels) : [];
    if (preset.length + given.length === 0) throw new UsageError('give labels with --labels "a, b, c" or --preset <name>');
    const templates = values.templates !== undefined ? parseTemplates(values.templates) : undefined;
    // A label the preset already has may be repeated in --labels; the same label twice in --labels is refused.
    const labels = checkSortInput({ labels: combineLabels(preset, given).labels, templates, threshold });
    return {
      labels,
      templates,
      threshold,
      operation,
      precision,
      batchSize,
      source: values.source !== undefined ? path.resolve(values.source) : undefined,
      destination: values.destination !== undefined ? path.resolve(values.destination) : undefined,
      csvPath: values.output_file ?? values['output-file'],
      examples: values.examples !== undefined ? path.resolve(values.examples) : undefined,
    };
  } catch (err) {
    if (err instanceof TriagemError) throw new UsageError(err.message);
    throw err;
  }
}

export const sortCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, OPTIONS, false);
    const p = plan(values);
    const verbose = values.verbose ?? false;
    const stop = interruptible(io);
    try {
      return await withApp({ ...values, batchSize: p.batchSize }, async (app) => {
        const progress = progressLine(io);
        let job;
        try {
          job = await sortJob(app, {
            labels: p.labels,
            templates: p.templates,
            threshold: p.threshold,
            model: values.model,
            precision: p.precision,
            source: p.source,
            destination: p.destination,
            operation: p.operation,
            csvPath: p.csvPath,
            examples: p.examples,
            confirmed: !values['no-confirmed'],
            signal: stop.signal,
            onModel: (use) => reportModel(io, use, verbose),
            onIndexProgress: (ip) => progress.update(formatIndexProgress(ip)),
            onExportProgress: (done, total) => progress.update(`${p.operation === 'move' ? 'moving' : 'copying'} ${done}/${total}`),
          });
        } catch (err) {
          // A source that is not a folder, or an output file that is not a results CSV: the user's to fix.
          if (err instanceof TriagemError && (err.code === 'not-found' || err.code === 'exists' || err.code === 'not-a-folder' || err.code === 'usage')) {
            throw new UsageError(err.message);
          }
          throw err;
        } finally {
          progress.finish();
        }
        const { result, failed } = job;
        if (job.indexed && (verbose || job.indexed.indexed > 0)) {
          const s = job.indexed;
          io.err(`indexed ${s.indexed} new or changed (${s.reused} reused an embedding), ${s.unchanged} unchanged, ${s.skipped} non-images skipped, ${failed.length} failed (${(s.durationMs / 1000).toFixed(1)} s)`);
        }
        // Damaged images sorted anyway, links leading out of the source (not followed): the user should know.
        for (const w of job.warnings) io.err(`warning: ${safe(w.path)}: ${safe(w.warning)}`);
        if (result.results.length === 0 && !p.source) {
          io.err(`nothing to sort: the library has no images${p.destination ? ' outside the destination' : ''}; give --source <folder> to index one`);
        }
        const summary = job.export?.summary ?? null;
        const csvPath = job.export?.csv ?? undefined;
        const exportedTo = new Map(summary?.exported.map((e) => [e.from, e.to]));
        if (verbose) {
          for (const r of result.results) {
            const to = exportedTo.get(r.file.path);
            io.err(`${safe(r.label)}\t${r.score.toFixed(3)}\t${safe(r.file.path)}${to ? ` → ${safe(to)}` : ''}`);
          }
        }
        if (values.json) {
          io.out(
            JSON.stringify({
              results: result.results.map((r) => ({
                path: r.file.path,
                label: r.label,
                score: r.score,
                scores: r.scores,
                exportedTo: exportedTo.get(r.file.path) ?? null,
              })),
              journal: summary?.journal ?? null,
              csv: csvPath ?? null,
              failed,
              ...(summary?.stopped ? { stopped: summary.stopped } : {}),
              ...(summary?.redirected.length ? { redirected: summary.redirected } : {}),
              ...(summary?.manifest ? { manifest: summary.manifest } : {}),
            }),
          );
        } else if (job.csvText !== undefined) {
          io.out(job.csvText);
        }

        const summaryOut = values.json || csvPath === undefined ? io.err : io.out;
        const counts = new Map<string, number>();
        for (const r of result.results) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
        const perLabel = [...result.labels, UNSURE_LABEL]
          .filter((l) => counts.has(l))
          .map((l) => `  ${safe(l)}: ${counts.get(l)}`)
          .join('\n');
        const lines = [`sorted ${result.results.length} images into ${result.labels.length} labels${perLabel ? `\n${perLabel}` : ''}`];
        if (summary) {
          lines.push(`${p.operation === 'move' ? 'moved' : 'copied'} ${summary.exported.length} files into ${safe(p.destination ?? '')}`);
          for (const r of summary.redirected) lines.push(`label "${safe(r.label)}" went to ${safe(r.folder)}: ${safe(r.reason)}`);
          if (summary.manifest) lines.push(`manifest: ${safe(summary.manifest)}  (check with: triagem verify-export "${safe(p.destination ?? '')}")`);
          lines.push(`journal: ${safe(summary.journal)}  (revert with: triagem undo "${safe(summary.journal)}")`);
        }
        if (csvPath !== undefined) lines.push(`results: ${safe(csvPath)}`);
        const few = result.fewShot;
        // On stderr even with --json: the user must know review marks changed the scores.
        const confirmed = Object.values(job.confirmed).reduce((a, b) => a + b, 0);
        if (confirmed > 0) io.err(`${confirmed} photo(s) confirmed in review used as examples (--no-confirmed to sort without them)`);
        if (few) {
          const shots = Object.entries(few.shots).map(([l, n]) => `${safe(l)} ${n}`).join(', ');
          lines.push(few.used ? `few-shot: examples ${shots}; blend ${few.blend} chosen by leave-one-out on them` : `few-shot: examples ${shots} did not beat the text alone; sorted by the text${few.note ? ` (${safe(few.note)})` : ''}`);
        }
        if (!values.json) summaryOut(lines.join('\n'));
        if (failed.length > 0 && !values.json) {
          io.err(`${failed.length} file(s) not sorted:\n${failed.map((f) => `  ${safe(f.path)}: ${safe(f.error)}`).join('\n')}`);
        }
        if (summary?.stopped) {
          const st = summary.stopped;
          io.err(
            [
              `triagem sort: stopped: ${safe(st.reason)} (${st.code}). ${summary.exported.length} files were ${p.operation === 'move' ? 'moved' : 'copied'} before the stop; ${st.notAttempted} were not tried and are where they were.`,
              ...(job.export?.csvError ? [job.export.csvError] : []),
              `Nothing was lost. Free some space and run the sort again, or revert what was done with: triagem undo "${safe(summary.journal)}"`,
            ].join('\n'),
          );
          return 1;
        }
        return 0;
      });
    } finally {
      stop.release();
    }
  },
};
