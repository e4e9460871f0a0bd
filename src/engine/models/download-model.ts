import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError } from '../errors.js';
import { exists } from '../util/fs.js';
import { sha256File } from '../util/hash.js';
import { RateMeter } from '../util/rate.js';
import { filesForPrecision, type CatalogEntry, type CatalogFile } from './catalog.js';
import { downloadFile, probeFile } from './download.js';
import { InstallArea, linkOrCopy, removeEmptyDirs, type InstallResult } from './install.js';
import { lockDownload } from './lock.js';
import { readManifestOrNull, writeManifest, type ManifestFile, type ModelManifest } from './manifest.js';
import type { ConcretePrecision, Precision } from './types.js';
import { validateModelFolder } from './validate.js';

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

/** Where and how to reach the Hub. */
export interface HubOptions {
  endpoint: string;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
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
/** Download progress events are at most this frequent, except at file boundaries. */
const PROGRESS_INTERVAL_MS = 100;
/** A connection's pace changes within seconds; the rate should too. */
const RATE_WINDOW_MS = 5000;

/** Size then sha256: a reused file must still be exactly what its record says. */
async function fileMatches(file: string, record: VerifiedRecord): Promise<boolean> {
  try {
    if ((await fsp.stat(file)).size !== record.size) return false;
    return (await sha256File(file)) === record.sha256;
  } catch {
    return false;
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
 * Downloads one precision of a catalog model from its pinned revision and installs it atomically:
 * decide where each file comes from, fetch what is missing into the download cache (under a lock),
 * stage the files with the still-intact precisions already installed, validate, swap into place.
 */
export async function downloadModel(area: InstallArea, hub: HubOptions, entry: CatalogEntry, opts: DownloadModelOptions = {}): Promise<InstallResult> {
  const id = entry.id;
  const precision: ConcretePrecision = !opts.precision || opts.precision === 'auto' ? entry.defaultPrecision : opts.precision;
  const wanted = filesForPrecision(entry, precision);
  const target = area.modelDir(id);

  const existing = await installedCatalogCopy(target, id, Boolean(opts.force));
  if (existing && sameRevision(existing, entry) && existing.precisions.includes(precision)) {
    if (wanted.every((f) => fs.existsSync(path.join(target, f.path)))) {
      return { id, dir: target, precisions: existing.precisions, alreadyInstalled: true, bytesDownloaded: 0, manifest: existing };
    }
  }

  const cacheDir = area.downloadCacheDir(entry);
  await fsp.mkdir(cacheDir, { recursive: true });
  const lock = await lockDownload(cacheDir, id);
  let staging: string | undefined;
  try {
    const plan = await planDownload(wanted, existing, existing !== null && sameRevision(existing, entry), target, cacheDir);
    const signal = opts.signal ? AbortSignal.any([opts.signal, lock.signal]) : lock.signal;
    const bytesDownloaded = await fetchPlan(hub, entry, plan, cacheDir, { ...opts, signal });
    const kept = await keptPrecisions(entry, existing, precision, wanted, target);

    staging = await area.makeStaging(id);
    const manifestFiles = await stageFiles(staging, plan, kept, cacheDir, target);
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
    lock.assertHeld();
    await area.swapIn(staging, target, true);
    staging = undefined;
    await fsp.rm(cacheDir, { recursive: true, force: true });
    return { id, dir: target, precisions, alreadyInstalled: false, bytesDownloaded, manifest };
  } catch (err) {
    // A lost lock is the real cause of whatever failed after it (usually an abort).
    lock.assertHeld();
    throw err;
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    await lock.release();
    await removeEmptyDirs(cacheDir);
    await area.tidy();
  }
}

function sameRevision(manifest: ModelManifest, entry: CatalogEntry): boolean {
  return manifest.repo === entry.repo && manifest.revision === entry.revision;
}

/**
 * The manifest of the catalog install at `target`, or null when nothing is there. A folder that did
 * not come from the catalog is replaced only with `force`, and then none of it is reused.
 */
async function installedCatalogCopy(target: string, id: string, force: boolean): Promise<ModelManifest | null> {
  if (!(await exists(target))) return null;
  const existing = readManifestOrNull(target);
  if (existing?.source === 'catalog') return existing;
  if (!force) throw new TriagemError(`a model "${id}" that did not come from the catalog is already installed; remove it first or pass --force`, 'exists', target);
  return null;
}

/**
 * Decides per file where its bytes come from: the installed copy (same content, re-hashed), a file
 * finished by an earlier interrupted run, or the network.
 */
async function planDownload(wanted: CatalogFile[], existing: ModelManifest | null, sameRev: boolean, target: string, cacheDir: string): Promise<PlanStep[]> {
  const verified = readVerified(path.join(cacheDir, VERIFIED_FILE));
  const plan: PlanStep[] = [];
  for (const file of wanted) {
    const installed = existing?.files.find((f) => f.path === file.path);
    // Unpinned files are only trusted from an install of the same revision, where the Hub vouched for them.
    const trusted = installed && (file.sha256 ? installed.sha256 === file.sha256 : sameRev);
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
async function fetchPlan(hub: HubOptions, entry: CatalogEntry, plan: PlanStep[], cacheDir: string, opts: DownloadModelOptions): Promise<number> {
  // Unpinned sizes are asked for up front: the progress total is then right from the start, and a
  // missing file (404) fails before gigabytes of the others are fetched.
  for (const step of plan) {
    if (step.source === 'fetch' && step.size === undefined) {
      step.size = (await probeFile(hub.endpoint, entry.repo, entry.revision, step.file.path, opts.signal)).size;
    }
  }
  const verifiedFile = path.join(cacheDir, VERIFIED_FILE);
  const verified = readVerified(verifiedFile);
  const meter = new RateMeter({ windowMs: RATE_WINDOW_MS });
  const bytesTotal = plan.every((s) => s.size !== undefined) ? plan.reduce((sum, s) => sum + (s.size ?? 0), 0) : undefined;
  let doneBefore = 0;
  let bytesDownloaded = 0;
  let lastEmit = 0;
  const emit = (index: number, fileBytes: number, force: boolean) => {
    const now = performance.now();
    if (!opts.onProgress || (!force && now - lastEmit < PROGRESS_INTERVAL_MS)) return;
    lastEmit = now;
    const bytesDone = doneBefore + fileBytes;
    opts.onProgress({
      id: entry.id,
      phase: 'downloading',
      file: plan[index].file.path,
      fileIndex: index,
      fileCount: plan.length,
      bytesDone,
      bytesTotal,
      rate: meter.rate(),
      etaSeconds: bytesTotal !== undefined ? (meter.eta(bytesTotal - bytesDone) ?? undefined) : undefined,
    });
  };

  for (const [index, step] of plan.entries()) {
    if (step.source === 'fetch') {
      const result = await downloadFile({
        endpoint: hub.endpoint,
        repo: entry.repo,
        revision: entry.revision,
        file: step.file,
        dest: path.join(cacheDir, step.file.path),
        partPath: path.join(cacheDir, `${step.file.path}.part`),
        signal: opts.signal,
        retries: hub.retries,
        retryDelayMs: hub.retryDelayMs,
        idleTimeoutMs: hub.idleTimeoutMs,
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

/** Other precisions of the same revision stay installed, if their files are still intact. */
async function keptPrecisions(
  entry: CatalogEntry,
  existing: ModelManifest | null,
  precision: ConcretePrecision,
  wanted: CatalogFile[],
  target: string,
): Promise<{ precision: ConcretePrecision; files: ManifestFile[] }[]> {
  const kept: { precision: ConcretePrecision; files: ManifestFile[] }[] = [];
  if (!existing || !sameRevision(existing, entry)) return kept;
  for (const p of existing.precisions) {
    if (p === precision || !entry.precisions[p]) continue;
    const graphs = (entry.precisions[p] ?? []).filter((f) => !wanted.some((w) => w.path === f.path));
    const records = graphs.map((g) => existing.files.find((f) => f.path === g.path));
    if (records.every((r): r is ManifestFile => Boolean(r))) {
      const intact = await Promise.all(records.map((r) => fileMatches(path.join(target, r.path), r)));
      if (intact.every(Boolean)) kept.push({ precision: p, files: records });
    }
  }
  return kept;
}

/** Puts every file of the new install into `staging`: linked from the installed copy, or moved out of the cache. */
async function stageFiles(
  staging: string,
  plan: PlanStep[],
  kept: { files: ManifestFile[] }[],
  cacheDir: string,
  target: string,
): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const step of plan) {
    const dest = path.join(staging, step.file.path);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    if (step.source === 'installed') await linkOrCopy(step.from, dest);
    else await fsp.rename(path.join(cacheDir, step.file.path), dest);
    files.push({ path: step.file.path, ...step.record! });
  }
  for (const k of kept) {
    for (const f of k.files) {
      await linkOrCopy(path.join(target, f.path), path.join(staging, f.path));
      files.push(f);
    }
  }
  return files;
}
