// Sort runs: which labels a run used, and the label and score it gave each content.

import type { Statements } from './statements.js';

export interface SortRunRecord {
  id: number;
  modelKey: string;
  /** As typed for the run (parsed from JSON; [] if the stored value is unreadable). */
  labels: string[];
  threshold: number | null;
  createdAt: number;
}

export interface SortResultRecord {
  contentId: number;
  label: string;
  score: number;
}

export interface NewSortRun {
  modelKey: string;
  labels: readonly string[];
  threshold: number | null;
  /** The label and score decided for each content. */
  results: ReadonlyMap<number, { label: string; score: number }>;
}

type RunRow = [number, string, string, number | null, number];

function parseLabels(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((l): l is string => typeof l === 'string') : [];
  } catch {
    return [];
  }
}

function toRun([id, modelKey, labels, threshold, createdAt]: RunRow): SortRunRecord {
  return { id, modelKey, labels: parseLabels(labels), threshold, createdAt };
}

const RUN_SELECT = 'SELECT id, model_key, labels, threshold, created_at FROM sort_runs';

export class SortRunRepository {
  constructor(private readonly sql: Statements) {}

  /** Stores a run and its results in one transaction; returns the run's id. */
  save(run: NewSortRun): number {
    return this.sql.transaction(() => {
      const info = this.sql
        .rows('INSERT INTO sort_runs(model_key, labels, threshold, created_at) VALUES (?, ?, ?, ?)')
        .run(run.modelKey, JSON.stringify(run.labels), run.threshold, Date.now());
      const runId = Number(info.lastInsertRowid);
      const insert = this.sql.rows('INSERT INTO sort_results(run_id, content_id, label, score) VALUES (?, ?, ?, ?)');
      // In key order: appending to the (run_id, content_id) B-tree beats inserting all over it.
      const ids = [...run.results.keys()].sort((a, b) => a - b);
      for (const contentId of ids) {
        const { label, score } = run.results.get(contentId)!;
        insert.run(runId, contentId, label, score);
      }
      return runId;
    });
  }

  /**
   * Forgets all but the newest `keep` runs, except runs that review marks or their undo history
   * point at. Re-sorting is meant to be free, and each run of 100k images stores ~8 MB of rows.
   * Returns how many runs went.
   */
  prune(keep: number): number {
    return this.sql.transaction(() => {
      const old = this.sql
        .pluck(
          `SELECT id FROM sort_runs WHERE id NOT IN (SELECT id FROM sort_runs ORDER BY id DESC LIMIT ?)
             AND id NOT IN (SELECT run_id FROM marks WHERE run_id IS NOT NULL)
             AND id NOT IN (SELECT run_id FROM mark_history WHERE run_id IS NOT NULL)`,
        )
        .all(keep) as number[];
      for (const id of old) {
        this.sql.rows('DELETE FROM sort_results WHERE run_id = ?').run(id);
        this.sql.rows('DELETE FROM sort_thresholds WHERE run_id = ?').run(id);
        this.sql.rows('DELETE FROM sort_runs WHERE id = ?').run(id);
      }
      return old.length;
    });
  }

  latestId(): number | undefined {
    return (this.sql.pluck('SELECT max(id) FROM sort_runs').get() as number | null) ?? undefined;
  }

  get(id: number): SortRunRecord | undefined {
    const row = this.sql.raw(`${RUN_SELECT} WHERE id = ?`).get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  /** Every run, newest first. */
  list(): SortRunRecord[] {
    return (this.sql.raw(`${RUN_SELECT} ORDER BY id DESC`).all() as RunRow[]).map(toRun);
  }

  results(runId: number): SortResultRecord[] {
    return (this.sql.raw('SELECT content_id, label, score FROM sort_results WHERE run_id = ?').all(runId) as [number, string, number][]).map(
      ([contentId, label, score]) => ({ contentId, label, score }),
    );
  }

  /** The labels the run actually gave (its labels as stored in results, `unsure` included). */
  resultLabels(runId: number): string[] {
    return this.sql.pluck('SELECT DISTINCT label FROM sort_results WHERE run_id = ?').all(runId) as string[];
  }
}
