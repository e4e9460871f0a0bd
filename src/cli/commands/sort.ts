import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, UsageError, errorMessage } from '../../engine/errors.js';
import { resultsCsv } from '../../engine/export/csv.js';
import { exportSorted, recordOutput, type ExportSummary } from '../../engine/export/export.js';
import { isInside } from '../../engine/export/files.js';
import { labelFolders, numberedName } from '../../engine/export/names.js';
import { indexFolders, type IndexProgress } from '../../engine/indexer/indexer.js';
import { Library, type FileRecord } from '../../engine/library/library.js';
import type { ClipModel } from '../../engine/models/types.js';
import { resolveLibraryPath } from '../../engine/paths.js';
import { UNSURE_LABEL, combineLabels, normalizeLabels, parseLabelList } from '../../engine/sort/labels.js';
import { findPreset, loadPresets } from '../../engine/sort/presets.js';
import { sortLibrary } from '../../engine/sort/sort.js';
import { DEFAULT_TEMPLATES, parseTemplates } from '../../engine/sort/templates.js';
import { COMMON_OPTIONS, intOption, numberOption, parse, type CliIo, type Command } from '../command.js';
import { MODEL_OPTIONS, openModelForCli, parseDevice, parsePrecision } from '../model-options.js';

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
  // Smart Image Sorter spells these with underscores; the dashed forms are accepted too.
  output_file: { type: 'string' },
  'output-file': { type: 'string' },
  batch_size: { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

const OPERATIONS = ['copy', 'move', 'none'] as const;
type Operation = (typeof OPERATIONS)[number];

export const RESULTS_CSV = 'triagem-results.csv';
const CSV_HEADER_START = 'image_name,label,score';

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
  --output_file <csv>    results CSV (UTF-8, RFC 4180): image_name,label,score,path,sha256, then
                         score:<label> per label. Default: <destination>/${RESULTS_CSV} (numbered if
                         taken) when there is a destination, else printed to stdout (unless --json).
                         An existing file is replaced only if it is an earlier results CSV
  --json                 print {"results":[{path,label,score}],"journal","csv","failed"} to stdout, plus
                         "manifest" (the export's manifest-sha256.txt), "redirected" (labels whose
                         folder name was taken by a link or file) and "stopped" (disk full) when set
  --model <id|folder>    model to use (default clip-vit-b32); --models-dir <dir> where models live
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

interface Failure {
  path: string;
  error: string;
}

interface SortPlan {
  labels: string[];
  templates?: string[];
  threshold?: number;
  operation: Operation;
  source?: string;
  destination?: string;
  outputFile?: string;
  batchSize?: number;
}

/** Every usage mistake is caught here, before a model or library is opened. */
function plan(values: ReturnType<typeof parse<typeof OPTIONS>>['values']): SortPlan {
  const threshold = numberOption(values.threshold, 'threshold');
  if (threshold !== undefined && (threshold < 0 || threshold > 1)) {
    throw new UsageError(`--threshold must be between 0 and 1, got "${values.threshold}"`);
  }
  const { labels, templates } = labelsAndTemplates(values, threshold);
  const op = values.operation ?? (values.destination !== undefined ? 'copy' : 'none');
  if (!(OPERATIONS as readonly string[]).includes(op)) {
    throw new UsageError(`--operation must be copy, move or none, got "${op}"`);
  }
  const operation = op as Operation;
  if (operation !== 'none' && values.destination === undefined) {
    throw new UsageError(`--operation ${operation} needs --destination <folder>`);
  }
  const source = values.source !== undefined ? path.resolve(values.source) : undefined;
  if (source !== undefined && !isDirectory(source)) throw new UsageError(`--source ${source} is not a folder`);
  const destination = values.destination !== undefined ? path.resolve(values.destination) : undefined;
  if (destination !== undefined && fs.existsSync(destination) && !isDirectory(destination)) {
    throw new UsageError(`--destination ${destination} exists and is not a folder`);
  }
  const outputFlag = values.output_file ?? values['output-file'];
  const outputFile = outputFlag !== undefined ? path.resolve(outputFlag) : undefined;
  if (outputFile !== undefined) checkOutputFile(outputFile);
  const batchFlag = values.batch_size ?? values['batch-size'];
  const batchSize = batchFlag !== undefined ? intOption(batchFlag, 'batch_size', 1) : undefined;
  parseDevice(values.device);
  parsePrecision(values.precision);
  return { labels, templates, threshold, operation, source, destination, outputFile, batchSize };
}

/** Engine validation errors (bad label list, unknown preset, template without {}) are usage errors here. */
function labelsAndTemplates(
  values: { preset?: string; labels?: string; templates?: string },
  threshold: number | undefined,
): { labels: string[]; templates?: string[] } {
  try {
    const preset = values.preset !== undefined ? findPreset(values.preset).labels : [];
    const given = values.labels !== undefined ? parseLabelList(values.labels) : [];
    if (preset.length + given.length === 0) throw new UsageError('give labels with --labels "a, b, c" or --preset <name>');
    // A label the preset already has may be repeated in --labels; the same label twice in --labels is refused.
    return {
      labels: normalizeLabels(combineLabels(preset, given).labels, threshold),
      templates: values.templates !== undefined ? parseTemplates(values.templates) : undefined,
    };
  } catch (err) {
    if (err instanceof TriagemError) throw new UsageError(err.message);
    throw err;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** An explicit output path may replace an earlier results CSV, never any other file. */
function checkOutputFile(file: string): void {
  if (!fs.existsSync(file)) return;
  let head = '';
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(CSV_HEADER_START.length);
    fs.readSync(fd, buf, 0, buf.length, 0);
    fs.closeSync(fd);
    head = buf.toString('utf8');
  } catch (err) {
    throw new UsageError(`--output_file ${file} cannot be read: ${errorMessage(err)}`);
  }
  if (head !== CSV_HEADER_START) {
    throw new UsageError(`--output_file ${file} exists and is not a results CSV; refusing to overwrite it`);
  }
}

/**
 * Progress on stderr: one redrawn line on a terminal; when stderr is a file or pipe, a plain line
 * every ten seconds, so a long unattended run still shows it is alive without flooding a log.
 */
function progressLine(io: CliIo): { update(text: string): void; done(): void } {
  let last = 0;
  let drawn = false;
  const started = Date.now();
  return {
    update(text) {
      const now = Date.now();
      if (!io.isTty) {
        if (now - Math.max(last, started) < 10_000) return;
        last = now;
        io.err(text);
        return;
      }
      if (now - last < 100) return;
      last = now;
      drawn = true;
      process.stderr.write(`\r${text.slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
      drawn = false;
    },
  };
}

function describeIndexProgress(p: IndexProgress): string {
  if (p.phase === 'scan') return `scanning… ${p.done} files found`;
  const eta = p.etaSec !== null ? `, ~${Math.ceil(p.etaSec)} s left` : '';
  return `indexing ${p.done}/${p.total} (${p.ratePerSec.toFixed(1)}/s${eta}${p.failed ? `, ${p.failed} failed` : ''})`;
}

/** Indexes `source`, then returns the present files below it, leaving out what earlier exports wrote. */
async function indexSource(
  library: Library,
  model: ClipModel,
  source: string,
  excluded: readonly string[],
  batchSize: number | undefined,
  io: CliIo,
  verbose: boolean,
): Promise<{ files: FileRecord[]; failed: Failure[] }> {
  const progress = progressLine(io);
  const summary = await indexFolders({
    library,
    model,
    folders: [source],
    exclude: excluded.filter((dir) => isInside(dir, source)),
    batchSize,
    onProgress: (p) => progress.update(describeIndexProgress(p)),
  });
  progress.done();
  if (verbose || summary.indexed > 0) {
    io.err(
      `indexed ${summary.indexed} new or changed (${summary.reused} reused an embedding), ${summary.unchanged} unchanged, ${summary.skipped} non-images skipped, ${summary.failed.length} failed (${(summary.durationMs / 1000).toFixed(1)} s)`,
    );
  }
  // Damaged images sorted anyway, links leading out of the source (not followed): the user should know.
  for (const w of summary.warnings) io.err(`warning: ${w.path}: ${w.warning}`);
  const files = library.listFiles({ present: true, folders: [source] }).filter((f) => !insideAny(f.path, excluded));
  // Files that failed in an earlier run and did not change are not retried, but still belong in the report.
  const failed = new Map<string, Failure>(summary.failed.map((f) => [f.path, f]));
  for (const f of library.listFailures([source])) {
    if (!insideAny(f.path, excluded) && !failed.has(f.path)) failed.set(f.path, { path: f.path, error: f.error });
  }
  return { files, failed: [...failed.values()] };
}

function insideAny(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => isInside(file, dir));
}

/**
 * What an export writes must never be indexed or sorted again (copies of copies). A destination
 * apart from the source, or inside it, is left out whole; a destination that holds the source
 * (sorting a folder into label folders beside or inside itself) loses only its label folders.
 */
function exportedAreas(p: SortPlan): string[] {
  if (p.destination === undefined) return [];
  if (p.source === undefined || !isInside(p.source, p.destination)) return [p.destination];
  const folders = labelFolders(p.labels.includes(UNSURE_LABEL) ? p.labels : [...p.labels, UNSURE_LABEL]);
  return [...folders.values()].map((name) => path.join(p.destination as string, name));
}

function writeCsvFile(file: string, csv: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write beside, then rename: a reader never sees half a CSV, and a failed run leaves the old one
  // (and no half-written temporary file, e.g. when the disk is full).
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, csv, { encoding: 'utf8', flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** `<destination>/triagem-results.csv`, or `triagem-results (n).csv` when an earlier run left one. */
function defaultCsvPath(destination: string): string {
  for (let n = 0; ; n++) {
    const candidate = path.join(destination, numberedName(RESULTS_CSV, n));
    if (!fs.existsSync(candidate)) return candidate;
  }
}

export const sortCommand: Command = {
  name: 'sort',
  summary: 'Sort images into labels (copy/move into label folders, CSV/JSON results, undoable)',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, OPTIONS, false);
    const p = plan(values);
    const verbose = values.verbose ?? false;
    const excluded = exportedAreas(p);

    // The model first: a missing model should not leave an empty library file behind.
    const model = await openModelForCli({
      model: values.model,
      modelsDir: values['models-dir'],
      device: values.device,
      precision: values.precision,
      batchSize: p.batchSize,
      io,
      verbose,
    });
    let library: Library | undefined;
    try {
      library = Library.open(resolveLibraryPath(values.library));
      let files: FileRecord[];
      const failed: Failure[] = [];
      if (p.source !== undefined) {
        const indexed = await indexSource(library, model, p.source, excluded, p.batchSize, io, verbose);
        files = indexed.files;
        failed.push(...indexed.failed);
      } else {
        files = library.listFiles({ present: true }).filter((f) => !insideAny(f.path, excluded));
        if (files.length === 0) {
          io.err(`nothing to sort: the library has no images${excluded.length ? ' outside the destination' : ''}; give --source <folder> to index one`);
        }
      }

      const result = await sortLibrary({ library, model, labels: p.labels, templates: p.templates, threshold: p.threshold, files });
      const key = library.modelKey(model.info);
      for (const f of result.unembedded) {
        failed.push({ path: f.path, error: `not indexed with ${key}; run \`triagem index\` on its folder` });
      }

      let exported: ExportSummary | undefined;
      // No files, no journal: an empty one would only be something to clean up.
      if (p.operation !== 'none' && p.destination !== undefined && result.results.length > 0) {
        const progress = progressLine(io);
        exported = await exportSorted({
          results: result.results,
          labels: result.labels,
          destination: p.destination,
          operation: p.operation,
          sources: p.source !== undefined ? [p.source] : undefined,
          library,
          onProgress: (done, total) => progress.update(`${p.operation === 'move' ? 'moving' : 'copying'} ${done}/${total}`),
        });
        progress.done();
        failed.push(...exported.failed);
      }

      let csvPath = p.outputFile ?? (p.destination !== undefined ? defaultCsvPath(p.destination) : undefined);
      const csv = resultsCsv(result.labels, result.results);
      let csvError: string | undefined;
      if (csvPath !== undefined) {
        try {
          // Journaled before it is written: undo then removes it even after a crash in between.
          if (exported && isInside(csvPath, p.destination as string)) {
            await recordOutput(exported.journal, csvPath, { sha256: createHash('sha256').update(csv, 'utf8').digest('hex') });
          }
          writeCsvFile(csvPath, csv);
        } catch (err) {
          // After a stopped export (full disk) the summary and journal path still matter most.
          if (!exported?.stopped) throw err;
          csvError = `results CSV not written: ${errorMessage(err)}`;
          csvPath = undefined;
        }
      }

      const exportedTo = new Map(exported?.exported.map((e) => [e.from, e.to]));
      if (verbose) {
        for (const r of result.results) {
          const to = exportedTo.get(r.file.path);
          io.err(`${r.label}\t${r.score.toFixed(3)}\t${r.file.path}${to ? ` → ${to}` : ''}`);
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
            journal: exported?.journal ?? null,
            csv: csvPath ?? null,
            failed,
            ...(exported?.stopped ? { stopped: exported.stopped } : {}),
            ...(exported?.redirected.length ? { redirected: exported.redirected } : {}),
            ...(exported?.manifest ? { manifest: exported.manifest } : {}),
          }),
        );
      } else if (csvPath === undefined && !exported?.stopped) {
        io.out(csv);
      }

      const summaryOut = values.json || csvPath === undefined ? io.err : io.out;
      const counts = new Map<string, number>();
      for (const r of result.results) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
      const perLabel = [...result.labels, UNSURE_LABEL]
        .filter((l) => counts.has(l))
        .map((l) => `  ${l}: ${counts.get(l)}`)
        .join('\n');
      const lines = [`sorted ${result.results.length} images into ${result.labels.length} labels${perLabel ? `\n${perLabel}` : ''}`];
      if (exported) {
        lines.push(`${p.operation === 'move' ? 'moved' : 'copied'} ${exported.exported.length} files into ${p.destination}`);
        for (const r of exported.redirected) lines.push(`label "${r.label}" went to ${r.folder}: ${r.reason}`);
        if (exported.manifest) lines.push(`manifest: ${exported.manifest}  (check with: triagem verify-export "${p.destination}")`);
        lines.push(`journal: ${exported.journal}  (revert with: triagem undo "${exported.journal}")`);
      }
      if (csvPath !== undefined) lines.push(`results: ${csvPath}`);
      if (!values.json) summaryOut(lines.join('\n'));
      if (failed.length > 0 && !values.json) {
        io.err(`${failed.length} file(s) not sorted:\n${failed.map((f) => `  ${f.path}: ${f.error}`).join('\n')}`);
      }
      if (exported?.stopped) {
        const s = exported.stopped;
        io.err(
          [
            `triagem sort: stopped: ${s.reason} (${s.code}). ${exported.exported.length} files were ${p.operation === 'move' ? 'moved' : 'copied'} before the stop; ${s.notAttempted} were not tried and are where they were.`,
            ...(csvError ? [csvError] : []),
            `Nothing was lost. Free some space and run the sort again, or revert what was done with: triagem undo "${exported.journal}"`,
          ].join('\n'),
        );
        return 1;
      }
      return 0;
    } finally {
      library?.close();
      await model.close();
    }
  },
};
