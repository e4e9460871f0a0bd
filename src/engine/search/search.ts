// Search by description and by example over one library and one model.
//
// A result is a *content* (one sha256): the same photo saved at three paths is one result listing
// all three paths, so copies never crowd other results out of the list. `path` is the first of them
// (sorted), `paths` all of them that pass the filters.

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import type { FileRecord, Library } from '../library/library.js';
import type { OcrSnippet } from '../library/ocr.js';
import type { ClipModel } from '../models/types.js';
import { backgroundStats, relevanceCutoff, type Cutoff } from './cutoff.js';
import { filesForContents } from './files.js';
import { allowedContents, hasFilters, type SearchFilters } from './filters.js';
import { attachSnippets, withImageText } from './image-text.js';
import { combineTerms, parseQuery, type QueryTerm } from './query.js';
import { SAMPLE_SIZE, openVectorIndex } from '../vectors/code-store.js';
import type { Neighbour, SearchResult, SyncReport, VectorIndex } from '../vectors/types.js';

export type { SearchFilters } from './filters.js';
export { searchImageText, type ImageTextOptions, type ImageTextResponse } from './image-text.js';

export interface SearchHit {
  contentId: number;
  sha256: string;
  /** Cosine similarity between the query and the image embedding. */
  score: number;
  /** The first matching file (by path). */
  path: string;
  /** Every present file with this content that passes the filters. */
  paths: string[];
  files: FileRecord[];
  /** Where the image's recognised text matches `SearchOptions.text`. */
  ocrSnippet?: OcrSnippet;
}

export interface SearchOptions {
  /** Most results to return (default 20). */
  limit?: number;
  filters?: SearchFilters;
  /** Leave out results scoring below this (only ever tightens the adaptive cut-off). */
  minScore?: number;
  /** Apply the adaptive relevance cut-off (default true); without it the best `limit` are returned. */
  cutoff?: boolean;
  /** Exact search over every candidate instead of the two-stage search (for checks and benchmarks). */
  exact?: boolean;
  /**
   * Only images whose recognised text (OCR) holds all these words, accent- and case-insensitive
   * ("quoted phrase", word* for a prefix); the semantic query ranks them. Hits carry `ocrSnippet`.
   */
  text?: string;
}

export interface SearchResponse {
  hits: SearchHit[];
  modelKey: string;
  /** null when the cut-off was turned off. */
  cutoff: Cutoff | null;
  /** Results among the best `limit` that the cut-off left out. */
  belowCutoff: number;
  /** Contents the search covered (the library, or what the filters left). */
  considered: number;
  /** Which path of the index answered (e.g. 'two-stage', 'exact-subset'). */
  mode: SearchResult['mode'];
  encodeMs: number;
  searchMs: number;
  tookMs: number;
}

export interface TextSearchResponse extends SearchResponse {
  terms: QueryTerm[];
}

export interface SimilarResponse extends SearchResponse {
  /** 'library': the image's stored embedding was used; 'file': it was encoded on the fly. */
  source: 'library' | 'file';
  queryPath: string;
}

export interface OpenSessionOptions {
  /** Warm the text encoder up while the codes load (default true). */
  warmup?: boolean;
  /** Which stored embeddings to search (default: the model's own, `library.modelKey(model.info)`). */
  modelKey?: string;
}

const DEFAULT_LIMIT = 20;

/** A library and a model opened for searching: codes loaded (never written), model warm. */
export class SearchSession {
  private constructor(
    readonly library: Library,
    readonly model: ClipModel,
    readonly index: VectorIndex,
    readonly modelKey: string,
    /** What opening had to encode in memory because indexing had not stored it yet. */
    readonly sync: SyncReport,
    /** Embeddings of ordinary images, row-major: the background of the relevance cut-off. */
    private background: Float32Array | undefined,
  ) {}

  static async open(library: Library, model: ClipModel, opts: OpenSessionOptions = {}): Promise<SearchSession> {
    const key = opts.modelKey ?? library.modelKey(model.info);
    if (library.modelId(key) === undefined) {
      throw new TriagemError(`this library has no images indexed with ${key}; run \`triagem index\` with that model first`, 'unknown-model', library.file);
    }
    // The warm-up runs on ONNX Runtime's threads; loading codes runs here meanwhile. Only the text
    // tower: a first text query must not wait for an image-encoder run it does not use.
    const warm = opts.warmup === false ? undefined : model.encodeTexts(['warm-up']);
    let opened: ReturnType<typeof openVectorIndex>;
    try {
      opened = openVectorIndex(library, key);
    } catch (err) {
      await warm?.catch(() => undefined);
      throw err;
    }
    await warm;
    return new SearchSession(library, model, opened.index, key, opened.sync, opened.sample);
  }

  async searchText(query: string, opts: SearchOptions = {}): Promise<TextSearchResponse> {
    const started = performance.now();
    const terms = parseQuery(query);
    const unique = [...new Set(terms.map((t) => t.text))];
    const embedded = await this.model.encodeTexts(unique);
    const byText = new Map(unique.map((t, i) => [t, embedded[i]]));
    const vector = combineTerms(
      terms,
      terms.map((t) => byText.get(t.text) as Float32Array),
    );
    const encodeMs = performance.now() - started;
    const response = this.run(vector, opts, new Set(), started, encodeMs);
    return { ...response, terms };
  }

  /**
   * Images like `source`: an indexed image (its stored embedding) or any image file, encoded on the
   * fly and never added to the library.
   */
  async searchSimilar(source: string, opts: SearchOptions = {}): Promise<SimilarResponse> {
    const started = performance.now();
    const abs = path.resolve(source);
    const indexed = this.library.fileByPath(abs);
    let vector: Float32Array | undefined;
    const exclude = new Set<number>();
    let from: SimilarResponse['source'] = 'file';
    if (indexed && this.index.has(indexed.contentId)) {
      vector = this.library.getEmbedding(this.modelKey, indexed.contentId);
      if (vector) {
        exclude.add(indexed.contentId);
        from = 'library';
      }
    }
    if (!vector) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(abs);
      } catch (err) {
        throw new TriagemError(`cannot read the image: ${errorMessage(err)}`, 'unreadable', abs);
      }
      if (!stat.isFile()) throw new TriagemError('is not a file', 'unreadable', abs);
      [vector] = await this.model.encodeImages([abs]);
    }
    const encodeMs = performance.now() - started;
    const response = this.run(vector, opts, exclude, started, encodeMs);
    return { ...response, source: from, queryPath: abs };
  }

  /** Nearest contents to an embedding, with filters, cut-off and files. */
  private run(vector: Float32Array, opts: SearchOptions, exclude: Set<number>, started: number, encodeMs: number): SearchResponse {
    const searchStarted = performance.now();
    const limit = Math.max(1, Math.floor(opts.limit ?? DEFAULT_LIMIT));
    const filtered = hasFilters(opts.filters);
    let allowed = filtered ? allowedContents(this.library, opts.filters as SearchFilters) : undefined;
    if (opts.text !== undefined) allowed = withImageText(this.library, opts.text, allowed);
    const considered = allowed ? allowed.size : this.index.size;

    // Contents whose files are all gone (present = 0) come back from the index without files; ask for
    // more until `limit` results with files are found or the index is exhausted.
    let fetch = limit + 8;
    let knn: SearchResult;
    let hits: SearchHit[];
    for (;;) {
      knn = this.index.search(vector, { k: fetch, filter: allowed, exclude, exact: opts.exact });
      hits = this.withFiles(knn.hits, opts.filters);
      if (hits.length >= limit || knn.hits.length < fetch || fetch >= this.index.size) break;
      fetch *= 4;
    }

    let cutoff: Cutoff | null = null;
    let kept = hits.slice(0, limit);
    if (opts.cutoff !== false) {
      const background = backgroundStats(this.backgroundScores(vector));
      cutoff = relevanceCutoff(knn.head, background, { minScore: opts.minScore, population: considered });
      const threshold = cutoff.threshold;
      kept = kept.filter((h) => h.score >= threshold);
    } else if (opts.minScore !== undefined) {
      const min = opts.minScore;
      kept = kept.filter((h) => h.score >= min);
    }
    if (opts.text !== undefined) attachSnippets(this.library, opts.text, kept);
    const now = performance.now();
    return {
      hits: kept,
      modelKey: this.modelKey,
      cutoff,
      belowCutoff: Math.min(limit, hits.length) - kept.length,
      considered,
      mode: knn.mode,
      encodeMs,
      searchMs: now - searchStarted,
      tookMs: now - started,
    };
  }

  private withFiles(neighbours: Neighbour[], filters: SearchFilters | undefined): SearchHit[] {
    const files = filesForContents(
      this.library,
      neighbours.map((n) => n.id),
      filters,
    );
    const out: SearchHit[] = [];
    for (const n of neighbours) {
      const list = files.get(n.id);
      if (!list?.length) continue;
      out.push({ contentId: n.id, sha256: list[0].sha256, score: n.score, path: list[0].path, paths: list.map((f) => f.path), files: list });
    }
    return out;
  }

  /**
   * Exact scores of `query` against a fixed sample of the library: the background the relevance
   * cut-off compares a result to. Indexing stores the sample; without one it is read here.
   */
  private backgroundScores(query: Float32Array): Float32Array {
    if (!this.background) {
      const ids = this.index.ids();
      const take = Math.min(ids.length, SAMPLE_SIZE);
      // A fixed stride through the index is as good as random here (its order is indexing order, not
      // similarity) and keeps the sample stable between queries.
      const step = ids.length / Math.max(1, take);
      const sample = Array.from({ length: take }, (_, i) => ids[Math.floor(i * step)]);
      this.background = this.library.loadEmbeddings(this.modelKey, sample).data;
    }
    const rows = this.background;
    const dim = query.length;
    const count = rows.length / dim;
    const out = new Float32Array(count);
    for (let r = 0; r < count; r++) {
      let s = 0;
      const o = r * dim;
      for (let j = 0; j < dim; j++) s += query[j] * rows[o + j];
      out[r] = s;
    }
    return out;
  }
}

/** One-shot text search (opens a session; keep a `SearchSession` for repeated queries). */
export async function searchText(library: Library, model: ClipModel, query: string, opts: SearchOptions = {}): Promise<TextSearchResponse> {
  const session = await SearchSession.open(library, model);
  return session.searchText(query, opts);
}

/** One-shot similar-image search. */
export async function searchSimilar(library: Library, model: ClipModel, source: string, opts: SearchOptions = {}): Promise<SimilarResponse> {
  const session = await SearchSession.open(library, model);
  return session.searchSimilar(source, opts);
}
