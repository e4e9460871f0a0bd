// Search use cases: by description, by example, near-duplicates. All read-only: they never write
// to the library file.

import { DEFAULT_DUPLICATE_THRESHOLD, type DuplicateReport } from '../engine/duplicates/duplicates.js';
import type { SearchOptions, SearchResponse, TextSearchResponse } from '../engine/search/search.js';
import { LIMITS } from '../shared/contract.js';
import { TriagemError } from '../engine/errors.js';
import type { AppContext } from './context.js';
import type { ModelRequest } from './model-choice.js';
import { modelUse, type ModelUse } from './models.js';

export { DEFAULT_DUPLICATE_THRESHOLD };
export { searchImageTextOnly } from './ocr.js';
export type { SearchOptions, SearchResponse, TextSearchResponse, DuplicateReport };

export async function searchText(app: AppContext, query: string, opts: SearchOptions & ModelRequest = {}): Promise<TextSearchResponse & { model: ModelUse }> {
  if (query.length > LIMITS.queryChars) throw new TriagemError(`the query is ${query.length} characters long; at most ${LIMITS.queryChars}`, 'bad-query');
  const { session, open } = await app.searchSession({ model: opts.model, precision: opts.precision, texts: [query], locale: opts.locale });
  return { ...(await session.searchText(query, opts)), model: modelUse(open) };
}

export async function searchSimilar(app: AppContext, image: string, opts: SearchOptions & ModelRequest = {}) {
  const { session, open } = await app.searchSession({ model: opts.model, precision: opts.precision, locale: opts.locale });
  return { ...(await session.searchSimilar(image, opts)), model: modelUse(open) };
}

export interface DuplicatesInput extends ModelRequest {
  threshold?: number;
  /** Also report groups that are only the same bytes at several paths (default true). */
  exact?: boolean;
}

/**
 * Exact and near-duplicate groups. No model is loaded: the library's stored embeddings (and the
 * pairs indexing found) are all it takes, so only the model's identity is chosen.
 */
export async function findDuplicates(
  app: AppContext,
  input: DuplicatesInput = {},
): Promise<DuplicateReport & { model: { id: string; key: string; reason: string; advice?: string }; threshold: number }> {
  const choice = await app.chooseModel(input);
  const library = app.library('read');
  const held = app.libraryModels().find((m) => m.id === choice.id && (choice.precision === undefined || m.precision === choice.precision));
  if (!held) {
    throw new TriagemError(`this library has no images indexed with ${choice.id}; run \`triagem index\` with that model first`, 'unknown-model', library.file);
  }
  const key = `${held.id}:${held.precision}`;
  const threshold = input.threshold ?? DEFAULT_DUPLICATE_THRESHOLD;
  const report = app.duplicateFinder(key, threshold).find({ exact: input.exact ?? true });
  return { ...report, model: { id: held.id, key, reason: choice.reason, advice: choice.advice }, threshold };
}
