// Index use case: choose the model, run the engine's indexer over folders, keep search in step.

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import { indexFolders as runIndexer, type IndexProgress, type IndexSummary } from '../engine/indexer/indexer.js';
import { persistNearPairs } from '../engine/duplicates/duplicates.js';
import { persistVectorIndex } from '../engine/vectors/code-store.js';
import type { AppContext } from './context.js';
import type { ModelRequest } from './model-choice.js';
import { modelUse, type ModelUse } from './models.js';
import { ocrPlan, readImageText, type OcrProgress, type OcrRequest, type OcrSummary } from './ocr.js';

export type { IndexProgress, IndexSummary };

export interface IndexInput extends ModelRequest {
  folders: readonly string[];
  /** Folders (or files) under the roots to leave out, e.g. a sort destination inside the source. */
  exclude?: readonly string[];
  thumbnails?: boolean;
  /** Read the text inside images after indexing (see ocr.ts); default: the library's switch. */
  ocr?: OcrRequest;
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress | OcrProgress) => void;
  /** Told which model runs and why, before the work starts. */
  onModel?: (use: ModelUse) => void;
}

export interface IndexOutcome {
  summary: IndexSummary;
  /** What reading text did, when it ran. */
  ocr?: OcrSummary;
  modelKey: string;
  model: ModelUse;
}

/** Folder typos fail at once, before a model loads (seconds). */
export function checkFolders(folders: readonly string[]): string[] {
  return folders.map((folder) => {
    const abs = path.resolve(folder);
    if (!fs.existsSync(abs)) throw new TriagemError('folder not found', 'not-found', abs);
    return abs;
  });
}

export async function indexFolders(app: AppContext, input: IndexInput): Promise<IndexOutcome> {
  const folders = checkFolders(input.folders);
  // Take the writer (upgrading a library from an older Triagem) before the model choice reads the
  // library: a reader refuses a library too old to read, and indexing is what upgrades it.
  if (app.libraryExists()) app.library('write');
  const open = await app.openModel(input);
  const { model, key } = open;
  input.onModel?.(modelUse(open));
  const library = app.library('write');
  try {
    const summary = await runIndexer({
      library,
      model,
      folders,
      exclude: input.exclude ? [...input.exclude] : undefined,
      batchSize: app.config.batchSize,
      thumbnails: input.thumbnails,
      signal: input.signal,
      onProgress: input.onProgress,
    });
    // Store the search codes, duplicate signatures and near pairs now: searching only reads them,
    // so the first search after a big index answers at once (and works on read-only media).
    if (!summary.cancelled && library.modelId(key) !== undefined) {
      persistVectorIndex(library, key);
      persistNearPairs(library, key);
    }
    const plan = ocrPlan(app, input.ocr);
    const ocr = plan && !summary.cancelled ? await readImageText(app, plan, { model, signal: input.signal, onProgress: input.onProgress }) : undefined;
    return { summary, ...(ocr ? { ocr } : {}), modelKey: key, model: modelUse(open) };
  } finally {
    app.invalidateSearch();
  }
}
