// The text-in-image condition: contents whose recognised text (OCR) holds the user's words. Alone,
// it ranks by full-text relevance; with a semantic query it narrows the candidates the vector
// search ranks (see SearchSession.run). Either way hits carry the matching snippet.

import type { Library } from '../library/library.js';
import { filesForContents } from './files.js';
import { allowedContents, hasFilters, type SearchFilters } from './filters.js';
import type { SearchHit } from './search.js';

export interface ImageTextOptions {
  /** Most results to return (default 20). */
  limit?: number;
  filters?: SearchFilters;
}

export interface ImageTextResponse {
  /** Best first; `score` is the full-text relevance (BM25, higher is better), not a cosine. */
  hits: SearchHit[];
  /** Contents whose text matched, before the filters. */
  matched: number;
  /** Contents the search covered (the library, or what the filters left). */
  considered: number | null;
  tookMs: number;
}

const DEFAULT_LIMIT = 20;

/** `allowed` narrowed to contents whose text matches `text` (all of them when `allowed` is unset). */
export function withImageText(library: Library, text: string, allowed: Set<number> | undefined): Set<number> {
  const matches = library.ocr.match(text);
  const out = new Set<number>();
  for (const id of matches.keys()) if (!allowed || allowed.has(id)) out.add(id);
  return out;
}

/** Sets `ocrSnippet` on each hit whose text matches `text`. */
export function attachSnippets(library: Library, text: string, hits: SearchHit[]): void {
  if (hits.length === 0) return;
  const snippets = library.ocr.snippets(
    text,
    hits.map((h) => h.contentId),
  );
  for (const h of hits) {
    const s = snippets.get(h.contentId);
    if (s) h.ocrSnippet = s;
  }
}

/** Images whose recognised text holds every word of `text`, best full-text match first. No model needed. */
export function searchImageText(library: Library, text: string, opts: ImageTextOptions = {}): ImageTextResponse {
  const started = performance.now();
  const limit = Math.max(1, Math.floor(opts.limit ?? DEFAULT_LIMIT));
  const relevance = library.ocr.match(text);
  const allowed = hasFilters(opts.filters) ? allowedContents(library, opts.filters as SearchFilters) : undefined;
  const ranked = [...relevance.entries()].filter(([id]) => !allowed || allowed.has(id)).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const hits: SearchHit[] = [];
  // Contents whose files are all gone (or filtered out by file-level filters) have no files; take
  // the next ones until `limit` hits with files are found.
  for (let i = 0; i < ranked.length && hits.length < limit; i += limit) {
    const slice = ranked.slice(i, i + limit);
    const files = filesForContents(
      library,
      slice.map(([id]) => id),
      opts.filters,
    );
    for (const [id, score] of slice) {
      const list = files.get(id);
      if (!list?.length || hits.length >= limit) continue;
      hits.push({ contentId: id, sha256: list[0].sha256, score, path: list[0].path, paths: list.map((f) => f.path), files: list });
    }
  }
  attachSnippets(library, text, hits);
  return { hits, matched: relevance.size, considered: allowed ? allowed.size : null, tookMs: performance.now() - started };
}
