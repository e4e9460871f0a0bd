// The window's controller: what the app knows (status, models, the current sort run, tags, the
// running index job) and every action a button or a key triggers, each one call to the engine
// through the typed client. Views read slices of `store`; nothing else talks to the engine.
import type { TriagemClient } from '../../../shared/client.js';
import type { BrowseFilters, EventPayload, OpInput, OpOutput, RunSummary } from '../../../shared/contract.js';
import { i18next } from '../i18n/index.js';
import type { Command } from '../lib/keys.js';
import { errorCode, errorText } from '../platform-context.js';
import type { Platform } from '../platform.js';
import { Collection, type TextSnippet } from './collection.js';
import { Store } from './store.js';
import type { Workspace } from './workspace.js';

export type View = 'browse' | 'sort' | 'review' | 'evaluate' | 'search' | 'duplicates' | 'export';
export type Layout = 'grid' | 'loupe' | 'compare';
export type FolderPurpose = 'index' | 'export' | 'model' | 'library' | 'filter' | 'truth';

export interface IndexState {
  running: boolean;
  folders: string[];
  progress: EventPayload<'index.progress'> | null;
  result: OpOutput<'index.start'> | null;
  error: string | null;
}

export interface Toast {
  id: number;
  text: string;
  tone: 'info' | 'success' | 'error';
  action?: { label: string; run: () => void };
}

export type Dialog =
  | { kind: 'help' }
  | { kind: 'folders'; purpose: FolderPurpose; multiple: boolean; resolve: (paths: string[]) => void }
  | { kind: 'tags'; fileIds: number[] }
  | { kind: 'index' };

export interface BrowseState {
  sort: 'path' | 'date' | 'name';
  descending: boolean;
  filters: BrowseFilters;
}

export interface SearchState {
  mode: 'text' | 'similar';
  /** For words: what the image shows (the model), or the text written in it (OCR). */
  within: 'meaning' | 'words';
  /** Images whose recognised text holds the query's words, counted alongside a meaning search. */
  wordsCount: number | null;
  query: string;
  similarPath: string | null;
  filters: NonNullable<OpInput<'search.text'>['filters']>;
  cutoff: boolean;
  order: 'relevance' | 'date';
  result: OpOutput<'search.text'> | null;
  busy: boolean;
  error: string | null;
  /** Bumps with every new result, so the grid starts from the top. */
  version: number;
}

export interface AppState {
  phase: 'loading' | 'no-token' | 'unreachable' | 'first-run' | 'ready';
  error: string | null;
  status: OpOutput<'app.status'> | null;
  models: OpOutput<'models.list'> | null;
  library: OpOutput<'library.open'> | null;
  view: View;
  layout: Layout;
  showInfo: boolean;
  showScores: boolean;
  summary: RunSummary | null;
  reviewLabel: string | null;
  tags: { tag: string; contents: number }[];
  /** Bumps whenever files may have been added to the library (indexing), so lists refetch ids. */
  libraryVersion: number;
  index: IndexState;
  /** The library's OCR switch and what has been read (null until asked). */
  ocr: OpOutput<'library.ocr'> | null;
  browse: BrowseState;
  search: SearchState;
  dialog: Dialog | null;
  toasts: Toast[];
  /** For screen readers: the outcome of the last action. */
  announcement: string;
  /** File ids the export view's "selection" means: the last selection made in a photo view. */
  lastSelection: number[];
}

const INITIAL: AppState = {
  phase: 'loading',
  error: null,
  status: null,
  models: null,
  library: null,
  view: 'browse',
  layout: 'grid',
  showInfo: true,
  showScores: false,
  summary: null,
  reviewLabel: null,
  tags: [],
  libraryVersion: 0,
  index: { running: false, folders: [], progress: null, result: null, error: null },
  ocr: null,
  browse: { sort: 'path', descending: false, filters: {} },
  search: { mode: 'text', within: 'meaning', wordsCount: null, query: '', similarPath: null, filters: {}, cutoff: true, order: 'relevance', result: null, busy: false, error: null, version: 0 },
  dialog: null,
  toasts: [],
  announcement: '',
  lastSelection: [],
};

/**
 * While indexing, the visible lists pick up newly indexed files this often: every second on a
 * small library, less often on a big one, where each refresh sends the whole id list again.
 */
function liveRefreshMs(files: number): number {
  return 1000 + Math.min(9000, files / 20);
}

export class AppController {
  readonly store = new Store<AppState>(INITIAL);
  readonly client: TriagemClient;
  private workspace: Workspace | null = null;
  private collections = new Set<Collection>();
  private toastId = 0;
  private liveTimer: ReturnType<typeof setTimeout> | undefined;
  private summaryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Marks and undos reach the engine one at a time, in the order they were made. */
  private markQueue: Promise<unknown> = Promise.resolve();
  /** Index jobs whose answer has arrived. */
  private finishedJobs = new Set<string>();

  constructor(readonly platform: Platform) {
    this.client = platform.client;
  }

  get state(): AppState {
    return this.store.get();
  }

  private t(key: string, options?: Record<string, unknown>): string {
    // Keys here are built from the typed resource tree; i18next's own types are too narrow for that.
    return (i18next.t as unknown as (k: string, o?: Record<string, unknown>) => string)(key, options);
  }

  async init(): Promise<void> {
    if (this.platform.missingToken) {
      this.store.update({ phase: 'no-token' });
      return;
    }
    this.client.on('index.progress', (p) => {
      // Events travel apart from answers: the last ones of a job (its OCR phase ends right before
      // the answer) can arrive after it, and must not mark the finished job as running again.
      if (this.finishedJobs.has(p.jobId)) return;
      this.store.set((s) => ({ ...s, index: { ...s.index, running: true, progress: p } }));
    });
    try {
      const [status, models] = await Promise.all([this.client.invoke('app.status', {}), this.client.invoke('models.list', {})]);
      const usable = models.models.some((m) => m.installed && !m.error);
      this.store.update({ status, models, phase: usable && status.library.exists ? 'ready' : 'first-run' });
      if (status.indexJob) {
        this.store.set((s) => ({ ...s, index: { ...s.index, running: true, folders: status.indexJob?.folders ?? [], progress: status.indexJob?.progress ?? null } }));
        this.startLiveRefresh();
        void this.waitForRunningIndex();
      }
      if (this.state.phase === 'ready') await this.refreshAll();
    } catch (err) {
      this.store.update({ phase: 'unreachable', error: errorText(err) });
    }
  }

  async refreshAll(): Promise<void> {
    await Promise.all([this.refreshLibrary(), this.refreshSummary(), this.refreshTags(), this.refreshOcr()]);
  }

  async refreshOcr(): Promise<void> {
    const ocr = await this.client.invoke('library.ocr', {});
    this.store.update({ ocr });
  }

  /** The library's OCR switch, for later index runs (drops included). */
  async setOcr(enabled: boolean): Promise<void> {
    const before = this.state.ocr;
    // The box follows the click at once; the engine's answer (or the old state, on error) settles it.
    if (before) this.store.update({ ocr: { ...before, enabled } });
    try {
      const ocr = await this.client.invoke('library.ocr', { enabled });
      this.store.update({ ocr });
      this.announce(this.t(enabled ? 'ocr.turnedOn' : 'ocr.turnedOff'));
    } catch (err) {
      this.store.update({ ocr: before });
      this.toast(this.t('common.error', { message: errorText(err) }), 'error');
    }
  }

  async refreshModels(): Promise<OpOutput<'models.list'>> {
    const models = await this.client.invoke('models.list', {});
    this.store.update({ models });
    return models;
  }

  async refreshLibrary(): Promise<void> {
    const [library, status] = await Promise.all([this.client.invoke('library.open', {}), this.client.invoke('app.status', {})]);
    this.store.update({ library, status });
  }

  async refreshSummary(): Promise<void> {
    const { summary } = await this.client.invoke('review.summary', {});
    this.store.set((s) => ({
      ...s,
      summary,
      reviewLabel: s.reviewLabel && summary && [...summary.labels, 'unsure'].includes(s.reviewLabel) ? s.reviewLabel : (summary?.labels[0] ?? null),
    }));
  }

  /**
   * Marks change review counts; a burst of marks refreshes them once it pauses (a summary of a
   * 100k-photo run takes the engine ~0.3 s, which must not sit between every key and its mark).
   */
  private refreshSummarySoon(): void {
    clearTimeout(this.summaryTimer);
    this.summaryTimer = setTimeout(() => void this.refreshSummary().catch(() => undefined), 600);
  }

  async refreshTags(): Promise<void> {
    const { tags } = await this.client.invoke('tags.list', {});
    this.store.update({ tags });
  }

  /** Leaves the first run once a model is installed and a library is open. */
  async finishFirstRun(libraryPath?: string): Promise<void> {
    const library = await this.client.invoke('library.open', libraryPath ? { path: libraryPath } : {});
    const status = await this.client.invoke('app.status', {});
    this.store.update({ library, status, phase: 'ready', view: 'browse' });
    await this.refreshAll();
  }

  setView(view: View): void {
    this.store.update({ view, dialog: null });
  }

  setLayout(layout: Layout): void {
    this.store.update({ layout });
  }

  setWorkspace(workspace: Workspace | null): void {
    this.workspace = workspace;
  }

  activeWorkspace(): Workspace | null {
    return this.workspace;
  }

  /** Lists register so marks, tags and undo patch every tile on screen, whatever view made them. */
  track(collection: Collection): () => void {
    this.collections.add(collection);
    return () => this.collections.delete(collection);
  }

  makeCollection(ids: number[], runId: number | undefined, scores?: ReadonlyMap<number, number>, snippets?: ReadonlyMap<number, TextSnippet>): Collection {
    return new Collection(this.client, ids, runId, scores, snippets);
  }

  rememberSelection(fileIds: number[]): void {
    this.store.update({ lastSelection: fileIds });
  }

  toast(text: string, tone: Toast['tone'] = 'info', action?: Toast['action']): void {
    const id = ++this.toastId;
    this.store.set((s) => ({ ...s, toasts: [...s.toasts.slice(-3), { id, text, tone, action }], announcement: text }));
    setTimeout(() => this.dismissToast(id), action ? 10_000 : tone === 'error' ? 8000 : 4000);
  }

  dismissToast(id: number): void {
    this.store.set((s) => ({ ...s, toasts: s.toasts.filter((t) => t.id !== id) }));
  }

  announce(text: string): void {
    this.store.update({ announcement: text });
  }

  openDialog(dialog: Dialog): void {
    this.store.update({ dialog });
  }

  closeDialog(): void {
    const d = this.state.dialog;
    if (d?.kind === 'folders') d.resolve([]);
    this.store.update({ dialog: null });
  }

  /** The system's folder dialog in Electron; our own folder browser in browser mode. */
  pickFolders(purpose: FolderPurpose, multiple = false): Promise<string[]> {
    const shell = this.platform.shell;
    if (shell?.pickFolders && purpose !== 'library') return shell.pickFolders({ multiple, title: this.t(`picker.${purpose}`) });
    return new Promise((resolve) => {
      this.store.update({
        dialog: {
          kind: 'folders',
          purpose,
          multiple,
          resolve: (paths) => {
            this.store.update({ dialog: null });
            resolve(paths);
          },
        },
      });
    });
  }

  // ---- indexing -------------------------------------------------------------------------------

  async startIndex(folders: string[]): Promise<void> {
    if (folders.length === 0) return;
    if (this.state.index.running) {
      this.toast(this.t('index.busy'), 'error');
      return;
    }
    this.store.set((s) => ({ ...s, view: s.view === 'browse' || s.view === 'sort' ? s.view : 'browse', index: { running: true, folders, progress: null, result: null, error: null } }));
    this.announce(this.t('index.started', { count: folders.length }));
    this.startLiveRefresh();
    try {
      const result = await this.client.invoke('index.start', { folders });
      this.finishedJobs.add(result.jobId);
      this.store.set((s) => ({ ...s, index: { ...s.index, running: false, result } }));
      if (result.cancelled) this.toast(this.t('index.cancelled'));
      else {
        const failed = result.failed.length;
        const warned = result.warnings.length;
        const ocrFailed = result.ocr?.failed.length ?? 0;
        const attention = failed > 0 || warned > 0 || ocrFailed > 0;
        this.toast(
          [
            this.t('index.done', { count: result.indexed + result.reused }),
            result.unchanged ? this.t('index.unchanged', { count: result.unchanged }) : '',
            failed ? `${this.t('index.failed', { count: failed })}.` : '',
            warned ? this.t('ocr.warned', { count: warned }) : '',
            result.ocr ? this.t('ocr.done', { count: result.ocr.withText }) : '',
            ocrFailed ? this.t('ocr.failedCount', { count: ocrFailed }) : '',
          ]
            .filter(Boolean)
            .join(' '),
          failed ? 'error' : 'success',
          attention ? { label: this.t('index.details'), run: () => this.openDialog({ kind: 'index' }) } : undefined,
        );
      }
    } catch (err) {
      this.store.set((s) => ({ ...s, index: { ...s.index, running: false, error: errorText(err) } }));
      this.toast(this.t('index.error', { message: errorText(err) }), 'error');
    } finally {
      this.stopLiveRefresh();
      await this.refreshAll().catch(() => undefined);
      this.bumpLibrary();
    }
  }

  /** A page reloaded mid-job: poll until the engine's job ends. */
  private async waitForRunningIndex(): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const status = await this.client.invoke('app.status', {}).catch(() => null);
      if (!status?.indexJob) break;
    }
    this.store.set((s) => ({ ...s, index: { ...s.index, running: false } }));
    this.stopLiveRefresh();
    await this.refreshAll().catch(() => undefined);
    this.bumpLibrary();
  }

  async cancelIndex(): Promise<void> {
    await this.client.invoke('index.cancel', {});
  }

  private bumpLibrary(): void {
    this.store.set((s) => ({ ...s, libraryVersion: s.libraryVersion + 1 }));
  }

  private startLiveRefresh(): void {
    this.stopLiveRefresh();
    const tick = () => {
      this.bumpLibrary();
      void this.client.invoke('library.open', {}).then((library) => this.store.update({ library }), () => undefined);
      this.liveTimer = setTimeout(tick, liveRefreshMs(this.state.library?.files ?? 0));
    };
    // The first photos of a new folder show up almost at once; later refreshes are spaced out.
    this.liveTimer = setTimeout(tick, 400);
  }

  private stopLiveRefresh(): void {
    clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
  }

  // ---- sorting and review ---------------------------------------------------------------------

  /** `confirmed`: the photos confirmed in review become examples of their labels (few-shot). */
  async runSort(labels: string[], templates?: string[], confirmed = true): Promise<OpOutput<'sort.run'>> {
    const out = await this.client.invoke('sort.run', { labels, ...(templates?.length ? { templates } : {}), limit: 0, confirmed });
    await this.refreshSummary();
    this.store.update({ reviewLabel: labels[0] ?? null });
    for (const c of this.collections) c.invalidate();
    return out;
  }

  async setThreshold(runId: number, label: string, value: number): Promise<void> {
    const { summary } = await this.client.invoke('review.thresholds', { runId, thresholds: { [label]: value } });
    this.store.update({ summary });
    for (const c of this.collections) c.invalidate();
  }

  startReview(label: string): void {
    this.store.update({ view: 'review', reviewLabel: label, layout: 'grid' });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.markQueue.then(work, work);
    this.markQueue = next.catch(() => undefined);
    return next;
  }

  /** A marking key or button on `fileIds`; returns false when nothing was marked. */
  mark(command: Command, fileIds: number[], runId: number | undefined): Promise<boolean> {
    return this.serial(() => this.markNow(command, fileIds, runId));
  }

  undoMark(): Promise<void> {
    return this.serial(() => this.undoNow());
  }

  private async markNow(command: Command, fileIds: number[], runId: number | undefined): Promise<boolean> {
    if (fileIds.length === 0) {
      this.toast(this.t('marks.nothingFocused'));
      return false;
    }
    let input: OpInput<'review.mark'>;
    let done: string;
    const count = fileIds.length;
    switch (command.kind) {
      case 'label': {
        const label = this.state.summary?.labels[command.n - 1];
        if (!label) {
          this.toast(this.t('marks.noLabel', { n: command.n }), 'error');
          return false;
        }
        input = { fileIds, action: 'label', label };
        done = this.t('marks.assigned', { label, count });
        break;
      }
      case 'accept':
        input = { fileIds, action: 'accept' };
        done = this.t('marks.accepted', { count });
        break;
      case 'clear':
        input = { fileIds, action: 'clear' };
        done = this.t('marks.cleared', { count });
        break;
      case 'keep':
        input = { fileIds, action: 'keep' };
        done = this.t('marks.kept', { count });
        break;
      case 'reject':
        input = { fileIds, action: 'reject' };
        done = this.t('marks.rejected', { count });
        break;
      case 'unflag':
        input = { fileIds, action: 'unflag' };
        done = this.t('marks.unflagged', { count });
        break;
      default:
        return false;
    }
    try {
      const out = await this.client.invoke('review.mark', { ...input, ...(runId !== undefined ? { runId } : {}) });
      for (const c of this.collections) c.patchMarks(out.marks);
      this.announce(done);
      this.refreshSummarySoon();
      return true;
    } catch (err) {
      this.toast(this.t('common.error', { message: errorText(err) }), 'error');
      return false;
    }
  }

  private async undoNow(): Promise<void> {
    try {
      const out = await this.client.invoke('review.undo', {});
      if (out.batch === null) {
        this.toast(this.t('marks.nothingToUndo'));
        return;
      }
      for (const c of this.collections) c.patchMarks(out.marks);
      this.toast(this.t('marks.undone'), 'success');
      this.refreshSummarySoon();
    } catch (err) {
      this.toast(this.t('common.error', { message: errorText(err) }), 'error');
    }
  }

  // ---- tags -----------------------------------------------------------------------------------

  async changeTag(action: 'add' | 'remove', tag: string, fileIds: number[], contentIds: ReadonlySet<number>): Promise<void> {
    try {
      await this.client.invoke('tags.change', { action, tag, fileIds });
      for (const c of this.collections) c.patchTags(contentIds, tag.normalize('NFC').trim(), action);
      this.announce(this.t(action === 'add' ? 'tags.added' : 'tags.removed', { tag, count: fileIds.length }));
      await this.refreshTags();
    } catch (err) {
      this.toast(this.t('common.error', { message: errorText(err) }), 'error');
    }
  }

  // ---- search ---------------------------------------------------------------------------------

  setSearch(patch: Partial<SearchState>): void {
    this.store.set((s) => ({ ...s, search: { ...s.search, ...patch } }));
  }

  async searchText(query: string): Promise<void> {
    const q = query.trim();
    if (!q) return;
    this.setSearch({ mode: 'text', query: q, similarPath: null, wordsCount: null });
    this.store.update({ view: 'search', layout: 'grid' });
    await this.runSearch();
  }

  async searchSimilar(filePath: string): Promise<void> {
    this.setSearch({ mode: 'similar', similarPath: filePath });
    this.store.update({ view: 'search', layout: 'grid' });
    await this.runSearch();
  }

  async runSearch(): Promise<void> {
    const s = this.state.search;
    this.setSearch({ busy: true, error: null });
    const tuning = { limit: 500, cutoff: s.cutoff, ...(Object.keys(s.filters).length ? { filters: s.filters } : {}) };
    try {
      const words = s.mode === 'text' && s.within === 'words';
      // Alongside a search by meaning, count the images whose text holds the words (no model: a
      // full-text lookup), so the switch to them says whether it finds anything.
      const wordsCount =
        s.mode === 'text' && !words
          ? this.client.invoke('search.text', { query: '', text: s.query, ...tuning, cutoff: false }).then(
              (r) => r.hits.length,
              () => null,
            )
          : null;
      const result =
        s.mode === 'similar' && s.similarPath
          ? await this.client.invoke('search.similar', { path: s.similarPath, ...tuning })
          : words
            ? await this.client.invoke('search.text', { query: '', text: s.query, ...tuning })
            : await this.client.invoke('search.text', { query: s.query, ...tuning });
      const version = this.state.search.version + 1;
      this.setSearch({ result, busy: false, version, wordsCount: words ? result.hits.length : null });
      // The count follows on its own: the results never wait for it.
      if (wordsCount) void wordsCount.then((n) => this.state.search.version === version && this.setSearch({ wordsCount: n }));
      this.announce(this.t('search.count', { count: result.hits.length }));
    } catch (err) {
      const message = errorCode(err) === 'no-library' ? this.t('sort.needsIndex') : errorText(err);
      this.setSearch({ busy: false, error: message, result: null });
    }
  }
}
