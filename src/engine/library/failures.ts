// Files indexing could not read or decode, with the reason, until a later run succeeds or they go.

import { underFolders } from './sql.js';
import type { Statements } from './statements.js';

export interface FailureRecord {
  path: string;
  error: string;
  size: number | null;
  mtimeMs: number | null;
  at: number;
}

export class FailureRepository {
  constructor(private readonly sql: Statements) {}

  record(filePath: string, error: string, size: number | null, mtimeMs: number | null, now: number): void {
    this.sql
      .rows(
        `INSERT INTO failures(path, error, size, mtime_ms, at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(path) DO UPDATE SET error = excluded.error, size = excluded.size, mtime_ms = excluded.mtime_ms, at = excluded.at`,
      )
      .run(filePath, error, size, mtimeMs, now);
  }

  clear(filePath: string): void {
    this.sql.rows('DELETE FROM failures WHERE path = ?').run(filePath);
  }

  /** Recorded failures, optionally only those inside `folders`, by path. */
  list(folders?: readonly string[]): FailureRecord[] {
    const under = folders?.length ? underFolders('path', folders) : { sql: '1', params: [] };
    const rows = this.sql.raw(`SELECT path, error, size, mtime_ms, at FROM failures WHERE ${under.sql} ORDER BY path`).all(...under.params) as [
      string,
      string,
      number | null,
      number | null,
      number,
    ][];
    return rows.map(([p, error, size, mtimeMs, at]) => ({ path: p, error, size, mtimeMs, at }));
  }

  pathsUnder(roots: readonly string[]): string[] {
    const under = underFolders('path', roots);
    return this.sql.pluck(`SELECT path FROM failures WHERE ${under.sql}`).all(...under.params) as string[];
  }

  count(): number {
    return this.sql.pluck('SELECT count(*) FROM failures').get() as number;
  }
}
