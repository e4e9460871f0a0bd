// What every use case runs against: the configuration, the open library, loaded models and warm
// search sessions. One per door: the CLI makes one per command, the Electron utility process and
// the browser bridge keep one for their lifetime (so a second search reuses the first one's work).

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import { Library, isReadOnlyRefusal, type EmbeddingMatrix } from '../engine/library/library.js';
import { loadCatalog } from '../engine/models/catalog.js';
import { ModelManager } from '../engine/models/manager.js';
import { loadModel } from '../engine/models/model.js';
import type { ClipModel, DeviceRequest, Precision } from '../engine/models/types.js';
import { resolveLibraryPath, resolveModelsDir } from '../engine/paths.js';
import { NearDuplicates } from '../engine/duplicates/duplicates.js';
import { SearchSession } from '../engine/search/search.js';
import type { SortResult, SortedFile } from '../engine/sort/sort.js';
import { systemLocale } from './language.js';
import { chooseModel, type LibraryModel, type ModelCandidate, type ModelChoice, type ModelRequest } from './model-choice.js';

/** Sort runs a library keeps besides those review marks point at: enough to go back a few re-sorts. */
export const KEPT_SORT_RUNS = 10;

export interface AppConfig {
  libraryPath: string;
  modelsDir: string;
  device: DeviceRequest;
  /** ONNX Runtime threads per session; default: all cores. */
  threads?: number;
  /** Images per inference batch. */
  batchSize?: number;
  /** The UI's or the system's locale; steers the default model. */
  locale?: string;
  /**
   * The door answers one request and exits (the CLI): skip model warm-ups, whose only purpose is
   * to make a later first query fast.
   */
  oneShot?: boolean;
}

/** Flags and environment → configuration, the same way for every door. */
export function resolveConfig(
  flags: { library?: string; modelsDir?: string; device?: DeviceRequest; threads?: number; batchSize?: number; locale?: string; oneShot?: boolean } = {},
): AppConfig {
  return {
    libraryPath: resolveLibraryPath(flags.library),
    modelsDir: resolveModelsDir(flags.modelsDir),
    device: flags.device ?? 'auto',
    threads: flags.threads,
    batchSize: flags.batchSize,
    locale: flags.locale ?? systemLocale(),
    oneShot: flags.oneShot,
  };
}

export type LibraryAccess = 'read' | 'write';

/** A loaded model with the key its embeddings carry in the library and why it was chosen. */
export interface OpenModel {
  model: ClipModel;
  /** `id:precision`, the library's name for this model's embeddings. */
  key: string;
  choice: ModelChoice;
}

/** Sort runs kept in memory with their per-label scores, for exports right after sorting. */
const KEPT_RUNS = 8;

export class AppContext {
  /** Read-only handle: never changes the file, takes no lock, works on read-only media. */
  private reader: Library | undefined;
  /** Write handle: holds the library's one-writer lock while open (see releaseWriter). */
  private writer: Library | undefined;
  private readonly runs = new Map<number, SortResult>();
  private readonly models = new Map<string, Promise<ClipModel>>();
  private readonly sessions = new Map<string, Promise<SearchSession>>();
  /** Near pairs found so far per model and threshold: a later run compares only images new since. */
  private readonly duplicates = new Map<string, NearDuplicates>();
  /** One model's embeddings in memory, with the library's change count they were read at. */
  private matrix: { key: string; change: number; matrix: EmbeddingMatrix } | undefined;
  private closed = false;

  constructor(public config: AppConfig) {}

  get libraryPath(): string {
    return path.resolve(this.config.libraryPath);
  }

  libraryExists(): boolean {
    return fs.existsSync(this.libraryPath);
  }

  /**
   * The library. Reading opens it read-only and never creates one (a search on a typo'd path must
   * not leave an empty file behind, and a library on read-only media must still answer); writing
   * creates it and takes the library's writer lock, which a long-lived door gives back with
   * `releaseWriter` between jobs so the CLI can write while the app is open.
   */
  library(access: LibraryAccess): Library {
    if (this.closed) throw new TriagemError('Triagem is shutting down', 'closed');
    if (access === 'write') {
      this.writer ??= Library.open(this.libraryPath, { mode: 'write' });
      return this.writer;
    }
    if (this.writer) return this.writer;
    return this.openReader();
  }

  /** Gives back the writer lock; the next write reopens it. Search sessions keep their reader. */
  releaseWriter(): void {
    this.tidy();
    this.writer?.close();
    this.writer = undefined;
  }

  /** Points the context at another library file; loaded models stay, search sessions go. */
  switchLibrary(file: string): void {
    const next = path.resolve(file);
    if (next === this.libraryPath) return;
    this.closeLibrary();
    this.sessions.clear();
    this.runs.clear();
    this.config = { ...this.config, libraryPath: next };
  }

  modelManager(): ModelManager {
    return new ModelManager(this.config.modelsDir);
  }

  /** Installed folders and catalog entries, as the default-model policy sees them. */
  async modelCandidates(): Promise<ModelCandidate[]> {
    const catalog = new Map(loadCatalog().models.map((m) => [m.id, m]));
    return (await this.modelManager().list()).map((m) => ({
      id: m.id,
      installed: m.installed,
      problem: m.problem,
      isDefault: m.default,
      defaultFor: catalog.get(m.id)?.defaultFor ?? [],
    }));
  }

  /** The models this library holds embeddings for (none when there is no library yet). */
  libraryModels(): LibraryModel[] {
    if (!this.writer && !this.reader && !this.libraryExists()) return [];
    return this.library('read')
      .listModels()
      .map((m) => {
        const cut = m.key.lastIndexOf(':');
        return { id: m.key.slice(0, cut), precision: m.key.slice(cut + 1) as Precision, count: m.count };
      });
  }

  async chooseModel(request: ModelRequest): Promise<ModelChoice> {
    return chooseModel({ locale: this.config.locale, ...request }, { modelsDir: this.config.modelsDir, candidates: await this.modelCandidates(), libraryModels: this.libraryModels() });
  }

  /** Chooses (see model-choice.ts) and loads a model; loaded sessions are shared by later requests. */
  async openModel(request: ModelRequest): Promise<OpenModel> {
    const choice = await this.chooseModel(request);
    const cacheKey = `${choice.dir}|${choice.precision ?? 'auto'}`;
    let pending = this.models.get(cacheKey);
    if (!pending) {
      pending = loadModel(choice.dir, {
        id: choice.id,
        device: this.config.device,
        precision: choice.precision,
        threads: this.config.threads,
        batchSize: this.config.batchSize,
        // A text search, the commonest first request, then never waits for the image tower.
        openVision: 'on-first-use',
      });
      this.models.set(cacheKey, pending);
      // A failed load must not poison the cache: the next request tries again.
      pending.catch(() => this.models.delete(cacheKey));
    }
    const model = await pending;
    // `auto` resolved to a concrete variant: a later request naming that variant shares this session.
    const resolved = `${choice.dir}|${model.info.precision}`;
    if (!this.models.has(resolved)) this.models.set(resolved, pending);
    return { model, key: `${model.info.id}:${model.info.precision}`, choice };
  }

  /**
   * One open search session per model: it holds the library's compact codes in memory, so repeated
   * queries skip loading them. Anything that adds embeddings calls `invalidateSearch`.
   */
  async searchSession(request: ModelRequest): Promise<{ session: SearchSession; open: OpenModel }> {
    const open = await this.openModel(request);
    let pending = this.sessions.get(open.key);
    if (!pending) {
      const library = this.searchLibrary();
      pending = SearchSession.open(library, open.model, { modelKey: open.key, warmup: !this.config.oneShot }).catch((err: unknown) => {
        // Search brings stale search codes up to date as it opens, which a reader cannot (an index
        // run stopped early): say what to do instead of SQLite's "attempt to write a readonly database".
        if (!isReadOnlyRefusal(err)) throw err;
        throw new TriagemError(
          "the library's search index is behind its images (an index run stopped early?), and searching only reads the library; run `triagem index` on the same folders once to bring it up to date",
          'search-codes-stale',
          library.file,
        );
      });
      this.sessions.set(open.key, pending);
      pending.catch(() => this.sessions.delete(open.key));
    }
    return { session: await pending, open };
  }

  invalidateSearch(): void {
    this.sessions.clear();
  }

  /**
   * Every embedding of a model, read once and kept while the library's change counter for the model
   * stays put: a reporter trying label after label re-sorts in the time scoring takes, not the time
   * reading 100k rows takes (bench `sort`). One model is kept (about 200 MB at 100k × 512).
   */
  embeddingMatrix(key: string): EmbeddingMatrix {
    const library = this.library('read');
    const change = library.embeddingsChange(key);
    if (this.matrix?.key !== key || this.matrix.change !== change) {
      this.matrix = undefined;
      this.matrix = { key, change, matrix: library.loadEmbeddings(key) };
    }
    return this.matrix.matrix;
  }

  duplicateFinder(key: string, threshold: number): NearDuplicates {
    const id = `${key}|${threshold}`;
    let finder = this.duplicates.get(id);
    if (!finder) {
      finder = new NearDuplicates(this.searchLibrary(), key, threshold);
      this.duplicates.set(id, finder);
    }
    return finder;
  }

  keepRun(result: SortResult): void {
    this.runs.set(result.runId, result);
    while (this.runs.size > KEPT_RUNS) this.runs.delete(this.runs.keys().next().value as number);
  }

  /** A sort run this process made and still keeps in memory (with its few-shot report), or undefined. */
  keptRun(runId: number): SortResult | undefined {
    return this.runs.get(runId);
  }

  /** A sort run: kept in memory since it ran, else rebuilt from the library (winning label's score only). */
  sortRun(runId: number | undefined): SortResult {
    const library = this.library('read');
    const id = runId ?? library.latestSortRunId();
    if (id === undefined) throw new TriagemError('nothing has been sorted yet; run a sort first', 'not-found');
    const kept = this.runs.get(id);
    if (kept) return kept;
    const run = library.sortRun(id);
    if (!run) throw new TriagemError(`there is no sort run ${id}`, 'not-found');
    const rows = library.sortResults(id);
    const files = library.filesOfContents(
      rows.map((r) => r.contentId),
      { present: true },
    );
    const results: SortedFile[] = [];
    for (const r of rows) {
      for (const file of files.get(r.contentId) ?? []) results.push({ file, label: r.label, score: r.score, scores: { [r.label]: r.score } });
    }
    results.sort((a, b) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
    return { runId: id, labels: run.labels, results, unembedded: [] };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of new Set(this.models.values())) {
      const model = await pending.catch(() => undefined);
      await model?.close();
    }
    this.models.clear();
    this.sessions.clear();
    this.closeLibrary();
  }

  /** Search sessions outlive jobs, so they hold the reader, never the writer that jobs give back. */
  private searchLibrary(): Library {
    return this.openReader();
  }

  private openReader(): Library {
    if (this.reader) return this.reader;
    if (!this.libraryExists()) throw new TriagemError('no library here yet; index a folder first (`triagem index <folder>`)', 'no-library', this.libraryPath);
    try {
      this.reader = Library.open(this.libraryPath, { mode: 'read' });
    } catch (err) {
      // A long-lived door (the window) brings a library from an older Triagem up to date once, as
      // opening it for writing would; a one-shot reading command never writes and says what to run.
      if (this.config.oneShot || !(err instanceof TriagemError) || err.code !== 'library-too-old') throw err;
      Library.open(this.libraryPath, { mode: 'write' }).close();
      this.reader = Library.open(this.libraryPath, { mode: 'read' });
    }
    return this.reader;
  }

  /**
   * Housekeeping done when the writer is given back, after the answer went out, so no one waits for
   * it: old sort runs go (the newest KEPT_SORT_RUNS stay, and any that review marks point at).
   */
  private tidy(): void {
    if (!this.writer) return;
    try {
      this.writer.pruneSortRuns(KEPT_SORT_RUNS);
    } catch {
      // Never worth failing the job that just finished: the next release tries again.
    }
  }

  private closeLibrary(): void {
    this.tidy();
    this.matrix = undefined;
    this.duplicates.clear();
    this.sessions.clear();
    this.writer?.close();
    this.reader?.close();
    this.writer = undefined;
    this.reader = undefined;
  }
}
