import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { TriagemError, errorMessage } from '../errors.js';
import {
  MODEL_ID_PATTERN,
  availablePrecisions,
  catalogEntry,
  filesForPrecision,
  knownDownloadSize,
  loadCatalog,
  scoringSchema,
  type Catalog,
  type CatalogEntry,
  type CatalogFile,
} from './catalog.js';
import { RateMeter, downloadFile, hubEndpoint, probeFile, sha256File } from './download.js';
import { DEFAULT_SCORING, MANIFEST_FILE, readModelFolder, type ConcretePrecision } from './layout.js';
import type { ModelFamily, ModelLayout, Precision, Scoring } from './types.js';
import { validateModelFolder, type ModelSummary } from './validate.js';

const precisionList = z.array(z.enum(['fp32', 'fp16', 'quantized', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4']));

/** `triagem-model.json`: what was installed, from where, and the hashes `verify` checks against. */
export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(MODEL_ID_PATTERN),
  name: z.string().optional(),
  source: z.enum(['catalog', 'import']),
  family: z.enum(['clip', 'siglip', 'siglip2']),
  layout: z.enum(['xenova', 'immich']),
  repo: z.string().optional(),
  revision: z.string().optional(),
  /** The folder an import was copied from, for the user's reference only. */
  imported_from: z.string().optional(),
  precisions: precisionList,
  files: z.array(z.object({ path: z.string().min(1), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  scoring: scoringSchema,
  installed_at: z.string(),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

/** The parts of a foreign manifest an import honours. */
const looseManifestSchema = z.object({ name: z.string().min(1).optional(), scoring: scoringSchema.partial().optional() });

export interface ModelListEntry {
  id: string;
  name: string;
  description?: string;
  languages: string[];
  family?: ModelFamily;
  layout?: ModelLayout;
  license?: string;
  /** The catalog's default model. */
  default: boolean;
  inCatalog: boolean;
  installed: boolean;
  /** How the installed copy got here; `unmanaged` = a folder placed by hand, with no manifest. */
  source?: 'catalog' | 'import' | 'unmanaged';
  dir?: string;
  installedPrecisions: ConcretePrecision[];
  /** Precisions the catalog offers. */
  availablePrecisions: ConcretePrecision[];
  defaultPrecision?: ConcretePrecision;
  /** Download size per catalog precision: pinned sizes summed; not `exact` when some size is only known at download time. */
  downloadBytes: Partial<Record<ConcretePrecision, { bytes: number; exact: boolean }>>;
  installedBytes?: number;
  repo?: string;
  revision?: string;
  scoring?: Scoring;
  /** Why an installed folder cannot be used, when it cannot. */
  problem?: string;
}

export interface DownloadProgress {
  id: string;
  phase: 'downloading' | 'validating';
  file: string;
  fileIndex: number;
  fileCount: number;
  bytesDone: number;
  /** Undefined while some file's size is still unknown. */
  bytesTotal?: number;
  /** Bytes per second over the last few seconds (resumed bytes excluded). */
  rate: number;
  etaSeconds?: number;
}

export interface DownloadModelOptions {
  precision?: Precision;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Replace an installed folder that did not come from the catalog. */
  force?: boolean;
}

export interface ImportModelOptions {
  id?: string;
  force?: boolean;
}

export interface InstallResult {
  id: string;
  dir: string;
  precisions: ConcretePrecision[];
  /** Nothing was fetched: the requested precision was already installed. */
  alreadyInstalled: boolean;
  /** Bytes fetched over the network in this run. */
  bytesDownloaded: number;
  manifest: ModelManifest;
}

export interface VerifyProblem {
  path: string;
  problem: 'missing' | 'size' | 'sha256' | 'unreadable';
  expected?: string;
  actual?: string;
}

export interface VerifyResult {
  id: string;
  dir: string;
  ok: boolean;
  checked: number;
  problems: VerifyProblem[];
}

export interface ModelManagerOptions {
  /** Catalog to use instead of resources/models/catalog.json (tests pass a tiny one). */
  catalog?: Catalog;
  /** Hub base URL; default TRIAGEM_HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

const STAGING = '.staging';
const DOWNLOADS = '.downloads';

function randomSuffix(): string {
  return crypto.randomBytes(4).toString('hex');
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/** Folder name → model id: lowercase ASCII, accents dropped, anything else becomes "-". */
export function slugifyId(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-._]+|[-._]+$/g, '')
    .slice(0, 64)
    .replace(/[-._]+$/g, '');
}

function checkId(id: string): void {
  if (!MODEL_ID_PATTERN.test(id)) {
    throw new TriagemError(`invalid model id "${id}": use lowercase letters, digits, ".", "_" or "-" (at most 64, not starting with a symbol)`, 'bad-id');
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Copies a file while hashing what was read, so the manifest records exactly what was copied. */
async function copyHashed(src: string, dest: string): Promise<{ size: number; sha256: string }> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const hash = crypto.createHash('sha256');
  let size = 0;
  await pipeline(
    fs.createReadStream(src),
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    fs.createWriteStream(dest, { flags: 'wx' }),
  );
  return { size, sha256: hash.digest('hex') };
}

/** Hard link when the file system allows (instant, no extra space), else a copy. */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  try {
    await fsp.link(src, dest);
  } catch {
    await fsp.copyFile(src, dest);
  }
}

/** ONNX external-data files sit next to their graph (`model.onnx_data`, `model.onnx.data`). */
function externalDataFiles(dir: string, graph: string): string[] {
  const folder = path.join(dir, path.dirname(graph));
  const base = path.basename(graph);
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return [];
  }
  return names
    .filter((n) => n !== base && n.startsWith(base) && /(_data|\.data)$/.test(n))
    .map((n) => path.posix.join(path.dirname(graph).split(path.sep).join('/'), n));
}

export function readManifest(dir: string): ModelManifest | null {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw new TriagemError(`cannot read: ${errorMessage(err)}`, 'unreadable', file);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TriagemError(`invalid JSON: ${errorMessage(err)}`, 'bad-manifest', file);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TriagemError(`invalid model manifest: ${issues}`, 'bad-manifest', file);
  }
  return parsed.data;
}

async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  await fsp.writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
}

interface VerifiedRecord {
  size: number;
  sha256: string;
}

/** Where one file of a download comes from. */
type PlanStep =
  | { file: CatalogFile; source: 'installed'; from: string; size: number; record: VerifiedRecord }
  | { file: CatalogFile; source: 'cache'; size: number; record: VerifiedRecord }
  | { file: CatalogFile; source: 'fetch'; size?: number; record?: VerifiedRecord };

/** Files finished by an interrupted run, with the checksums they were verified against. */
const VERIFIED_FILE = 'verified.json';

/** Size then sha256: a reused file must still be exactly what its record says. */
async function fileMatches(file: string, record: VerifiedRecord): Promise<boolean> {
  try {
    if ((await fsp.stat(file)).size !== record.size) return false;
    return (await sha256File(file)) === record.sha256;
  } catch {
    return false;
  }
}

/**
 * Installs, lists, verifies and removes models under one models folder. Every install is staged in
 * `<modelsDir>/.staging/` and renamed into place only once complete and validated, so a model folder
 * is either whole or absent. Only `download` touches the network.
 */
export class ModelManager {
  readonly catalog: Catalog;
  private readonly endpoint: string;

  constructor(
    readonly modelsDir: string,
    private readonly options: ModelManagerOptions = {},
  ) {
    this.modelsDir = path.resolve(modelsDir);
    this.catalog = options.catalog ?? loadCatalog();
    this.endpoint = (options.endpoint ?? hubEndpoint()).replace(/\/+$/, '');
  }

  private get stagingRoot(): string {
    return path.join(this.modelsDir, STAGING);
  }

  private downloadCacheDir(entry: CatalogEntry): string {
    return path.join(this.modelsDir, DOWNLOADS, `${entry.id}-${entry.revision.slice(0, 12)}`);
  }

  entry(id: string): CatalogEntry | undefined {
    return catalogEntry(id, this.catalog);
  }

  /** The installed folder of a model, or undefined when it is not installed. */
  installedDir(id: string): string | undefined {
    if (!MODEL_ID_PATTERN.test(id)) return undefined;
    const dir = path.join(this.modelsDir, id);
    try {
      return fs.statSync(dir).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  /** Like installedDir, but a missing model is an error telling the user how to get it. */
  requireInstalled(id: string): string {
    const dir = this.installedDir(id);
    if (dir) return dir;
    const hint = this.entry(id) ? `run "triagem models download ${id}"` : `known models: ${this.catalog.models.map((m) => m.id).join(', ')}; or "triagem models import <folder>"`;
    throw new TriagemError(`model "${id}" is not installed in ${this.modelsDir} (${hint})`, 'not-installed');
  }

  manifest(id: string): ModelManifest | null {
    const dir = this.installedDir(id);
    return dir ? readManifest(dir) : null;
  }

  async list(): Promise<ModelListEntry[]> {
    const installed = new Map<string, string>();
    let names: fs.Dirent[] = [];
    try {
      names = await fsp.readdir(this.modelsDir, { withFileTypes: true });
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw new TriagemError(`cannot read models folder: ${errorMessage(err)}`, 'unreadable', this.modelsDir);
    }
    for (const d of names) {
      if (d.isDirectory() && !d.name.startsWith('.')) installed.set(d.name, path.join(this.modelsDir, d.name));
    }

    const rows: ModelListEntry[] = [];
    for (const entry of this.catalog.models) {
      const row: ModelListEntry = {
        id: entry.id,
        name: entry.name,
        description: entry.description,
        languages: entry.languages,
        family: entry.family,
        layout: entry.layout,
        license: entry.license,
        default: entry.default,
        inCatalog: true,
        installed: false,
        installedPrecisions: [],
        availablePrecisions: availablePrecisions(entry),
        defaultPrecision: entry.defaultPrecision,
        downloadBytes: Object.fromEntries(availablePrecisions(entry).map((p) => [p, knownDownloadSize(entry, p)])),
        repo: entry.repo,
        revision: entry.revision,
        scoring: entry.scoring,
      };
      const dir = installed.get(entry.id);
      if (dir) {
        this.describeInstalled(row, dir);
        installed.delete(entry.id);
      }
      rows.push(row);
    }
    for (const [id, dir] of [...installed].sort(([a], [b]) => a.localeCompare(b))) {
      const row: ModelListEntry = {
        id,
        name: id,
        languages: [],
        default: false,
        inCatalog: false,
        installed: false,
        installedPrecisions: [],
        availablePrecisions: [],
        downloadBytes: {},
      };
      this.describeInstalled(row, dir);
      rows.push(row);
    }
    return rows;
  }

  /** Fills a list row from an installed folder; a broken folder is listed with its problem, not thrown. */
  private describeInstalled(row: ModelListEntry, dir: string): void {
    row.installed = true;
    row.dir = dir;
    try {
      const manifest = readManifest(dir);
      if (manifest) {
        row.source = manifest.source;
        row.installedPrecisions = manifest.precisions;
        row.installedBytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
        row.family = manifest.family;
        row.layout = manifest.layout;
        row.scoring = manifest.scoring;
        if (manifest.name && !row.inCatalog) row.name = manifest.name;
        if (manifest.source === 'import') {
          row.repo = undefined;
          row.revision = undefined;
        } else {
          row.repo = manifest.repo;
          row.revision = manifest.revision;
        }
        return;
      }
      row.source = 'unmanaged';
      const spec = readModelFolder(dir);
      row.family = spec.family;
      row.layout = spec.layout;
      row.installedPrecisions = (Object.keys(spec.vision) as ConcretePrecision[]).filter((p) => spec.text[p]);
      row.scoring = { ...DEFAULT_SCORING[spec.family], ...(spec.manifest?.scoring ?? {}) };
    } catch (err) {
      row.source ??= 'unmanaged';
      row.problem = errorMessage(err);
    }
  }

  /** Downloads one precision of a catalog model from its pinned revision and installs it atomically. */
  async download(id: string, opts: DownloadModelOptions = {}): Promise<InstallResult> {
    const entry = this.entry(id);
    if (!entry) {
      throw new TriagemError(`"${id}" is not in the model catalog (known: ${this.catalog.models.map((m) => m.id).join(', ')})`, 'unknown-model');
    }
    const precision: ConcretePrecision = !opts.precision || opts.precision === 'auto' ? entry.defaultPrecision : opts.precision;
    const wanted = filesForPrecision(entry, precision);
    const target = path.join(this.modelsDir, id);

    let existing: ModelManifest | null = null;
    if (await exists(target)) {
      existing = readManifestOrNull(target);
      if (existing?.source !== 'catalog') {
        if (!opts.force) {
          throw new TriagemError(`a model "${id}" that did not come from the catalog is already installed; remove it first or pass --force`, 'exists', target);
        }
        existing = null;
      } else if (existing.repo === entry.repo && existing.revision === entry.revision && existing.precisions.includes(precision)) {
        if (wanted.every((f) => fs.existsSync(path.join(target, f.path)))) {
          return { id, dir: target, precisions: existing.precisions, alreadyInstalled: true, bytesDownloaded: 0, manifest: existing };
        }
      }
    }
    const sameRevision = existing !== null && existing.repo === entry.repo && existing.revision === entry.revision;

    const cacheDir = this.downloadCacheDir(entry);
    await fsp.mkdir(cacheDir, { recursive: true });
    const unlock = await takeLock(cacheDir, id);
    let staging: string | undefined;
    try {
      const plan = await this.planDownload(wanted, existing, sameRevision, target, cacheDir);
      const bytesDownloaded = await this.fetchPlan(entry, plan, cacheDir, opts);

      // Other precisions of the same revision stay installed, if their files are still intact.
      const kept: { precision: ConcretePrecision; files: ModelManifest['files'] }[] = [];
      if (existing && sameRevision) {
        for (const p of existing.precisions) {
          if (p === precision || !entry.precisions[p]) continue;
          const graphs = (entry.precisions[p] ?? []).filter((f) => !wanted.some((w) => w.path === f.path));
          const records = graphs.map((g) => existing.files.find((f) => f.path === g.path));
          if (records.every((r): r is ModelManifest['files'][number] => Boolean(r))) {
            const intact = await Promise.all(records.map((r) => fileMatches(path.join(target, r.path), r)));
            if (intact.every(Boolean)) kept.push({ precision: p, files: records });
          }
        }
      }

      staging = await this.makeStaging(id);
      const manifestFiles: ModelManifest['files'] = [];
      for (const step of plan) {
        const dest = path.join(staging, step.file.path);
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        if (step.source === 'installed') await linkOrCopy(step.from, dest);
        else await fsp.rename(path.join(cacheDir, step.file.path), dest);
        manifestFiles.push({ path: step.file.path, ...step.record! });
      }
      for (const k of kept) {
        for (const f of k.files) {
          await linkOrCopy(path.join(target, f.path), path.join(staging, f.path));
          manifestFiles.push(f);
        }
      }

      const bytes = manifestFiles.reduce((sum, f) => sum + f.size, 0);
      opts.onProgress?.({ id, phase: 'validating', file: '', fileIndex: plan.length, fileCount: plan.length, bytesDone: bytes, bytesTotal: bytes, rate: 0 });
      const summary = await validateModelFolder(staging);
      const precisions = [precision, ...kept.map((k) => k.precision)].filter((p) => summary.precisions.includes(p));
      const manifest: ModelManifest = {
        format: 1,
        id,
        name: entry.name,
        source: 'catalog',
        family: entry.family,
        layout: entry.layout,
        repo: entry.repo,
        revision: entry.revision,
        precisions,
        files: manifestFiles,
        scoring: entry.scoring,
        installed_at: new Date().toISOString(),
      };
      await writeManifest(staging, manifest);
      await this.swapIn(staging, target, true);
      staging = undefined;
      await fsp.rm(cacheDir, { recursive: true, force: true });
      return { id, dir: target, precisions, alreadyInstalled: false, bytesDownloaded, manifest };
    } finally {
      if (staging) await fsp.rm(staging, { recursive: true, force: true });
      await unlock();
      await removeEmptyDirs(cacheDir);
      await this.tidy();
    }
  }

  /**
   * Decides per file where its bytes come from: the installed copy (same content, re-hashed), a file
   * finished by an earlier interrupted run, or the network.
   */
  private async planDownload(wanted: CatalogFile[], existing: ModelManifest | null, sameRevision: boolean, target: string, cacheDir: string): Promise<PlanStep[]> {
    const verified = readVerified(path.join(cacheDir, VERIFIED_FILE));
    const plan: PlanStep[] = [];
    for (const file of wanted) {
      const installed = existing?.files.find((f) => f.path === file.path);
      // Unpinned files are only trusted from an install of the same revision, where the Hub vouched for them.
      const trusted = installed && (file.sha256 ? installed.sha256 === file.sha256 : sameRevision);
      if (installed && trusted && (await fileMatches(path.join(target, file.path), installed))) {
        plan.push({ file, source: 'installed', from: path.join(target, file.path), size: installed.size, record: { size: installed.size, sha256: installed.sha256 } });
        continue;
      }
      const record = verified[file.path];
      if (record && (await cachedFileIsGood(path.join(cacheDir, file.path), record, file))) {
        plan.push({ file, source: 'cache', size: record.size, record });
        continue;
      }
      plan.push({ file, source: 'fetch', size: file.size });
    }
    return plan;
  }

  /** Fetches the plan's missing files into the download cache, reporting overall progress. Returns bytes fetched. */
  private async fetchPlan(entry: CatalogEntry, plan: PlanStep[], cacheDir: string, opts: DownloadModelOptions): Promise<number> {
    // Unpinned sizes are asked for up front: the progress total is then right from the start, and a
    // missing file (404) fails before gigabytes of the others are fetched.
    for (const step of plan) {
      if (step.source === 'fetch' && step.size === undefined) {
        step.size = (await probeFile(this.endpoint, entry.repo, entry.revision, step.file.path, opts.signal)).size;
      }
    }
    const verifiedFile = path.join(cacheDir, VERIFIED_FILE);
    const verified = readVerified(verifiedFile);
    const meter = new RateMeter();
    const bytesTotal = plan.every((s) => s.size !== undefined) ? plan.reduce((sum, s) => sum + (s.size ?? 0), 0) : undefined;
    let doneBefore = 0;
    let bytesDownloaded = 0;
    let lastEmit = 0;
    const emit = (index: number, fileBytes: number, force: boolean) => {
      const now = performance.now();
      if (!opts.onProgress || (!force && now - lastEmit < 100)) return;
      lastEmit = now;
      const bytesDone = doneBefore + fileBytes;
      const rate = meter.rate();
      opts.onProgress({
        id: entry.id,
        phase: 'downloading',
        file: plan[index].file.path,
        fileIndex: index,
        fileCount: plan.length,
        bytesDone,
        bytesTotal,
        rate,
        etaSeconds: bytesTotal !== undefined && rate > 0 ? Math.max(0, (bytesTotal - bytesDone) / rate) : undefined,
      });
    };

    for (const [index, step] of plan.entries()) {
      if (step.source === 'fetch') {
        const result = await downloadFile({
          endpoint: this.endpoint,
          repo: entry.repo,
          revision: entry.revision,
          file: step.file,
          dest: path.join(cacheDir, step.file.path),
          partPath: path.join(cacheDir, `${step.file.path}.part`),
          signal: opts.signal,
          retries: this.options.retries,
          retryDelayMs: this.options.retryDelayMs,
          idleTimeoutMs: this.options.idleTimeoutMs,
          onProgress: (fileBytes, _size, newBytes) => {
            if (newBytes > 0) {
              meter.add(newBytes);
              bytesDownloaded += newBytes;
            }
            emit(index, fileBytes, false);
          },
        });
        step.record = { size: result.size, sha256: result.sha256 };
        step.size = result.size;
        // Recorded at once so an interrupted run keeps every finished file.
        verified[step.file.path] = step.record;
        await fsp.writeFile(verifiedFile, JSON.stringify(verified));
      }
      const size = step.record?.size ?? 0;
      emit(index, size, true);
      doneBefore += size;
    }
    return bytesDownloaded;
  }

  /**
   * Copies a model folder into the models folder after validating it, then validates the copy.
   * The source folder is only read.
   */
  async import(folder: string, opts: ImportModelOptions = {}): Promise<InstallResult> {
    const source = path.resolve(folder);
    let stat: fs.Stats;
    try {
      stat = await fsp.stat(source);
    } catch {
      throw new TriagemError('folder does not exist', 'not-found', source);
    }
    if (!stat.isDirectory()) throw new TriagemError('not a folder', 'not-a-model', source);

    const id = opts.id ?? slugifyId(path.basename(source));
    if (!id) throw new TriagemError(`cannot make a model id from the folder name "${path.basename(source)}"; pass --id`, 'bad-id', source);
    checkId(id);
    const target = path.join(this.modelsDir, id);
    if ((await exists(target)) && !opts.force) {
      throw new TriagemError(`a model "${id}" is already installed; pass --force to replace it, or --id to import under another id`, 'exists', target);
    }

    const summary = await validateModelFolder(source);
    // A folder may carry its own triagem-model.json (e.g. copied from another machine): its name and
    // scoring are kept; everything else is recomputed from the files.
    const own = looseManifestSchema.safeParse(readModelFolder(source).manifest ?? {});
    if (!own.success) {
      const issues = own.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new TriagemError(`invalid model manifest: ${issues}`, 'bad-manifest', path.join(source, MANIFEST_FILE));
    }
    const scoring: Scoring = { ...DEFAULT_SCORING[summary.family], ...(own.data.scoring ?? {}) };

    const wanted = new Set<string>();
    for (const rel of summary.files) {
      if (rel === MANIFEST_FILE) continue;
      wanted.add(rel);
      if (rel.endsWith('.onnx')) for (const extra of externalDataFiles(source, rel)) wanted.add(extra);
    }

    let staging: string | undefined = await this.makeStaging(id);
    try {
      const files: ModelManifest['files'] = [];
      for (const rel of [...wanted].sort()) {
        const { size, sha256 } = await copyHashed(path.join(source, rel), path.join(staging, rel)).catch((err: unknown) => {
          throw new TriagemError(`cannot copy: ${errorMessage(err)}`, 'unreadable', path.join(source, rel));
        });
        files.push({ path: rel, size, sha256 });
      }
      // The copy is validated on its own: it proves the files the layout needs were all copied.
      const staged = await validateModelFolder(staging);
      const manifest: ModelManifest = {
        format: 1,
        id,
        name: own.data.name ?? path.basename(source),
        source: 'import',
        family: staged.family,
        layout: staged.layout,
        imported_from: source,
        precisions: staged.precisions,
        files,
        scoring,
        installed_at: new Date().toISOString(),
      };
      await writeManifest(staging, manifest);
      await this.swapIn(staging, target, Boolean(opts.force));
      staging = undefined;
      return { id, dir: target, precisions: manifest.precisions, alreadyInstalled: false, bytesDownloaded: 0, manifest };
    } finally {
      if (staging) await fsp.rm(staging, { recursive: true, force: true });
      await this.tidy();
    }
  }

  /** Re-hashes every file the manifest lists and reports each one that is missing or changed. */
  async verify(id: string): Promise<VerifyResult> {
    const dir = this.requireInstalled(id);
    const manifest = readManifest(dir);
    if (!manifest) {
      throw new TriagemError(`no ${MANIFEST_FILE}: this folder was not installed by triagem, so there is nothing to verify against; import it with "triagem models import"`, 'no-manifest', dir);
    }
    const problems: VerifyProblem[] = [];
    for (const f of manifest.files) {
      const file = path.join(dir, f.path);
      let size: number;
      try {
        size = (await fsp.stat(file)).size;
      } catch {
        problems.push({ path: f.path, problem: 'missing' });
        continue;
      }
      if (size !== f.size) {
        problems.push({ path: f.path, problem: 'size', expected: String(f.size), actual: String(size) });
        continue;
      }
      try {
        const sha256 = await sha256File(file);
        if (sha256 !== f.sha256) problems.push({ path: f.path, problem: 'sha256', expected: f.sha256, actual: sha256 });
      } catch (err) {
        problems.push({ path: f.path, problem: 'unreadable', actual: errorMessage(err) });
      }
    }
    return { id, dir, ok: problems.length === 0, checked: manifest.files.length, problems };
  }

  /** Removes an installed model and any partial download of it. */
  async remove(id: string): Promise<{ id: string; dir: string }> {
    checkId(id);
    const dir = this.requireInstalled(id);
    await fsp.mkdir(this.stagingRoot, { recursive: true });
    // Renamed aside first so the model vanishes at once, even if deleting its files takes a while.
    const aside = path.join(this.stagingRoot, `${id}-removing-${randomSuffix()}`);
    try {
      await fsp.rename(dir, aside);
    } catch (err) {
      const inUse = isErrno(err, 'EBUSY', 'EPERM', 'EACCES');
      throw new TriagemError(inUse ? 'cannot remove: the model is in use or not writable' : `cannot remove: ${errorMessage(err)}`, 'unremovable', dir);
    }
    await fsp.rm(aside, { recursive: true, force: true });
    const entry = this.entry(id);
    if (entry) await fsp.rm(this.downloadCacheDir(entry), { recursive: true, force: true });
    await this.tidy();
    return { id, dir };
  }

  private async makeStaging(id: string): Promise<string> {
    await fsp.mkdir(this.stagingRoot, { recursive: true });
    const dir = path.join(this.stagingRoot, `${id}-${randomSuffix()}`);
    await fsp.mkdir(dir);
    return dir;
  }

  /** Moves a complete staged folder into place; an existing model is replaced only when `replace`. */
  private async swapIn(staged: string, target: string, replace: boolean): Promise<void> {
    const id = path.basename(target);
    if (await exists(target)) {
      if (!replace) throw new TriagemError(`a model "${id}" is already installed`, 'exists', target);
      const aside = path.join(this.stagingRoot, `${id}-old-${randomSuffix()}`);
      try {
        await fsp.rename(target, aside);
      } catch (err) {
        throw new TriagemError(`cannot replace the installed model: ${errorMessage(err)}`, 'unremovable', target);
      }
      try {
        await fsp.rename(staged, target);
      } catch (err) {
        await fsp.rename(aside, target).catch(() => undefined);
        throw new TriagemError(`cannot install: ${errorMessage(err)}`, 'install-failed', target);
      }
      await fsp.rm(aside, { recursive: true, force: true });
      return;
    }
    try {
      await fsp.rename(staged, target);
    } catch (err) {
      if (isErrno(err, 'EEXIST', 'ENOTEMPTY')) throw new TriagemError(`a model "${id}" is already installed`, 'exists', target);
      throw new TriagemError(`cannot install: ${errorMessage(err)}`, 'install-failed', target);
    }
  }

  /** Drops empty bookkeeping folders so a models folder holds nothing but models after a failure. */
  private async tidy(): Promise<void> {
    for (const dir of [this.stagingRoot, path.join(this.modelsDir, DOWNLOADS)]) {
      try {
        await fsp.rmdir(dir);
      } catch {
        // Not empty (another install, or a partial download kept for resuming) or already gone.
      }
    }
  }
}

/** Bottom-up removal of empty folders left after deleting part files; non-empty ones stay. */
async function removeEmptyDirs(dir: string): Promise<void> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(path.join(dir, e.name));
  try {
    await fsp.rmdir(dir);
  } catch {
    // Still holds files: kept.
  }
}

function readManifestOrNull(dir: string): ModelManifest | null {
  try {
    return readManifest(dir);
  } catch {
    return null;
  }
}

function readVerified(file: string): Record<string, VerifiedRecord> {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    const parsed = z.record(z.string(), z.object({ size: z.number(), sha256: z.string() })).safeParse(data);
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** A file finished in an earlier run is reused only if it still hashes to what was verified then. */
async function cachedFileIsGood(file: string, record: VerifiedRecord, pin: CatalogFile): Promise<boolean> {
  if (pin.sha256 && pin.sha256 !== record.sha256) return false;
  if (pin.size !== undefined && pin.size !== record.size) return false;
  return fileMatches(file, record);
}

/**
 * One download per model at a time: two processes appending to the same part file would corrupt it.
 * A lock left by a process that no longer exists is taken over.
 */
async function takeLock(cacheDir: string, id: string): Promise<() => Promise<void>> {
  const lock = path.join(cacheDir, '.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      await fsp.writeFile(lock, String(process.pid), { flag: 'wx' });
      return async () => {
        await fsp.rm(lock, { force: true });
      };
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      const text = fs.readFileSync(lock, 'utf8').trim();
      const pid = Number(text);
      // An empty lock was created an instant ago and its owner has not written its pid yet; it is
      // stale only if it stays empty (a crash between create and write).
      const justCreated = text === '' && Date.now() - fs.statSync(lock).mtimeMs < 10_000;
      if (justCreated || (Number.isInteger(pid) && pid > 0 && processAlive(pid))) {
        throw new TriagemError(`model "${id}" is already being downloaded by process ${justCreated ? 'starting now' : pid}`, 'busy', cacheDir);
      }
      await fsp.rm(lock, { force: true });
    }
  }
  throw new TriagemError(`cannot lock the download folder of "${id}"`, 'busy', cacheDir);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}

export type { ModelSummary };
