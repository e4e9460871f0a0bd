import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError } from '../errors.js';
import { MODEL_ID_PATTERN, catalogEntry, loadCatalog, type Catalog, type CatalogEntry } from './catalog.js';
import { hubEndpoint } from './download.js';
import { downloadModel, type DownloadModelOptions, type HubOptions } from './download-model.js';
import { importModel, type ImportModelOptions } from './import-model.js';
import { InstallArea, checkId, type InstallResult } from './install.js';
import { listModels, type ModelListEntry } from './list-models.js';
import { readManifest, type ModelManifest } from './manifest.js';
import { verifyModel, type VerifyResult } from './verify-model.js';

// The manager's modules, re-exported so callers keep one import: catalog/download (download-model),
// install (staging, atomic swap; lock.ts for the download lock), import (import-model), verify
// (verify-model), listing (list-models) and the manifest.
export { manifestSchema, readManifest, type ModelManifest } from './manifest.js';
export { slugifyId, type InstallResult } from './install.js';
export type { DownloadModelOptions, DownloadProgress } from './download-model.js';
export type { ImportModelOptions } from './import-model.js';
export type { ModelListEntry } from './list-models.js';
export type { VerifyProblem, VerifyResult } from './verify-model.js';
export type { ModelSummary } from './validate.js';

export interface ModelManagerOptions {
  /** Catalog to use instead of resources/models/catalog.json (tests pass a tiny one). */
  catalog?: Catalog;
  /** Hub base URL; default TRIAGEM_HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

/**
 * Installs, lists, verifies and removes models under one models folder. Every install is staged
 * and renamed into place only once complete and validated, so a model folder is either whole or
 * absent. Only `download` touches the network.
 */
export class ModelManager {
  readonly catalog: Catalog;
  private readonly area: InstallArea;
  private readonly hub: HubOptions;

  constructor(
    readonly modelsDir: string,
    options: ModelManagerOptions = {},
  ) {
    this.modelsDir = path.resolve(modelsDir);
    this.area = new InstallArea(this.modelsDir);
    this.catalog = options.catalog ?? loadCatalog();
    this.hub = {
      endpoint: (options.endpoint ?? hubEndpoint()).replace(/\/+$/, ''),
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      idleTimeoutMs: options.idleTimeoutMs,
    };
  }

  entry(id: string): CatalogEntry | undefined {
    return catalogEntry(id, this.catalog);
  }

  /** The installed folder of a model, or undefined when it is not installed. */
  installedDir(id: string): string | undefined {
    if (!MODEL_ID_PATTERN.test(id)) return undefined;
    const dir = this.area.modelDir(id);
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
    const hint = this.entry(id) ? `run "triagem models download ${id}"` : `known models: ${this.knownIds()}; or "triagem models import <folder>"`;
    throw new TriagemError(`model "${id}" is not installed in ${this.modelsDir} (${hint})`, 'model-not-installed');
  }

  manifest(id: string): ModelManifest | null {
    const dir = this.installedDir(id);
    return dir ? readManifest(dir) : null;
  }

  async list(): Promise<ModelListEntry[]> {
    return listModels(this.modelsDir, this.catalog);
  }

  /** Downloads one precision of a catalog model from its pinned revision and installs it atomically. */
  async download(id: string, opts: DownloadModelOptions = {}): Promise<InstallResult> {
    const entry = this.entry(id);
    if (!entry) throw new TriagemError(`"${id}" is not in the model catalog (known: ${this.knownIds()})`, 'unknown-model');
    return downloadModel(this.area, this.hub, entry, opts);
  }

  /** Copies a model folder into the models folder after validating it, then validates the copy. The source is only read. */
  async import(folder: string, opts: ImportModelOptions = {}): Promise<InstallResult> {
    return importModel(this.area, folder, opts);
  }

  /** Re-hashes every file the manifest lists and reports each one that is missing or changed. */
  async verify(id: string): Promise<VerifyResult> {
    return verifyModel(id, this.requireInstalled(id));
  }

  /** Removes an installed model and any partial download of it. */
  async remove(id: string): Promise<{ id: string; dir: string }> {
    checkId(id);
    const dir = this.requireInstalled(id);
    await this.area.removeInstalled(id, dir);
    const entry = this.entry(id);
    if (entry) await fsp.rm(this.area.downloadCacheDir(entry), { recursive: true, force: true });
    await this.area.tidy();
    return { id, dir };
  }

  private knownIds(): string {
    return this.catalog.models.map((m) => m.id).join(', ');
  }
}
