// Sort, export and undo: the Smart Image Sorter job. Every door sorts, exports and names the
// results CSV through these functions.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../engine/errors.js';
import { LIMITS } from '../shared/contract.js';
import { resultsCsv } from '../engine/export/csv.js';
import { exportSorted, recordOutput, type ExportOperation, type ExportSummary } from '../engine/export/export.js';
import { isInside } from '../engine/util/fs.js';
import { labelFolders, numberedName } from '../engine/export/names.js';
import { undoExport, type UndoSummary } from '../engine/export/undo.js';
import type { FileRecord } from '../engine/library/library.js';
import { UNSURE_LABEL, labelKey, normalizeLabels } from '../engine/sort/labels.js';
import { sortLibrary, type SortResult, type SortedFile } from '../engine/sort/sort.js';
import { validateTemplates } from '../engine/sort/templates.js';
import { examplesFromTree, type LabelExample } from '../engine/eval/examples.js';
import type { AppContext } from './context.js';
import { indexFolders, type IndexProgress } from './indexing.js';
import type { OcrProgress } from './ocr.js';
import type { ModelRequest } from './model-choice.js';
import { modelUse, type ModelUse } from './models.js';

export type { SortResult, SortedFile, ExportSummary, UndoSummary, ExportOperation };

export const RESULTS_CSV = 'triagem-results.csv';
/** The first cells of every results CSV: an explicit --output_file may replace only such a file. */
const CSV_HEADER_START = 'image_name,label,score';

export interface Failure {
  path: string;
  error: string;
}

export interface SortInput extends ModelRequest {
  labels: readonly string[];
  templates?: readonly string[];
  threshold?: number;
  /** Only the files below this folder (indexed first when needed). */
  source?: string;
  /** Paths never sorted (what earlier exports wrote). */
  exclude?: readonly string[];
  /**
   * Confirmed examples: a folder with one subfolder per label (indexed first), or (content id or
   * path, label) pairs. Each label then scores as its text plus its examples (few-shot).
   */
  examples?: string | readonly LabelExample[];
  /**
   * Photos a person confirmed in review join the examples of their labels (default true), read as
   * stored embeddings: no model runs for them. False sorts by the label texts (and `examples`) alone.
   */
  confirmed?: boolean;
  signal?: AbortSignal;
  onIndexProgress?: (p: IndexProgress | OcrProgress) => void;
  /** Told which model runs and why, before the work starts. */
  onModel?: (use: ModelUse) => void;
}

export interface SortOutcome {
  result: SortResult;
  model: ModelUse;
  /** Files that could not be sorted, and why (unreadable, not indexed with this model). */
  failed: Failure[];
  /** What indexing the source did, when a source was given. */
  indexed?: { indexed: number; reused: number; unchanged: number; skipped: number; durationMs: number };
  /** Sorted anyway, but the user should know: damaged images, links leading out of the source. */
  warnings: { path: string; warning: string }[];
  /** Photos confirmed in review offered as examples, per label (before any was skipped). */
  confirmed: Record<string, number>;
}

/** Checks labels, threshold and templates before anything is opened; throws TriagemError('invalid-labels'…). */
export function checkSortInput(input: Pick<SortInput, 'labels' | 'templates' | 'threshold'>): string[] {
  if (input.threshold !== undefined && !(input.threshold >= 0 && input.threshold <= 1)) {
    throw new TriagemError(`threshold must be between 0 and 1, got ${input.threshold}`, 'invalid-labels');
  }
  if (input.labels.length > LIMITS.labels) throw new TriagemError(`${input.labels.length} labels given; at most ${LIMITS.labels} can be sorted into at once`, 'invalid-labels');
  const long = input.labels.find((l) => l.length > LIMITS.labelChars);
  if (long !== undefined) throw new TriagemError(`a label is ${long.length} characters long; at most ${LIMITS.labelChars}`, 'invalid-labels');
  if (input.templates?.length) {
    if (input.templates.length > LIMITS.templates) throw new TriagemError(`${input.templates.length} templates given; at most ${LIMITS.templates}`, 'invalid-templates');
    if (input.templates.some((t) => t.length > LIMITS.templateChars)) throw new TriagemError(`a template is longer than ${LIMITS.templateChars} characters`, 'invalid-templates');
    validateTemplates([...input.templates]);
  }
  return normalizeLabels([...input.labels], input.threshold);
}

function insideAny(file: string, dirs: readonly string[]): boolean {
  return dirs.some((dir) => isInside(file, dir));
}

/**
 * What an export writes must never be indexed or sorted again (copies of copies). A destination
 * apart from the source, or inside it, is left out whole; a destination that holds the source
 * (sorting a folder into label folders beside or inside itself) loses only its label folders.
 */
export function exportedAreas(labels: readonly string[], destination: string | undefined, source: string | undefined): string[] {
  if (destination === undefined) return [];
  if (source === undefined || !isInside(source, destination)) return [destination];
  const folders = labelFolders(labels.includes(UNSURE_LABEL) ? labels : [...labels, UNSURE_LABEL]);
  return [...folders.values()].map((name) => path.join(destination, name));
}

/** Sorts the library (or one folder of it, indexed first) into labels; the run is kept for export. */
export async function sortImages(app: AppContext, input: SortInput): Promise<SortOutcome> {
  const labels = checkSortInput(input);
  const examplesDir = typeof input.examples === 'string' ? path.resolve(input.examples) : undefined;
  // Examples are what the user already sorted by hand: they are not sorted (or exported) again.
  const excluded = [...(input.exclude ?? []), ...(examplesDir ? [examplesDir] : [])];
  const failed = new Map<string, Failure>();
  let files: FileRecord[];
  let indexed: SortOutcome['indexed'];
  const warnings: SortOutcome['warnings'] = [];
  const request: ModelRequest = { model: input.model, precision: input.precision, texts: labels, locale: input.locale };
  if (input.source !== undefined) {
    const source = path.resolve(input.source);
    const run = await indexFolders(app, {
      ...request,
      folders: [source],
      exclude: excluded.filter((dir) => isInside(dir, source)),
      signal: input.signal,
      onProgress: input.onIndexProgress,
      onModel: input.onModel,
    });
    const s = run.summary;
    indexed = { indexed: s.indexed, reused: s.reused, unchanged: s.unchanged, skipped: s.skipped, durationMs: s.durationMs };
    for (const f of s.failed) failed.set(f.path, f);
    warnings.push(...s.warnings);
    const library = app.library('write');
    files = library.listFiles({ present: true, folders: [source] }).filter((f) => !insideAny(f.path, excluded));
    // Files that failed in an earlier run and did not change are not retried, but still belong in the report.
    for (const f of library.listFailures([source])) {
      if (!insideAny(f.path, excluded) && !failed.has(f.path)) failed.set(f.path, { path: f.path, error: f.error });
    }
  } else {
    files = app
      .library('write')
      .listFiles({ present: true })
      .filter((f) => !insideAny(f.path, excluded));
  }
  let examples: readonly LabelExample[] | undefined;
  if (examplesDir !== undefined) {
    const run = await indexFolders(app, { ...request, folders: [examplesDir], signal: input.signal, onProgress: input.onIndexProgress });
    for (const f of run.summary.failed) failed.set(f.path, { path: f.path, error: `example not usable: ${f.error}` });
    const tree = examplesFromTree(examplesDir);
    for (const p of tree.problems) failed.set(p.file, { path: p.file, error: p.message });
    examples = tree.examples;
  } else if (input.examples !== undefined && typeof input.examples !== 'string') {
    examples = input.examples;
  }
  const confirmed = input.confirmed === false ? {} : confirmedExamples(app, labels);
  const marks = Object.values(confirmed).reduce((a, b) => a + b.length, 0);
  if (marks > 0) examples = [...(examples ?? []), ...Object.values(confirmed).flat()];
  const open = await app.openModel(request);
  if (input.source === undefined && examplesDir === undefined) input.onModel?.(modelUse(open));
  const result = await sortLibrary({
    library: app.library('write'),
    model: open.model,
    labels,
    templates: input.templates ? [...input.templates] : undefined,
    threshold: input.threshold,
    files,
    examples,
    // A long-lived door keeps the embeddings in memory between sorts; a one-shot CLI run reads what it needs.
    embeddings: !app.config.oneShot && app.library('read').modelId(open.key) !== undefined ? app.embeddingMatrix(open.key) : undefined,
  });
  for (const f of result.unembedded) {
    failed.set(f.path, { path: f.path, error: `not indexed with ${open.key}; run \`triagem index\` on its folder` });
  }
  app.keepRun(result);
  const offered = Object.fromEntries(labels.map((l) => [l, confirmed[l]?.length ?? 0]));
  return { result, model: modelUse(open), failed: [...failed.values()], indexed, warnings, confirmed: offered };
}

/** The library's confirmed marks for these labels (matched as labels are: case, accents, spacing), per label. */
function confirmedExamples(app: AppContext, labels: readonly string[]): Record<string, LabelExample[]> {
  if (!app.libraryExists()) return {};
  const byKey = new Map(labels.map((l) => [labelKey(l), l]));
  const out: Record<string, LabelExample[]> = {};
  for (const m of app.library('write').confirmedLabels()) {
    const label = byKey.get(labelKey(m.label));
    if (label !== undefined) (out[label] ??= []).push({ contentId: m.contentId, label });
  }
  return out;
}

export interface ExportInput {
  /** Default: the latest sort run. */
  runId?: number;
  /**
   * The folders the user chose to sort: only files whose real path is inside them are copied or
   * moved (a link in a scraped archive must not pull in files from elsewhere). Without them, any
   * file reached through a link is refused.
   */
  sources?: readonly string[];
  destination: string;
  operation: ExportOperation | 'none';
  /** Results CSV path; default `<destination>/triagem-results.csv`, numbered when taken. */
  csvPath?: string;
  onProgress?: (done: number, total: number, current: string) => void;
  signal?: AbortSignal;
}

export interface ExportOutcome {
  runId: number;
  labels: string[];
  destination: string;
  operation: ExportOperation | 'none';
  /** Null when nothing was copied or moved. */
  summary: ExportSummary | null;
  /** Null when the export stopped (disk full) before the CSV could be written. */
  csv: string | null;
  /** Why the CSV was not written, after a stopped export. */
  csvError?: string;
}

/** A destination that exists must be a folder; checked before anything is written. */
export function checkDestination(destination: string): string {
  const abs = path.resolve(destination);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) throw new TriagemError('exists and is not a folder', 'not-a-folder', abs);
  return abs;
}

/** An explicit output path may replace an earlier results CSV, never any other file. */
export function checkCsvPath(file: string): string {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) return abs;
  let head = '';
  try {
    const fd = fs.openSync(abs, 'r');
    try {
      const buf = Buffer.alloc(CSV_HEADER_START.length);
      fs.readSync(fd, buf, 0, buf.length, 0);
      head = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new TriagemError(`cannot be read: ${errorMessage(err)}`, 'unreadable', abs);
  }
  if (head !== CSV_HEADER_START) throw new TriagemError('exists and is not a results CSV; refusing to overwrite it', 'exists', abs);
  return abs;
}

/**
 * Writes the results CSV: to `explicit` (replacing only an earlier results CSV), else as
 * `<destination>/triagem-results.csv`, or `triagem-results (n).csv` when an earlier run left one.
 * Written beside and renamed, so a reader never sees half a CSV; a failed write leaves no temporary
 * file. With a journal, the CSV is recorded there *before* it is written, so undo removes it even
 * after a crash in between.
 */
export async function writeResultsCsv(
  labels: readonly string[],
  results: readonly SortedFile[],
  target: { explicit?: string; destination?: string; journal?: string },
): Promise<string> {
  const csv = resultsCsv(labels, results);
  const record = async (file: string) => {
    if (target.journal && target.destination && isInside(file, target.destination)) {
      await recordOutput(target.journal, file, { sha256: createHash('sha256').update(csv, 'utf8').digest('hex') });
    }
  };
  const write = (file: string, flag: 'w' | 'wx') => {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, csv, { encoding: 'utf8', flag: 'wx' });
      if (flag === 'wx' && fs.existsSync(file)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
      fs.renameSync(tmp, file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  };
  if (target.explicit) {
    const file = checkCsvPath(target.explicit);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await record(file);
    write(file, 'w');
    return file;
  }
  if (!target.destination) throw new TriagemError('a results CSV needs a destination folder or a file name', 'usage');
  fs.mkdirSync(target.destination, { recursive: true });
  for (let n = 0; ; n++) {
    const file = path.join(target.destination, numberedName(RESULTS_CSV, n));
    if (fs.existsSync(file)) continue;
    await record(file);
    try {
      write(file, 'wx');
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Copies or moves a sort run into label folders and writes its results CSV; undoable from the journal. */
export async function exportRun(app: AppContext, input: ExportInput): Promise<ExportOutcome> {
  const run = app.sortRun(input.runId);
  const destination = checkDestination(input.destination);
  fs.mkdirSync(destination, { recursive: true });
  const summary =
    input.operation === 'none' || run.results.length === 0
      ? null
      : await exportSorted({
          results: run.results,
          labels: run.labels,
          destination,
          operation: input.operation,
          sources: input.sources,
          library: app.library('write'),
          onProgress: input.onProgress,
          signal: input.signal,
        });
  const out: ExportOutcome = { runId: run.runId, labels: run.labels, destination, operation: input.operation, summary, csv: null };
  try {
    out.csv = await writeResultsCsv(run.labels, run.results, { explicit: input.csvPath, destination, journal: summary?.journal });
  } catch (err) {
    // After a stopped export (disk full) the summary and the journal path matter most.
    if (!summary?.stopped) throw err;
    out.csvError = `results CSV not written: ${errorMessage(err)}`;
  }
  // A moved file's library row now points at its new path: search must not offer the old one.
  if (input.operation === 'move') app.invalidateSearch();
  return out;
}

export interface SortJob extends SortInput {
  destination?: string;
  operation: ExportOperation | 'none';
  csvPath?: string;
  onExportProgress?: (done: number, total: number, current: string) => void;
}

export interface SortJobOutcome extends SortOutcome {
  export: ExportOutcome | null;
  /** The CSV text, when it was not written to a file (no destination and no csvPath). */
  csvText?: string;
}

/** The whole Smart Image Sorter job: index the source if given, sort, export, write the CSV. */
export async function sortJob(app: AppContext, job: SortJob): Promise<SortJobOutcome> {
  const labels = checkSortInput(job);
  const destination = job.destination !== undefined ? checkDestination(job.destination) : undefined;
  const csvPath = job.csvPath !== undefined ? checkCsvPath(job.csvPath) : undefined;
  if (job.operation !== 'none' && destination === undefined) throw new TriagemError(`operation ${job.operation} needs a destination folder`, 'usage');
  const source = job.source !== undefined ? path.resolve(job.source) : undefined;
  if (source !== undefined && !(fs.existsSync(source) && fs.statSync(source).isDirectory())) throw new TriagemError('is not a folder', 'not-a-folder', source);
  const sorted = await sortImages(app, { ...job, source, exclude: [...(job.exclude ?? []), ...exportedAreas(labels, destination, source)] });
  if (destination === undefined && csvPath === undefined) {
    return { ...sorted, export: null, csvText: resultsCsv(sorted.result.labels, sorted.result.results) };
  }
  if (destination === undefined) {
    const csv = await writeResultsCsv(sorted.result.labels, sorted.result.results, { explicit: csvPath });
    return { ...sorted, export: { runId: sorted.result.runId, labels: sorted.result.labels, destination: path.dirname(csv), operation: 'none', summary: null, csv } };
  }
  const exported = await exportRun(app, {
    runId: sorted.result.runId,
    destination,
    operation: job.operation,
    csvPath,
    sources: source !== undefined ? [source] : undefined,
    onProgress: job.onExportProgress,
    signal: job.signal,
  });
  if (exported.summary) sorted.failed.push(...exported.summary.failed);
  return { ...sorted, export: exported };
}

/**
 * Reverts an export from its journal. With `ownLibraryOnly` (the app and the bridge) only journals
 * of this library's exports are accepted: a path handed in from outside is not enough.
 */
export async function undo(app: AppContext, journal: string, opts: { ownLibraryOnly?: boolean } = {}): Promise<UndoSummary> {
  const library = opts.ownLibraryOnly || app.libraryExists() ? app.library('write') : undefined;
  try {
    return await undoExport(journal, opts.ownLibraryOnly ? { library } : {});
  } finally {
    app.invalidateSearch();
  }
}
