import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TriagemError, errorMessage } from '../errors.js';
import { exists } from '../util/fs.js';
import { checkId, slugifyId, type InstallArea, type InstallResult } from './install.js';
import { DEFAULT_SCORING, MANIFEST_FILE, readModelFolder } from './layout.js';
import { looseManifestSchema, writeManifest, type ModelManifest } from './manifest.js';
import type { Scoring } from './types.js';
import { validateModelFolder } from './validate.js';

export interface ImportModelOptions {
  id?: string;
  force?: boolean;
}

/** Copies a file while hashing what was read, so the manifest records exactly what was copied. */
async function copyHashed(src: string, dest: string): Promise<{ size: number; sha256: string }> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const hash = createHash('sha256');
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

/** The files a validated folder's model needs, its own manifest aside, with external data next to each graph. */
function filesToCopy(source: string, files: readonly string[]): string[] {
  const wanted = new Set<string>();
  for (const rel of files) {
    if (rel === MANIFEST_FILE) continue;
    wanted.add(rel);
    if (rel.endsWith('.onnx')) for (const extra of externalDataFiles(source, rel)) wanted.add(extra);
  }
  return [...wanted].sort();
}

/**
 * Copies a model folder into the models folder after validating it, then validates the copy, and
 * installs it atomically with a manifest of what was copied. The source folder is only read.
 */
export async function importModel(area: InstallArea, folder: string, opts: ImportModelOptions = {}): Promise<InstallResult> {
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
  const target = area.modelDir(id);
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

  let staging: string | undefined = await area.makeStaging(id);
  try {
    const files: ModelManifest['files'] = [];
    for (const rel of filesToCopy(source, summary.files)) {
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
    await area.swapIn(staging, target, Boolean(opts.force));
    staging = undefined;
    return { id, dir: target, precisions: manifest.precisions, alreadyInstalled: false, bytesDownloaded: 0, manifest };
  } finally {
    if (staging) await fsp.rm(staging, { recursive: true, force: true });
    await area.tidy();
  }
}
