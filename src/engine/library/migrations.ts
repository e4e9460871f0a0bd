import type { Database } from 'better-sqlite3';
import { TriagemError } from '../errors.js';

/**
 * Each entry moves the schema from version `index` to `index + 1`. Entries are append-only: a shipped
 * migration is never edited, because libraries already on disk have run it.
 */
export const MIGRATIONS: readonly ((db: Database) => void)[] = [
  (db) => {
    db.exec(`
      CREATE TABLE contents (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        format TEXT,
        width INTEGER,
        height INTEGER
      );
      CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        folder TEXT NOT NULL,
        name TEXT NOT NULL,
        ext TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        content_id INTEGER NOT NULL REFERENCES contents(id),
        taken_at INTEGER,
        gps_lat REAL,
        gps_lon REAL,
        camera TEXT,
        indexed_at INTEGER NOT NULL,
        present INTEGER NOT NULL DEFAULT 1
      );
      CREATE INDEX files_content_id ON files(content_id);
      CREATE INDEX files_folder ON files(folder);
      CREATE TABLE failures (
        path TEXT PRIMARY KEY,
        error TEXT NOT NULL,
        size INTEGER,
        mtime_ms INTEGER,
        at INTEGER NOT NULL
      );
      CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        dim INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sort_runs (
        id INTEGER PRIMARY KEY,
        model_key TEXT NOT NULL,
        labels TEXT NOT NULL,
        threshold REAL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sort_results (
        run_id INTEGER NOT NULL,
        content_id INTEGER NOT NULL,
        label TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (run_id, content_id)
      );
      CREATE TABLE tags (
        content_id INTEGER NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (content_id, tag)
      );
    `);
  },
  // v2: what a person decided while reviewing (review.ts): marks per content with an undo history,
  // per-label thresholds of a sort run, duplicate keep/leave-out choices and "not duplicates"; and
  // indexes for paging the grid by date and by name without a sort step at 100k files (folder order
  // uses the path index). None starts with `present`: an equality on it would tie, in the planner's
  // eyes, with the content_id lookups every search and export makes.
  (db) => {
    db.exec(`
      CREATE TABLE marks (
        content_id INTEGER PRIMARY KEY,
        label TEXT,
        flag TEXT CHECK (flag IN ('keep', 'reject')),
        run_id INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE mark_history (
        id INTEGER PRIMARY KEY,
        batch INTEGER NOT NULL,
        content_id INTEGER NOT NULL,
        had_mark INTEGER NOT NULL,
        label TEXT,
        flag TEXT,
        run_id INTEGER,
        at INTEGER NOT NULL
      );
      CREATE INDEX mark_history_batch ON mark_history(batch);
      CREATE TABLE sort_thresholds (
        run_id INTEGER NOT NULL,
        label TEXT NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (run_id, label)
      );
      CREATE INDEX sort_results_label ON sort_results(run_id, label, score);
      CREATE TABLE duplicate_choices (
        file_id INTEGER PRIMARY KEY,
        choice TEXT NOT NULL CHECK (choice IN ('keep', 'trash')),
        at INTEGER NOT NULL
      );
      CREATE TABLE duplicate_dismissals (
        id INTEGER PRIMARY KEY,
        file_ids TEXT NOT NULL UNIQUE,
        at INTEGER NOT NULL
      );
      CREATE INDEX files_date ON files(coalesce(taken_at, mtime_ms), path);
      CREATE INDEX files_name ON files(name, path);
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the library up to SCHEMA_VERSION, one transaction per step so a crash leaves a valid version. */
export function migrate(db: Database, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new TriagemError(
      `library schema version ${current} is newer than this Triagem understands (${SCHEMA_VERSION}); update Triagem`,
      'library-too-new',
      file,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      MIGRATIONS[version](db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
