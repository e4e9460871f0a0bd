import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { isErrno } from '../util/fs.js';
import { availablePrecisions, knownDownloadSize, type Catalog, type CatalogEntry } from './catalog.js';
import { DEFAULT_SCORING, readModelFolder } from './layout.js';
import { readManifest } from './manifest.js';
import type { ConcretePrecision, ModelFamily, ModelLayout, Scoring } from './types.js';

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

function catalogRow(entry: CatalogEntry): ModelListEntry {
  return {
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
}

function folderRow(id: string): ModelListEntry {
  return { id, name: id, languages: [], default: false, inCatalog: false, installed: false, installedPrecisions: [], availablePrecisions: [], downloadBytes: {} };
}

/** Fills a list row from an installed folder; a broken folder is listed with its problem, not thrown. */
function describeInstalled(row: ModelListEntry, dir: string): void {
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

/** Catalog models (installed or not) in catalog order, then other installed folders by id. */
export async function listModels(modelsDir: string, catalog: Catalog): Promise<ModelListEntry[]> {
  const installed = new Map<string, string>();
  let names: fs.Dirent[] = [];
  try {
    names = await fsp.readdir(modelsDir, { withFileTypes: true });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw new TriagemError(`cannot read models folder: ${errorMessage(err)}`, 'unreadable', modelsDir);
  }
  for (const d of names) {
    if (d.isDirectory() && !d.name.startsWith('.')) installed.set(d.name, path.join(modelsDir, d.name));
  }

  const rows: ModelListEntry[] = [];
  for (const entry of catalog.models) {
    const row = catalogRow(entry);
    const dir = installed.get(entry.id);
    if (dir) {
      describeInstalled(row, dir);
      installed.delete(entry.id);
    }
    rows.push(row);
  }
  for (const [id, dir] of [...installed].sort(([a], [b]) => a.localeCompare(b))) {
    const row = folderRow(id);
    describeInstalled(row, dir);
    rows.push(row);
  }
  return rows;
}
