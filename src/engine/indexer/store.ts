import type { ContentRow, FileRow, KnownFile, Library } from '../library/library.js';

export type { ContentRow, FileRow, KnownFile } from '../library/library.js';

/** The indexer's reads and writes, through the library's methods (the SQL lives in library/). */
export class IndexStore {
  constructor(private readonly library: Library) {}

  knownFilesUnder(roots: readonly string[]): Map<string, KnownFile> {
    return this.library.knownFilesUnder(roots);
  }

  /** Drops recorded failures under the roots for paths that are no longer candidates (gone or fine now). */
  pruneFailures(roots: readonly string[], keep: ReadonlySet<string>): void {
    this.library.pruneFailures(roots, keep);
  }

  setPresent(ids: readonly number[], present: boolean): void {
    this.library.setFilesPresent(ids, present);
  }

  contentIdBySha(sha256: string): number | undefined {
    return this.library.contentIdBySha256(sha256);
  }

  upsertContent(c: ContentRow): number {
    return this.library.upsertContent(c);
  }

  upsertFile(f: FileRow, contentId: number, now: number): void {
    this.library.upsertFile(f, contentId, now);
  }

  /** A damaged image that still decoded keeps its warning; a clean decode clears an old one. */
  setContentWarning(contentId: number, warning: string | null, now: number): void {
    this.library.setContentWarning(contentId, warning, now);
  }

  recordFailure(filePath: string, error: string, size: number | null, mtimeMs: number | null, now: number): void {
    this.library.recordFailure(filePath, error, size, mtimeMs, now);
  }

  /** A file whose new bytes failed no longer holds the content the library has for it. */
  markAbsent(id: number): void {
    this.library.setFilesPresent([id], false);
  }

  /** One batch's writes as one transaction. */
  transaction<T>(fn: () => T): T {
    return this.library.transaction(fn);
  }
}
