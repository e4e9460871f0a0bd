// What a person decided about duplicate groups. Nothing here deletes a file: a copy set to "trash"
// is only left out of exports, and "not duplicates" remembers the group's files so the same group is
// not offered again (a group that gains a new file is: there is something new to look at).
import type { Database } from 'better-sqlite3';

export type DuplicateChoice = 'keep' | 'trash';

const CHUNK = 500;

/** The dismissal key of a group: its file ids, sorted, as stored. */
function groupKey(fileIds: readonly number[]): string {
  return JSON.stringify([...new Set(fileIds)].sort((a, b) => a - b));
}

export class DuplicateDecisions {
  constructor(private readonly db: Database) {}

  choose(choices: readonly { fileId: number; choice: DuplicateChoice }[], now = Date.now()): void {
    const put = this.db.prepare(`INSERT INTO duplicate_choices(file_id, choice, at) VALUES (?, ?, ?)
      ON CONFLICT(file_id) DO UPDATE SET choice = excluded.choice, at = excluded.at`);
    this.db.transaction(() => {
      for (const c of choices) put.run(c.fileId, c.choice, now);
    })();
  }

  clear(fileIds: readonly number[]): void {
    const del = this.db.prepare('DELETE FROM duplicate_choices WHERE file_id = ?');
    this.db.transaction(() => {
      for (const id of fileIds) del.run(id);
    })();
  }

  choices(fileIds: readonly number[]): Map<number, DuplicateChoice> {
    const out = new Map<number, DuplicateChoice>();
    for (let i = 0; i < fileIds.length; i += CHUNK) {
      const part = fileIds.slice(i, i + CHUNK);
      const rows = this.db
        .prepare(`SELECT file_id, choice FROM duplicate_choices WHERE file_id IN (${part.map(() => '?').join(',')})`)
        .raw()
        .all(...part) as [number, DuplicateChoice][];
      for (const [id, choice] of rows) out.set(id, choice);
    }
    return out;
  }

  dismiss(fileIds: readonly number[], now = Date.now()): void {
    this.db.prepare('INSERT OR IGNORE INTO duplicate_dismissals(file_ids, at) VALUES (?, ?)').run(groupKey(fileIds), now);
  }

  /** Undoes "not duplicates" for every dismissal that covers all of `fileIds`. */
  undismiss(fileIds: readonly number[]): number {
    const want = new Set(fileIds);
    const rows = this.db.prepare('SELECT id, file_ids FROM duplicate_dismissals').all() as { id: number; file_ids: string }[];
    const del = this.db.prepare('DELETE FROM duplicate_dismissals WHERE id = ?');
    let removed = 0;
    for (const r of rows) {
      const ids = JSON.parse(r.file_ids) as number[];
      if ([...want].every((id) => ids.includes(id))) removed += del.run(r.id).changes;
    }
    return removed;
  }

  /** Every dismissed group, as sets of file ids. */
  dismissals(): Set<number>[] {
    return (this.db.prepare('SELECT file_ids FROM duplicate_dismissals').pluck().all() as string[]).map((s) => new Set(JSON.parse(s) as number[]));
  }
}
