// What a person decided while reviewing: a confirmed label and a keep/reject flag per content, with
// every change kept as a numbered batch so the last one can be undone; and the per-label thresholds
// of a sort run. The only SQL for these tables (schema v2, migrations.ts).
import type { Database } from 'better-sqlite3';

export type Flag = 'keep' | 'reject';

export interface Mark {
  contentId: number;
  /** The label a person confirmed; null when only flagged. */
  label: string | null;
  flag: Flag | null;
}

/** Fields left undefined keep their current value; null clears. */
export interface MarkChange {
  label?: string | null;
  flag?: Flag | null;
}

/** A confirmed (content, label) pair: a labelled example for few-shot sorting. */
export interface LabelExample {
  contentId: number;
  label: string;
  /** The sort run the person was reviewing when they confirmed it, when there was one. */
  runId: number | null;
  at: number;
}

/**
 * Contents of a sort run counted by winning label, score bin, whether the score is below that
 * label's threshold, and the mark a person gave: enough for every count and histogram of a run
 * summary, aggregated by SQLite (100k rows become a few thousand groups).
 */
export interface RunGroup {
  label: string;
  bin: number;
  below: boolean;
  markLabel: string | null;
  flag: Flag | null;
  count: number;
}

type MarkRow = { label: string | null; flag: Flag | null; run_id: number | null };

const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class ReviewStore {
  constructor(private readonly db: Database) {}

  /** Applies one change to many contents as one undoable batch; returns the batch and the new marks. */
  mark(contentIds: readonly number[], change: MarkChange, runId: number | null, now = Date.now()): { batch: number; marks: Mark[] } {
    return this.markEach([...new Set(contentIds)].map((contentId) => ({ contentId, change })), runId, now);
  }

  /** A change per content (accepting each one's own suggestion), still one undoable batch. */
  markEach(entries: readonly { contentId: number; change: MarkChange }[], runId: number | null, now = Date.now()): { batch: number; marks: Mark[] } {
    const get = this.db.prepare('SELECT label, flag, run_id FROM marks WHERE content_id = ?');
    const history = this.db.prepare('INSERT INTO mark_history(batch, content_id, had_mark, label, flag, run_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const upsert = this.db.prepare(`INSERT INTO marks(content_id, label, flag, run_id, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(content_id) DO UPDATE SET label = excluded.label, flag = excluded.flag, run_id = excluded.run_id, updated_at = excluded.updated_at`);
    const remove = this.db.prepare('DELETE FROM marks WHERE content_id = ?');
    return this.db.transaction(() => {
      const batch = ((this.db.prepare('SELECT max(batch) FROM mark_history').pluck().get() as number | null) ?? 0) + 1;
      const marks: Mark[] = [];
      for (const { contentId: id, change } of entries) {
        const before = get.get(id) as MarkRow | undefined;
        history.run(batch, id, before ? 1 : 0, before?.label ?? null, before?.flag ?? null, before?.run_id ?? null, now);
        const label = change.label !== undefined ? change.label : (before?.label ?? null);
        const flag = change.flag !== undefined ? change.flag : (before?.flag ?? null);
        if (label === null && flag === null) remove.run(id);
        else upsert.run(id, label, flag, change.label !== undefined ? runId : (before?.run_id ?? runId), now);
        marks.push({ contentId: id, label, flag });
      }
      return { batch, marks };
    })();
  }

  /** Puts back what the latest batch replaced; null when there is nothing left to undo. */
  undo(): { batch: number; marks: Mark[] } | null {
    return this.db.transaction(() => {
      const batch = this.db.prepare('SELECT max(batch) FROM mark_history').pluck().get() as number | null;
      if (batch === null) return null;
      const rows = this.db
        .prepare('SELECT content_id, had_mark, label, flag, run_id FROM mark_history WHERE batch = ? ORDER BY id DESC')
        .all(batch) as { content_id: number; had_mark: number; label: string | null; flag: Flag | null; run_id: number | null }[];
      const upsert = this.db.prepare(`INSERT INTO marks(content_id, label, flag, run_id, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(content_id) DO UPDATE SET label = excluded.label, flag = excluded.flag, run_id = excluded.run_id, updated_at = excluded.updated_at`);
      const remove = this.db.prepare('DELETE FROM marks WHERE content_id = ?');
      const now = Date.now();
      const marks: Mark[] = [];
      for (const r of rows) {
        if (r.had_mark) upsert.run(r.content_id, r.label, r.flag, r.run_id, now);
        else remove.run(r.content_id);
        marks.push({ contentId: r.content_id, label: r.had_mark ? r.label : null, flag: r.had_mark ? r.flag : null });
      }
      this.db.prepare('DELETE FROM mark_history WHERE batch = ?').run(batch);
      return { batch, marks };
    })();
  }

  marks(contentIds: readonly number[]): Map<number, Mark> {
    const out = new Map<number, Mark>();
    for (const part of chunks([...new Set(contentIds)])) {
      const rows = this.db
        .prepare(`SELECT content_id, label, flag FROM marks WHERE content_id IN (${part.map(() => '?').join(',')})`)
        .all(...part) as { content_id: number; label: string | null; flag: Flag | null }[];
      for (const r of rows) out.set(r.content_id, { contentId: r.content_id, label: r.label, flag: r.flag });
    }
    return out;
  }

  /** Every confirmed label, oldest first. */
  confirmedLabels(): LabelExample[] {
    return this.db
      .prepare('SELECT content_id AS contentId, label, run_id AS runId, updated_at AS at FROM marks WHERE label IS NOT NULL ORDER BY updated_at, content_id')
      .all() as LabelExample[];
  }

  setThresholds(runId: number, thresholds: Readonly<Record<string, number>>): void {
    const put = this.db.prepare(`INSERT INTO sort_thresholds(run_id, label, threshold) VALUES (?, ?, ?)
      ON CONFLICT(run_id, label) DO UPDATE SET threshold = excluded.threshold`);
    this.db.transaction(() => {
      for (const [label, threshold] of Object.entries(thresholds)) put.run(runId, label, threshold);
    })();
  }

  thresholds(runId: number): Record<string, number> {
    const rows = this.db.prepare('SELECT label, threshold FROM sort_thresholds WHERE run_id = ?').all(runId) as { label: string; threshold: number }[];
    return Object.fromEntries(rows.map((r) => [r.label, r.threshold]));
  }

  /** The run's contents that some present file still holds, grouped (see RunGroup) over `bins` score bins in [0, 1]. */
  runGroups(runId: number, bins: number): RunGroup[] {
    // The check for contents whose every file is gone costs a lookup per row; most libraries have none.
    const absent = this.db.prepare('SELECT 1 FROM files WHERE present = 0 LIMIT 1').get() !== undefined;
    const present = absent ? 'AND EXISTS (SELECT 1 FROM files f WHERE f.content_id = r.content_id AND f.present = 1)' : '';
    const rows = this.db
      .prepare(
        `SELECT r.label, min(? - 1, max(0, CAST(r.score * ? AS INTEGER))) AS bin, r.score < coalesce(t.threshold, 0) AS below,
           m.label AS mark_label, m.flag, count(*) AS n
         FROM sort_results r
         LEFT JOIN sort_thresholds t ON t.run_id = r.run_id AND t.label = r.label
         LEFT JOIN marks m ON m.content_id = r.content_id
         WHERE r.run_id = ? ${present}
         GROUP BY r.label, bin, below, m.label, m.flag`,
      )
      .raw()
      .all(bins, bins, runId) as [string, number, number, string | null, Flag | null, number][];
    return rows.map(([label, bin, below, markLabel, flag, count]) => ({ label, bin, below: below === 1, markLabel, flag, count }));
  }

  /** The winning label and score of each content in a run. */
  suggestions(runId: number, contentIds: readonly number[]): Map<number, { label: string; score: number }> {
    const out = new Map<number, { label: string; score: number }>();
    for (const part of chunks([...new Set(contentIds)])) {
      const rows = this.db
        .prepare(`SELECT content_id, label, score FROM sort_results WHERE run_id = ? AND content_id IN (${part.map(() => '?').join(',')})`)
        .raw()
        .all(runId, ...part) as [number, string, number][];
      for (const [id, label, score] of rows) out.set(id, { label, score });
    }
    return out;
  }

  run(runId: number): { id: number; labels: string; threshold: number | null; modelKey: string; createdAt: number } | undefined {
    return this.db.prepare('SELECT id, labels, threshold, model_key AS modelKey, created_at AS createdAt FROM sort_runs WHERE id = ?').get(runId) as
      | { id: number; labels: string; threshold: number | null; modelKey: string; createdAt: number }
      | undefined;
  }

  /** Runs newest first, with their labels (JSON as stored) and when they ran. */
  runs(limit = 20): { id: number; labels: string; threshold: number | null; modelKey: string; createdAt: number }[] {
    return this.db
      .prepare('SELECT id, labels, threshold, model_key AS modelKey, created_at AS createdAt FROM sort_runs ORDER BY id DESC LIMIT ?')
      .all(limit) as { id: number; labels: string; threshold: number | null; modelKey: string; createdAt: number }[];
  }
}
