// The contract served to the Electron utility process, the browser bridge and tests: one handler per
// op, each input validated by the contract's schema first, each calling one use case of this layer.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  contract,
  parseInput,
  zodWireError,
  type EventName,
  type EventPayload,
  type CutoffInfo,
  type DuplicateFile,
  type EvaluationSide as EvaluationSideOutput,
  type FileHit,
  type OpName,
  type OpOutput,
  type OpParsedInput,
  type OpResult,
  type WireError,
} from '../shared/contract.js';
import type { Unsubscribe } from '../shared/client.js';
import type { EngineEndpoint, EventListener } from '../shared/rpc.js';
import { TriagemError, UsageError, errorMessage } from '../engine/errors.js';
import type { FileRecord } from '../engine/library/library.js';
import type { DeviceRequest } from '../engine/models/types.js';
import type { SearchOptions, SearchResponse } from '../engine/search/search.js';
import { UNSURE_LABEL } from '../engine/sort/labels.js';
import { AppContext } from './context.js';
import type { Cutoff } from '../engine/search/cutoff.js';
import { facets, fileDetails, fileItems, preview, queryFiles } from './browse.js';
import { decideDuplicates, reviewDuplicates } from './duplicates-review.js';
import { planExport, runExportPlan } from './export-plan.js';
import { listFolder } from './folders.js';
import { indexFolders, type IndexProgress } from './indexing.js';
import type { OcrProgress } from './ocr.js';
import { ocrState, searchImageTextOnly, setOcrEnabled } from './ocr.js';
import { downloadModel, importModel, listModels } from './models.js';
import { markFiles, presets, runSummary, setThresholds, undoMark } from './review.js';
import { tagFileIds, tagList } from './tags.js';
import { findDuplicates, searchSimilar, searchText } from './searching.js';
import { exportRun, sortImages, undo } from './sorting.js';
import { evaluateSort, kappaBand, type EvaluationSide as EngineEvaluationSide } from './evaluation.js';
import { thumbnail, thumbnailBytes } from './thumbnails.js';

export interface EngineServiceOptions {
  libraryPath: string;
  modelsDir: string;
  device: DeviceRequest;
  /** ONNX Runtime threads per session; default: all cores. */
  threads?: number;
  /** The UI language; steers the default model (multilingual for Portuguese). */
  locale?: string;
  /** Check every output against the contract too (tests; costs a parse per answer). */
  checkOutputs?: boolean;
}

type Handler<K extends OpName> = (input: OpParsedInput<K>) => Promise<OpOutput<K>>;
export type Handlers = { [K in OpName]: Handler<K> };

export interface EngineService extends EngineEndpoint {
  readonly options: Readonly<EngineServiceOptions>;
  /** Cancels a running job, releases models and closes the library. */
  close(): Promise<void>;
}

/** Turns anything thrown into the wire's error shape; only TriagemError messages are meant for users as-is. */
export function toWireError(err: unknown): WireError {
  if (err instanceof TriagemError) return { code: err.code, message: err.message, ...(err.file ? { file: err.file } : {}) };
  if (err instanceof UsageError) return { code: 'usage', message: err.message };
  if (err instanceof Error && err.name === 'AbortError') return { code: 'cancelled', message: 'cancelled' };
  return { code: 'internal', message: errorMessage(err) };
}

function toHit(f: FileRecord): FileHit {
  return { fileId: f.id, contentId: f.contentId, sha256: f.sha256, path: f.path, name: f.name, width: f.width, height: f.height, takenAt: f.takenAt };
}

/** JSON has no Infinity: a degenerate background (one image) must not break the answer. */
function finite(n: number): number {
  return Number.isFinite(n) ? n : 0;
}

function cutoffOutput(cutoff: Cutoff | null): CutoffInfo | null {
  if (!cutoff) return null;
  return {
    threshold: finite(cutoff.threshold),
    floor: finite(cutoff.floor),
    strong: finite(cutoff.strong),
    gapAfter: cutoff.gapAfter,
    reason: cutoff.reason,
    background: { mean: finite(cutoff.background.mean), sd: finite(cutoff.background.sd), count: cutoff.background.count },
  };
}

function duplicateFile(f: FileRecord, choice: DuplicateFile['choice']): DuplicateFile {
  return {
    fileId: f.id,
    contentId: f.contentId,
    sha256: f.sha256,
    path: f.path,
    name: f.name,
    folder: f.folder,
    width: f.width,
    height: f.height,
    size: f.size,
    takenAt: f.takenAt,
    mtimeMs: f.mtimeMs,
    choice,
  };
}

function searchOptions(input: OpParsedInput<'search.text'> | OpParsedInput<'search.similar'>): SearchOptions {
  return { limit: input.limit, filters: input.filters, cutoff: input.cutoff, minScore: input.minScore, ...(input.text ? { text: input.text } : {}) };
}

function searchOutput(response: Pick<SearchResponse, 'hits' | 'tookMs'> & Partial<Pick<SearchResponse, 'modelKey' | 'belowCutoff' | 'considered' | 'cutoff'>>): OpOutput<'search.text'> {
  return {
    modelKey: response.modelKey ?? '',
    tookMs: response.tookMs,
    cutoff: cutoffOutput(response.cutoff ?? null),
    belowCutoff: response.belowCutoff ?? 0,
    considered: response.considered ?? 0,
    hits: response.hits.map((h) => ({ ...toHit(h.files[0]), score: h.score, paths: h.paths, ...(h.ocrSnippet ? { ocrSnippet: h.ocrSnippet } : {}) })),
  };
}

const BANDS: Record<string, EvaluationSideOutput['kappaBand']> = {
  'worse than chance': 'worse-than-chance',
  slight: 'slight',
  fair: 'fair',
  moderate: 'moderate',
  substantial: 'substantial',
  'almost perfect': 'almost-perfect',
};

/** The engine's report (JSON keys of `triagem eval --json`) in the contract's camelCase. */
function evaluationSide(s: EngineEvaluationSide): EvaluationSideOutput {
  const band = kappaBand(s.kappa);
  const suggestion = s.sweep?.suggestion;
  return {
    n: s.n,
    labels: s.labels,
    columns: s.columns,
    accuracy: s.accuracy,
    macroF1: s.macro_f1,
    kappa: s.kappa,
    kappaBand: band === null ? null : (BANDS[band] ?? null),
    kappaNote: s.kappa_note,
    baselineLabel: s.baseline_label,
    baselineAccuracy: s.baseline_accuracy,
    perLabel: s.per_label,
    confusion: s.confusion,
    curves: s.label_curves
      ? Object.fromEntries(Object.entries(s.label_curves).map(([l, c]) => [l, { positives: c.positives, averagePrecision: c.average_precision, points: c.points }]))
      : null,
    suggestion: suggestion
      ? {
          targetPrecision: suggestion.target_precision,
          threshold: suggestion.threshold,
          precision: suggestion.precision,
          recall: suggestion.recall,
          coverage: suggestion.coverage,
          kept: suggestion.kept,
        }
      : null,
  };
}

/** Progress is for eyes: more than ~10 updates a second only floods IPC and SSE. */
const PROGRESS_INTERVAL_MS = 100;

interface IndexJob {
  id: string;
  folders: string[];
  startedAt: number;
  progress: EventPayload<'index.progress'> | null;
  controller: AbortController;
  done: Promise<unknown>;
}

interface DownloadJob {
  id: string;
  controller: AbortController;
  progress: EventPayload<'models.progress'> | null;
}

export function createEngineService(options: EngineServiceOptions): EngineService {
  const listeners = new Set<EventListener>();
  const app = new AppContext({
    libraryPath: path.resolve(options.libraryPath),
    modelsDir: options.modelsDir,
    device: options.device,
    threads: options.threads,
    locale: options.locale,
  });
  let job: IndexJob | undefined;
  let download: DownloadJob | undefined;

  function emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    if (event === 'index.progress' && job) job.progress = payload as EventPayload<'index.progress'>;
    if (event === 'models.progress' && download) download.progress = payload as EventPayload<'models.progress'>;
    for (const l of listeners) l(event, payload);
  }

  function progressRelay(jobId: string): (p: IndexProgress | OcrProgress) => void {
    let last = 0;
    let lastPhase: (IndexProgress | OcrProgress)['phase'] | undefined;
    let lastCounts = '';
    return (p) => {
      const now = Date.now();
      const counts = `${p.phase}:${p.done}:${p.total}:${p.failed}`;
      if (counts === lastCounts) return;
      const final = p.phase !== 'scan' && p.done === p.total;
      if (!final && p.phase === lastPhase && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      lastPhase = p.phase;
      lastCounts = counts;
      emit('index.progress', {
        jobId,
        phase: p.phase,
        done: p.done,
        total: p.total,
        failed: p.failed,
        rate: Number.isFinite(p.ratePerSec) ? Math.max(0, p.ratePerSec) : 0,
        eta: p.etaSec !== null && Number.isFinite(p.etaSec) ? Math.max(0, p.etaSec) : null,
        ...(p.current ? { current: p.current } : {}),
        ...(p.phase === 'ocr' ? { withText: p.withText, gated: p.gated } : {}),
      });
    };
  }

  const handlers: Handlers = {
    async 'models.list'() {
      const list = await listModels(app);
      const defaultFor = new Map((await app.modelCandidates()).map((c) => [c.id, c.defaultFor]));
      return {
        modelsDir: app.config.modelsDir,
        current: null,
        models: list.map((m) => ({
          id: m.id,
          dir: m.dir ?? path.join(app.config.modelsDir, m.id),
          name: m.name,
          ...(m.description ? { description: m.description } : {}),
          languages: m.languages,
          family: m.family ?? null,
          precisions: m.installed ? m.installedPrecisions : m.availablePrecisions,
          installed: m.installed,
          inCatalog: m.inCatalog,
          isDefault: m.default,
          ...(m.problem ? { error: m.problem } : {}),
          defaultFor: [...(defaultFor.get(m.id) ?? [])],
          ...(m.defaultPrecision ? { defaultPrecision: m.defaultPrecision } : {}),
          downloadBytes: Object.fromEntries(Object.entries(m.downloadBytes).map(([p, size]) => [p, size?.bytes ?? 0])),
          ...(m.installedBytes !== undefined ? { installedBytes: m.installedBytes } : {}),
        })),
      };
    },

    async 'library.open'(input) {
      if (input.path) {
        if (job) throw new TriagemError('an index job is running; cancel it before switching libraries', 'busy');
        app.switchLibrary(input.path);
      }
      const library = app.library('write');
      const counts = library.counts();
      return {
        path: library.file,
        files: counts.presentFiles,
        contents: counts.contents,
        failures: counts.failures,
        models: library.listModels().map((m) => ({ key: m.key, dim: m.dim, embedded: m.count })),
      };
    },

    async 'index.start'(input) {
      if (job) throw new TriagemError(`an index job is already running (${job.id})`, 'busy');
      const jobId = randomUUID();
      const controller = new AbortController();
      const started = Date.now();
      const run = indexFolders(app, {
        folders: input.folders,
        model: input.model,
        precision: input.precision,
        thumbnails: input.thumbnails,
        ocr: input.ocr === undefined ? undefined : { enabled: input.ocr },
        signal: controller.signal,
        onProgress: progressRelay(jobId),
      });
      job = { id: jobId, folders: input.folders, startedAt: started, progress: null, controller, done: run.catch(() => undefined) };
      try {
        const { summary, modelKey, ocr } = await run;
        return {
          jobId,
          modelKey,
          cancelled: summary.cancelled === true || controller.signal.aborted,
          indexed: summary.indexed,
          skipped: summary.skipped,
          unchanged: summary.unchanged,
          reused: summary.reused,
          missing: summary.missing ?? 0,
          failed: summary.failed,
          warnings: summary.warnings,
          durationMs: summary.durationMs,
          ...(ocr
            ? { ocr: { pending: ocr.pending, withText: ocr.withText, empty: ocr.empty, gated: ocr.gated, failed: ocr.failed, cancelled: ocr.cancelled === true } }
            : {}),
        };
      } catch (err) {
        // Work done before the cancel is committed batch by batch; the next run picks up from there.
        if (controller.signal.aborted) {
          return { jobId, modelKey: '', cancelled: true, indexed: 0, skipped: 0, unchanged: 0, reused: 0, missing: 0, failed: [], warnings: [], durationMs: Date.now() - started };
        }
        throw err;
      } finally {
        job = undefined;
      }
    },

    async 'index.cancel'(input) {
      if (!job || (input.jobId !== undefined && input.jobId !== job.id)) return { cancelled: false };
      job.controller.abort();
      return { cancelled: true };
    },

    async 'sort.run'(input) {
      const { result } = await sortImages(app, input);
      const counts: Record<string, number> = {};
      for (const label of result.labels) counts[label] = 0;
      if (input.threshold !== undefined) counts[UNSURE_LABEL] = 0;
      for (const r of result.results) counts[r.label] = (counts[r.label] ?? 0) + 1;
      const best = [...result.results].sort((a, b) => b.score - a.score).slice(0, input.limit);
      const few = result.fewShot;
      return {
        runId: result.runId,
        fewShot: few ? { shots: few.shots, used: few.used, blend: few.blend, note: few.note } : null,
        labels: result.labels,
        counts,
        total: result.results.length,
        unembedded: result.unembedded.length,
        results: best.map((r) => ({ ...toHit(r.file), label: r.label, score: r.score })),
      };
    },

    async 'export.run'(input) {
      const out = await exportRun(app, input);
      const stop = out.summary?.stopped;
      if (stop || out.csv === null) {
        const done = out.summary?.exported.length ?? 0;
        throw new TriagemError(
          `stopped: ${stop?.reason ?? out.csvError ?? 'the results CSV could not be written'}; ${done} files done${stop ? `, ${stop.notAttempted} not tried` : ''}. Nothing was lost${out.summary ? `; the journal ${out.summary.journal} undoes what was done` : ''}`,
          'destination-failed',
          out.destination,
        );
      }
      return {
        runId: out.runId,
        destination: out.destination,
        operation: input.operation,
        journal: out.summary?.journal ?? null,
        csv: out.csv,
        done: out.summary?.exported.length ?? 0,
        skipped: out.summary?.skippedInLabelFolders.length ?? 0,
        failed: out.summary?.failed ?? [],
      };
    },

    async 'export.undo'(input) {
      const summary = await undo(app, input.journal, { ownLibraryOnly: true });
      const problems = new Set(summary.problems);
      return {
        journal: summary.journal,
        operation: summary.operation,
        undone: summary.items.filter((i) => !problems.has(i) && i.outcome !== 'kept' && i.outcome !== 'missing').length,
        problems: summary.problems.map((p) => ({ from: p.from, to: p.to, outcome: p.outcome, ...(p.detail ? { detail: p.detail } : {}) })),
      };
    },

    async 'search.text'(input) {
      if (input.query === '' && input.text) {
        const r = searchImageTextOnly(app, input.text, { limit: input.limit, filters: input.filters });
        return searchOutput({ ...r, considered: r.considered ?? r.matched });
      }
      return searchOutput(await searchText(app, input.query, { ...searchOptions(input), model: input.model, precision: input.precision }));
    },

    async 'search.similar'(input) {
      return searchOutput(await searchSimilar(app, input.path, { ...searchOptions(input), model: input.model, precision: input.precision }));
    },

    async 'duplicates.find'(input) {
      const report = await findDuplicates(app, input);
      return {
        groups: report.groups.map((g) => ({ kind: g.kind, similarity: g.similarity, files: g.files.map(toHit) })),
      };
    },

    async 'thumbnail.get'(input) {
      const thumb = await thumbnail(app, input);
      return { ...thumb, ...(input.bytes ? { base64: (await thumbnailBytes(thumb)).toString('base64') } : {}) };
    },

    async 'app.status'() {
      const exists = app.libraryExists();
      return {
        library: { path: app.libraryPath, exists },
        modelsDir: app.config.modelsDir,
        indexJob: job ? { jobId: job.id, folders: job.folders, startedAt: job.startedAt, progress: job.progress } : null,
        download: download ? { id: download.id, progress: download.progress } : null,
        latestRunId: exists ? (app.library('read').latestSortRunId() ?? null) : null,
      };
    },

    async 'library.query'(input) {
      const fileIds = queryFiles(app, { sort: input.sort, descending: input.descending, ...input.filters });
      return { fileIds, total: fileIds.length };
    },

    async 'library.items'(input) {
      return { items: fileItems(app, input.fileIds, input.runId) };
    },

    async 'library.file'(input) {
      const d = fileDetails(app, input.fileId, input.runId);
      const f = d.file;
      return {
        fileId: f.id,
        contentId: f.contentId,
        sha256: f.sha256,
        path: f.path,
        folder: f.folder,
        name: f.name,
        ext: f.ext,
        format: f.format,
        size: f.size,
        mtimeMs: f.mtimeMs,
        width: f.width,
        height: f.height,
        takenAt: f.takenAt,
        gps: f.gpsLat !== null && f.gpsLon !== null ? { lat: f.gpsLat, lon: f.gpsLon } : null,
        camera: f.camera,
        present: d.present,
        copies: d.copies,
        tags: d.tags,
        mark: d.mark,
        suggestion: d.suggestion,
        duplicate: d.duplicate,
        ocr: d.ocr,
        warning: d.warning,
      };
    },

    async 'library.ocr'(input) {
      if (input.enabled === undefined) return ocrState(app);
      if (job) throw new TriagemError('an index job is running; change reading text once it ends', 'busy');
      return setOcrEnabled(app, input.enabled);
    },

    async 'library.facets'() {
      return facets(app);
    },

    async 'preview.get'(input) {
      const p = await preview(app, input);
      return { ...p, ...(input.bytes ? { base64: (await fs.promises.readFile(p.path)).toString('base64') } : {}) };
    },

    async 'index.failures'(input) {
      if (!app.libraryExists()) return { failures: [], warnings: [] };
      const library = app.library('read');
      return { failures: library.listFailures(input.folders).map((f) => ({ path: f.path, error: f.error })), warnings: library.warnings.presentFiles(input.folders) };
    },

    async 'folders.list'(input) {
      return listFolder(input.path, { showHidden: input.showHidden });
    },

    async 'presets.list'() {
      return { presets: presets() };
    },

    async 'review.mark'(input) {
      return markFiles(app, input);
    },

    async 'review.undo'() {
      const undone = undoMark(app);
      return undone ? undone : { batch: null, marks: [] };
    },

    async 'review.summary'(input) {
      return { summary: runSummary(app, input.runId) };
    },

    async 'review.thresholds'(input) {
      return { summary: setThresholds(app, input.runId, input.thresholds) };
    },

    async 'tags.list'() {
      return { tags: app.libraryExists() ? tagList(app) : [] };
    },

    async 'tags.change'(input) {
      const change = tagFileIds(app, input.action, input.tag, input.fileIds);
      return { changed: change.changed.length, unchanged: change.unchanged.length, failed: change.failed };
    },

    async 'duplicates.review'(input) {
      const review = await reviewDuplicates(app, input);
      return {
        groups: review.groups.map((g) => ({
          key: g.key,
          kind: g.kind,
          similarity: g.similarity,
          suggested: g.suggested,
          resolved: g.resolved,
          files: g.files.map((f) => duplicateFile(f.file, f.choice)),
        })),
        threshold: review.threshold,
        dismissed: review.dismissed,
        resolved: review.resolved,
      };
    },

    async 'duplicates.decide'(input) {
      return decideDuplicates(app, input);
    },

    async 'export.preview'(input) {
      const plan = planExport(app, input);
      const clashes = plan.items.filter((i) => i.clash !== null);
      const head = plan.items.slice(0, input.limit);
      const shown = new Set(head.map((i) => i.fileId));
      return {
        destination: plan.destination,
        operation: plan.operation,
        files: plan.items.length,
        bytes: plan.bytes,
        folders: plan.folders,
        items: [...head, ...clashes.filter((c) => !shown.has(c.fileId)).slice(0, 5000)],
        clashes: plan.clashes,
        leftOut: plan.leftOut,
        alreadyThere: plan.alreadyThere,
        csv: plan.csv,
      };
    },

    async 'export.start'(input) {
      return runExportPlan(app, input);
    },

    async 'eval.run'(input) {
      const { report, runId, confirmed, tookMs } = await evaluateSort(app, {
        truth: input.truth,
        runId: input.runId,
        targetPrecision: input.targetPrecision,
        model: input.model,
        precision: input.precision,
      });
      const few = report.few_shot;
      return {
        ...evaluationSide(report),
        truth: input.truth.kind,
        truthPath: input.truth.kind === 'csv' ? report.truth : null,
        runId,
        modelKey: report.model,
        zeroShot: report.zero_shot ? evaluationSide(report.zero_shot) : null,
        fewShot: few
          ? {
              shots: few.shots,
              used: few.used,
              blend: few.blend,
              note: few.note,
              looAccuracy: few.loo_accuracy,
              zeroShotAccuracy: few.zero_shot_accuracy,
              skipped: few.skipped.length,
              crossValidated: input.truth.kind === 'confirmed',
            }
          : null,
        confirmed,
        missing: report.missing.slice(0, 200),
        missingCount: report.missing.length,
        problems: report.problems.slice(0, 200).map((p) => ({ file: p.file, ...(p.line !== undefined ? { line: p.line } : {}), message: p.message })),
        excludedExamples: report.excluded_examples,
        tookMs,
      };
    },

    async 'models.download'(input) {
      if (download) throw new TriagemError(`a model download is already running (${download.id})`, 'busy');
      const controller = new AbortController();
      download = { id: input.id, controller, progress: null };
      try {
        const result = await downloadModel(app, input.id, {
          precision: input.precision,
          signal: controller.signal,
          onProgress: (p) =>
            emit('models.progress', {
              id: p.id,
              phase: p.phase,
              file: p.file,
              fileIndex: p.fileIndex,
              fileCount: p.fileCount,
              bytesDone: p.bytesDone,
              ...(p.bytesTotal !== undefined ? { bytesTotal: p.bytesTotal } : {}),
              rate: Number.isFinite(p.rate) ? Math.max(0, p.rate) : 0,
              ...(p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) ? { eta: Math.max(0, p.etaSeconds) } : {}),
            }),
        });
        return { id: result.id, dir: result.dir, precisions: result.precisions, alreadyInstalled: result.alreadyInstalled, bytesDownloaded: result.bytesDownloaded };
      } catch (err) {
        if (controller.signal.aborted) throw new TriagemError('download cancelled; start it again to resume where it stopped', 'cancelled');
        throw err;
      } finally {
        download = undefined;
      }
    },

    async 'models.cancel'(input) {
      if (!download || (input.id !== undefined && input.id !== download.id)) return { cancelled: false };
      download.controller.abort();
      return { cancelled: true };
    },

    async 'models.import'(input) {
      const result = await importModel(app, input.folder, { id: input.id });
      return {
        id: result.id,
        dir: result.dir,
        ...(result.manifest.name ? { name: result.manifest.name } : {}),
        precisions: result.precisions,
        files: result.manifest.files.length,
      };
    },
  };

  /** Ops still running: the writer goes back only when none is, or it would close under them. */
  let inFlight = 0;

  async function invoke<K extends OpName>(op: K, rawInput: unknown): Promise<OpResult<K>> {
    const parsed = parseInput(op, rawInput);
    if (!parsed.ok) return parsed;
    try {
      const handler: Handler<K> = handlers[op];
      let value: OpOutput<K>;
      inFlight++;
      try {
        value = await handler(parsed.value);
      } finally {
        inFlight--;
        // Between jobs the writer lock goes back, so `triagem` can write to the library while the app is
        // open. Not while another op awaits with the library in hand (a sort encoding its labels, an
        // evaluation loading its model): closing it then failed that op with "connection is not open".
        if (!job && inFlight === 0) app.releaseWriter();
      }
      if (options.checkOutputs) {
        const checked = contract[op].output.safeParse(value);
        if (!checked.success) return { ok: false, error: { ...zodWireError(`engine answered ${op} with output that breaks the contract`, checked.error), code: 'internal' } };
      }
      return { ok: true, value };
    } catch (err) {
      return { ok: false, error: toWireError(err) };
    }
  }

  return {
    options,
    invoke,
    onEvent(listener): Unsubscribe {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      download?.controller.abort();
      if (job) {
        job.controller.abort();
        await job.done;
      }
      await app.close();
      listeners.clear();
    },
  };
}
