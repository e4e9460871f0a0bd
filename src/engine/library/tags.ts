// Tags belong to contents (sha256), so every copy of a photo carries them and a rename keeps them.

import type { Statements } from './statements.js';

export class TagRepository {
  constructor(private readonly sql: Statements) {}

  /** True when the content did not carry the tag before. */
  add(contentId: number, tag: string): boolean {
    return this.sql.rows('INSERT OR IGNORE INTO tags(content_id, tag) VALUES (?, ?)').run(contentId, tag).changes > 0;
  }

  /** True when the content carried the tag. */
  remove(contentId: number, tag: string): boolean {
    return this.sql.rows('DELETE FROM tags WHERE content_id = ? AND tag = ?').run(contentId, tag).changes > 0;
  }

  /** Every tag with how many contents carry it, by tag. */
  list(): { tag: string; contents: number }[] {
    return this.sql.rows('SELECT tag, count(*) AS contents FROM tags GROUP BY tag ORDER BY tag').all() as { tag: string; contents: number }[];
  }

  contentIds(tag: string): number[] {
    return this.sql.pluck('SELECT content_id FROM tags WHERE tag = ? ORDER BY content_id').all(tag) as number[];
  }

  count(): number {
    return this.sql.pluck('SELECT count(*) FROM tags').get() as number;
  }
}
