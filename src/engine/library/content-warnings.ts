// Damaged images that still decode: indexing keeps them (they are evidence) but the window must
// never show them as clean. The warning belongs to the bytes, so it is kept per content and every
// copy of those bytes carries it; a later clean decode of the same content clears it. Table from
// migration 6.

import type { Database } from 'better-sqlite3';
import { underFolders } from './sql.js';

export interface ContentWarning {
  contentId: number;
  warning: string;
  at: number;
}

const CHUNK = 500;

export class ContentWarnings {
  private tables: boolean | undefined;

  constructor(private readonly db: Database) {}

  /** False for a library made before migration 6 and opened read-only: it has no stored warnings. */
  private get available(): boolean {
    this.tables ??= this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'content_warnings'").get() !== undefined;
    return this.tables;
  }

  /** Records the decode's verdict on a content: a warning, or null for a clean decode. */
  put(contentId: number, warning: string | null, now: number): void {
    if (warning === null) {
      this.db.prepare('DELETE FROM content_warnings WHERE content_id = ?').run(contentId);
      return;
    }
    this.db
      .prepare('INSERT INTO content_warnings(content_id, warning, at) VALUES (?, ?, ?) ON CONFLICT(content_id) DO UPDATE SET warning = excluded.warning, at = excluded.at')
      .run(contentId, warning, now);
  }

  get(contentId: number): ContentWarning | undefined {
    if (!this.available) return undefined;
    const row = this.db.prepare('SELECT warning, at FROM content_warnings WHERE content_id = ?').get(contentId) as { warning: string; at: number } | undefined;
    return row ? { contentId, ...row } : undefined;
  }

  /** The warnings of these contents, by content id (contents without one are absent). */
  forContents(contentIds: readonly number[]): Map<number, string> {
    const out = new Map<number, string>();
    if (!this.available) return out;
    for (let i = 0; i < contentIds.length; i += CHUNK) {
      const ids = contentIds.slice(i, i + CHUNK);
      const rows = this.db
        .prepare(`SELECT content_id, warning FROM content_warnings WHERE content_id IN (${ids.map(() => '?').join(',')})`)
        .raw()
        .all(...ids) as [number, string][];
      for (const [id, warning] of rows) out.set(id, warning);
    }
    return out;
  }

  /** Present files whose content carries a warning, optionally only inside `folders`, by path. */
  presentFiles(folders?: readonly string[]): { path: string; warning: string }[] {
    if (!this.available) return [];
    const under = folders?.length ? underFolders('f.path', folders) : { sql: '1', params: [] };
    const rows = this.db
      .prepare(
        `SELECT f.path, w.warning FROM content_warnings w JOIN files f ON f.content_id = w.content_id
         WHERE f.present = 1 AND ${under.sql} ORDER BY f.path`,
      )
      .raw()
      .all(...under.params) as [string, string][];
    return rows.map(([p, warning]) => ({ path: p, warning }));
  }
}
