// The engine behind every door (Electron utility process, browser bridge, tests): one handler per
// contract op, each input validated by the contract's schema before a handler sees it.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  contract,
  parseInput,
  zodWireError,
  type EventName,
  type EventPayload,
  type FileHit,
  type OpName,
  type OpOutput,
  type OpParsedInput,
  type OpResult,
  type WireError,
} from '../shared/contract.js';
import type { Unsubscribe } from '../shared/client.js';
import type { EngineEndpoint, EventListener } from '../shared/rpc.js';
import { TriagemError, UsageError, errorMessage } from './errors.js';
import { resultsCsv } from './export/csv.js';
import { exportSorted, recordOutput } from './export/export.js';
import { numberedName } from './export/names.js';
import { undoExport } from './export/undo.js';
import { ensureThumbnail, thumbnailExists } from './images/thumbnail.js';
import { indexFolders, type IndexProgress } from './indexer/indexer.js';
import { Library, type FileRecord } from './library/library.js';
import { ModelManager } from './models/manager.js';
import { loadModel } from './models/model.js';
import type { ClipModel, DeviceRequest, Precision } from './models/types.js';
import { NearDuplicates, persistNearPairs } from './duplicates/duplicates.js';
import { SearchSession, type SearchOptions, type SearchResponse } from './search/search.js';
import { UNSURE_LABEL } from './sort/labels.js';
import { sortLibrary, type SortResult, type SortedFile } from './sort/sort.js';
import { persistVectorIndex } from './vectors/code-store.js';

export interface EngineServiceOptions {
  libraryPath: string;
  modelsDir: string;
  device: DeviceRequest;
  /** ONNX Runtime threads per session; default: all cores. */
  threads?: number;
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
  return { contentId: f.contentId, sha256: f.sha256, path: f.path, name: f.name, width: f.width, height: f.height };
}

function searchOptions(input: OpParsedInput<'search.text'> | OpParsedInput<'search.similar'>): SearchOptions {
  return { limit: input.limit, filters: input.filters, cutoff: input.cutoff, minScore: input.minScore };
}

function searchOutput(response: SearchResponse): OpOutput<'search.text'> {
  return {
    modelKey: response.modelKey,
    tookMs: response.tookMs,
    belowCutoff: response.belowCutoff,
    considered: response.considered,
    hits: response.hits.map((h) => ({ ...toHit(h.files[0]), score: h.score, paths: h.paths })),
  };
}

const THUMB_MIME = { '.webp': 'image/webp', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png' } as const;
/** Progress is for eyes: more than ~10 updates a second only floods IPC and SSE. */
const PROGRESS_INTERVAL_MS = 100;
/** Sort runs kept in memory with their per-label scores, for exports right after sorting. */
const KEPT_RUNS = 8;

interface ModelChoice {
  model?: string;
  precision?: Precision;
}

interface IndexJob {
  id: string;
  controller: AbortController;
  done: Promise<unknown>;
}

export function createEngineService(options: EngineServiceOptions): EngineService {
  const listeners = new Set<EventListener>();
  const models = new Map<string, Promise<ClipModel>>();
  const runs = new Map<number, SortResult>();
  const sessions = new Map<string, Promise<SearchSession>>();
  /** Near pairs found so far per model: after indexing, only the new images are compared. */
  const duplicateFinders = new Map<string, NearDuplicates>();
  let library: Library | undefined;
  let libraryPath = path.resolve(options.libraryPath);
  let current: { id: string; precision?: Precision } | undefined;
  let job: IndexJob | undefined;
  let closed = false;

  function emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const l of listeners) l(event, payload);
  }

  function lib(): Library {
    if (closed) throw new TriagemError('the engine is shut down', 'closed');
    library ??= Library.open(libraryPath);
    return library;
  }

  function manager(): ModelManager {
    return new ModelManager(options.modelsDir);
  }

  function installed(id: string): boolean {
    return fs.existsSync(path.join(options.modelsDir, id));
  }

  /** Embedded model keys of the library, most embeddings first: `id:precision`. */
  function libraryKeys(): { id: string; precision: Precision; count: number }[] {
    return lib()
      .listModels()
      .map((m) => {
        const cut = m.key.lastIndexOf(':');
        return { id: m.key.slice(0, cut), precision: m.key.slice(cut + 1) as Precision, count: m.count };
      })
      .sort((a, b) => b.count - a.count);
  }

  /**
   * Which model an op runs with when the caller names none: the one last used, else the one the
   * library already holds most embeddings for, else the catalog default, else the only one installed.
   * The precision follows the library's embeddings, so a search never asks a model variant whose
   * vectors the library does not hold.
   */
  async function choose(choice: ModelChoice): Promise<{ id: string; precision?: Precision }> {
    let id = choice.model;
    if (!id && current && installed(current.id)) return { id: current.id, precision: choice.precision ?? current.precision };
    const keys = libraryKeys();
    if (!id) id = keys.find((k) => installed(k.id))?.id;
    if (!id) {
      const list = await manager().list();
      const usable = list.filter((m) => m.installed && !m.problem);
      id = (usable.find((m) => m.default) ?? (usable.length === 1 ? usable[0] : undefined))?.id;
      if (!id) {
        const names = usable.map((m) => m.id).join(', ');
        throw new TriagemError(
          usable.length === 0
            ? `no model is installed in ${options.modelsDir}; download one with \`triagem models download clip-vit-b32\``
            : `several models are installed (${names}); choose one`,
          'no-model',
        );
      }
    }
    if (!installed(id)) throw new TriagemError(`model "${id}" is not installed in ${options.modelsDir}`, 'not-installed');
    const precision = choice.precision ?? keys.find((k) => k.id === id)?.precision;
    return { id, precision: precision === 'auto' ? undefined : precision };
  }

  async function openModel(choice: ModelChoice): Promise<{ model: ClipModel; key: string; id: string; precision?: Precision }> {
    const chosen = await choose(choice);
    const cacheKey = `${chosen.id}|${chosen.precision ?? 'auto'}`;
    let pending = models.get(cacheKey);
    if (!pending) {
      pending = loadModel(path.join(options.modelsDir, chosen.id), {
        id: chosen.id,
        device: options.device,
        precision: chosen.precision,
        threads: options.threads,
      });
      models.set(cacheKey, pending);
      // A failed load must not poison the cache: the next request tries again.
      pending.catch(() => models.delete(cacheKey));
    }
    const model = await pending;
    // `auto` resolved to a concrete variant: later requests naming that variant share this session.
    const resolvedKey = `${chosen.id}|${model.info.precision}`;
    if (!models.has(resolvedKey)) models.set(resolvedKey, pending);
    return { model, key: lib().modelKey(model.info), ...chosen };
  }

  /**
   * One open search session per model: it holds the library's compact codes in memory, so repeated
   * queries skip loading them. Indexing adds embeddings, so a finished index job drops the sessions.
   */
  async function searchSession(choice: ModelChoice): Promise<SearchSession> {
    const { model, key } = await openModel(choice);
    let pending = sessions.get(key);
    if (!pending) {
      pending = SearchSession.open(lib(), model);
      sessions.set(key, pending);
      pending.catch(() => sessions.delete(key));
    }
    return pending;
  }

  function progressRelay(jobId: string): (p: IndexProgress) => void {
    let last = 0;
    let lastPhase: IndexProgress['phase'] | undefined;
    let lastCounts = '';
    return (p) => {
      const now = Date.now();
      const counts = `${p.phase}:${p.done}:${p.total}:${p.failed}`;
      if (counts === lastCounts) return;
      const final = p.phase === 'index' && p.done === p.total;
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
      });
    };
  }

  function keepRun(result: SortResult): void {
    runs.set(result.runId, result);
    while (runs.size > KEPT_RUNS) runs.delete(runs.keys().next().value as number);
  }

  /** A past run rebuilt from the library (only the winning label's score survives there). */
  function loadRun(runId: number | undefined): SortResult {
    const db = lib().db;
    const id = runId ?? (db.prepare('SELECT max(id) FROM sort_runs').pluck().get() as number | null) ?? undefined;
    if (id === undefined) throw new TriagemError('nothing has been sorted yet; run a sort first', 'not-found');
    const kept = runs.get(id);
    if (kept) return kept;
    const run = db.prepare('SELECT labels FROM sort_runs WHERE id = ?').get(id) as { labels: string } | undefined;
    if (!run) throw new TriagemError(`there is no sort run ${id}`, 'not-found');
    const labels = JSON.parse(run.labels) as string[];
    const rows = db.prepare('SELECT content_id AS contentId, label, score FROM sort_results WHERE run_id = ?').all(id) as {
      contentId: number;
      label: string;
      score: number;
    }[];
    const presentPaths = db.prepare('SELECT path FROM files WHERE content_id = ? AND present = 1 ORDER BY path').pluck();
    const results: SortedFile[] = [];
    for (const r of rows) {
      for (const p of presentPaths.all(r.contentId) as string[]) {
        const file = lib().fileByPath(p);
        if (file) results.push({ file, label: r.label, score: r.score, scores: { [r.label]: r.score } });
      }
    }
    results.sort((a, b) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
    return { runId: id, labels, results, unembedded: [] };
  }

  const handlers: Handlers = {
    async 'models.list'() {
      const list = await manager().list();
      return {
        modelsDir: options.modelsDir,
        current: current?.id ?? null,
        models: list.map((m) => ({
          id: m.id,
          dir: m.dir ?? path.join(options.modelsDir, m.id),
          name: m.name,
          ...(m.description ? { description: m.description } : {}),
          languages: m.languages,
          family: m.family ?? null,
          precisions: m.installed ? m.installedPrecisions : m.availablePrecisions,
          installed: m.installed,
          inCatalog: m.inCatalog,
          isDefault: m.default,
          ...(m.problem ? { error: m.problem } : {}),
        })),
      };
    },

    async 'library.open'(input) {
      if (input.path && path.resolve(input.path) !== libraryPath) {
        if (job) throw new TriagemError('an index job is running; cancel it before switching libraries', 'busy');
        const next = Library.open(input.path);
        library?.close();
        library = next;
        libraryPath = path.resolve(input.path);
        current = undefined;
        runs.clear();
        sessions.clear();
        duplicateFinders.clear();
      }
      const l = lib();
      const counts = l.counts();
      return {
        path: l.file,
        files: counts.presentFiles,
        contents: counts.contents,
        failures: counts.failures,
        models: l.listModels().map((m) => ({ key: m.key, dim: m.dim, embedded: m.count })),
      };
    },

    async 'index.start'(input) {
      if (job) throw new TriagemError(`an index job is already running (${job.id})`, 'busy');
      const jobId = randomUUID();
      const controller = new AbortController();
      const run = (async () => {
        const { model, key, id, precision } = await openModel(input);
        const started = Date.now();
        try {
          const summary = await indexFolders({
            library: lib(),
            model,
            folders: input.folders,
            signal: controller.signal,
            thumbnails: input.thumbnails,
            onProgress: progressRelay(jobId),
          });
          // Store the search codes, duplicate signatures and near pairs now: searching only reads them.
          if (!summary.cancelled) {
            persistVectorIndex(lib(), key);
            persistNearPairs(lib(), key);
          }
          current = { id, precision: precision ?? (model.info.precision as Precision) };
          return {
            jobId,
            modelKey: key,
            cancelled: summary.cancelled === true || controller.signal.aborted,
            indexed: summary.indexed,
            skipped: summary.skipped,
            unchanged: summary.unchanged,
            reused: summary.reused,
            missing: summary.missing ?? 0,
            failed: summary.failed,
            durationMs: summary.durationMs,
          };
        } catch (err) {
          // Work done before the cancel is committed batch by batch; the next run picks up from there.
          if (controller.signal.aborted) {
            return { jobId, modelKey: key, cancelled: true, indexed: 0, skipped: 0, unchanged: 0, reused: 0, missing: 0, failed: [], durationMs: Date.now() - started };
          }
          throw err;
        }
      })();
      job = { id: jobId, controller, done: run.catch(() => undefined) };
      try {
        return await run;
      } finally {
        job = undefined;
        sessions.clear();
      }
    },

    async 'index.cancel'(input) {
      if (!job || (input.jobId !== undefined && input.jobId !== job.id)) return { cancelled: false };
      job.controller.abort();
      return { cancelled: true };
    },

    async 'sort.run'(input) {
      const { model } = await openModel(input);
      const result = await sortLibrary({ library: lib(), model, labels: input.labels, templates: input.templates, threshold: input.threshold });
      keepRun(result);
      const counts: Record<string, number> = {};
      for (const label of result.labels) counts[label] = 0;
      if (input.threshold !== undefined) counts[UNSURE_LABEL] = 0;
      for (const r of result.results) counts[r.label] = (counts[r.label] ?? 0) + 1;
      const best = [...result.results].sort((a, b) => b.score - a.score).slice(0, input.limit);
      return {
        runId: result.runId,
        labels: result.labels,
        counts,
        total: result.results.length,
        unembedded: result.unembedded.length,
        results: best.map((r) => ({ ...toHit(r.file), label: r.label, score: r.score })),
      };
    },

    async 'export.run'(input) {
      const run = loadRun(input.runId);
      const destination = path.resolve(input.destination);
      if (fs.existsSync(destination) && !fs.statSync(destination).isDirectory()) {
        throw new TriagemError('exists and is not a folder', 'not-a-folder', destination);
      }
      fs.mkdirSync(destination, { recursive: true });
      const exported =
        input.operation === 'none'
          ? undefined
          : await exportSorted({ results: run.results, labels: run.labels, destination, operation: input.operation });
      // The CSV never replaces anything: a taken name gets " (n)".
      let csv = '';
      for (let n = 0; ; n++) {
        csv = path.join(destination, numberedName('triagem-results.csv', n));
        try {
          fs.writeFileSync(csv, resultsCsv(run.labels, run.results), { encoding: 'utf8', flag: 'wx' });
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      if (exported) await recordOutput(exported.journal, csv);
      return {
        runId: run.runId,
        destination,
        operation: input.operation,
        journal: exported?.journal ?? null,
        csv,
        done: exported?.exported.length ?? 0,
        skipped: exported?.skippedInLabelFolders.length ?? 0,
        failed: exported?.failed ?? [],
      };
    },

    async 'export.undo'(input) {
      const summary = await undoExport(input.journal);
      const problems = new Set(summary.problems);
      return {
        journal: summary.journal,
        operation: summary.operation,
        undone: summary.items.filter((i) => !problems.has(i) && i.outcome !== 'kept' && i.outcome !== 'missing').length,
        problems: summary.problems.map((p) => ({ from: p.from, to: p.to, outcome: p.outcome, ...(p.detail ? { detail: p.detail } : {}) })),
      };
    },

    async 'search.text'(input) {
      const session = await searchSession(input);
      return searchOutput(await session.searchText(input.query, searchOptions(input)));
    },

    async 'search.similar'(input) {
      const session = await searchSession(input);
      return searchOutput(await session.searchSimilar(input.path, searchOptions(input)));
    },

    async 'duplicates.find'(input) {
      const { key } = await openModel(input);
      let finder = duplicateFinders.get(key);
      if (!finder || finder.threshold !== input.threshold) {
        finder = new NearDuplicates(lib(), key, input.threshold);
        duplicateFinders.set(key, finder);
      }
      const report = finder.find();
      return {
        groups: report.groups.map((g) => ({ kind: g.kind, similarity: g.similarity, files: g.files.map(toHit) })),
      };
    },

    async 'thumbnail.get'(input) {
      const l = lib();
      const row = (
        input.contentId !== undefined
          ? l.db.prepare('SELECT id, sha256 FROM contents WHERE id = ?').get(input.contentId)
          : l.db.prepare('SELECT id, sha256 FROM contents WHERE sha256 = ?').get(input.sha256)
      ) as { id: number; sha256: string } | undefined;
      if (!row) throw new TriagemError('no image with that id in the library', 'not-found');
      let file = l.thumbnailPath(row.sha256);
      if (!(await thumbnailExists(file))) {
        // Indexed with thumbnails off, or the cache was deleted: make it from any copy still on disk.
        const source = l.db.prepare('SELECT path FROM files WHERE content_id = ? AND present = 1 ORDER BY path LIMIT 1').pluck().get(row.id) as string | undefined;
        if (!source) throw new TriagemError('no copy of this image is left on disk to make a thumbnail from', 'not-found');
        file = await ensureThumbnail(file, source);
      }
      const ext = path.extname(file).toLowerCase();
      const mime = ext in THUMB_MIME ? THUMB_MIME[ext as keyof typeof THUMB_MIME] : 'image/webp';
      return {
        contentId: row.id,
        sha256: row.sha256,
        path: file,
        mime,
        ...(input.bytes ? { base64: (await fs.promises.readFile(file)).toString('base64') } : {}),
      };
    },
  };

  async function invoke<K extends OpName>(op: K, rawInput: unknown): Promise<OpResult<K>> {
    const parsed = parseInput(op, rawInput);
    if (!parsed.ok) return parsed;
    try {
      const handler: Handler<K> = handlers[op];
      const value = await handler(parsed.value);
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
      closed = true;
      if (job) {
        job.controller.abort();
        await job.done;
      }
      for (const pending of new Set(models.values())) {
        const model = await pending.catch(() => undefined);
        await model?.close();
      }
      sessions.clear();
      duplicateFinders.clear();
      models.clear();
      library?.close();
      library = undefined;
      listeners.clear();
    },
  };
}
