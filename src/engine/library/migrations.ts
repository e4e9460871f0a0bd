import type { Database } from 'better-sqlite3';
import { TriagemError } from '../errors.js';
import { TRIAGEM_APPLICATION_ID } from './identity.js';

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
  // The marker that tells a Triagem library from any other SQLite file (see identity.ts).
  (db) => {
    db.pragma(`application_id = ${TRIAGEM_APPLICATION_ID}`);
  },
  // Text recognised in images (OCR): one record per content, a full-text index over it that the
  // triggers keep in sync (accent- and case-insensitive: "manifestacao" finds "Manifestação"), and
  // the library's OCR switch. SQL in library/ocr.ts.
  (db) => {
    db.exec(`
      CREATE TABLE ocr_text (
        content_id INTEGER PRIMARY KEY REFERENCES contents(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN ('text', 'empty', 'gated', 'failed')),
        text TEXT NOT NULL DEFAULT '',
        confidence REAL,
        engine TEXT NOT NULL,
        langs TEXT NOT NULL,
        pipeline INTEGER NOT NULL,
        path TEXT,
        error TEXT,
        ms INTEGER,
        at INTEGER NOT NULL
      );
      CREATE VIRTUAL TABLE ocr_fts USING fts5(
        text,
        content = 'ocr_text',
        content_rowid = 'content_id',
        tokenize = "unicode61 remove_diacritics 2"
      );
      CREATE TRIGGER ocr_text_insert AFTER INSERT ON ocr_text BEGIN
        INSERT INTO ocr_fts(rowid, text) VALUES (new.content_id, new.text);
      END;
      CREATE TRIGGER ocr_text_delete AFTER DELETE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, text) VALUES ('delete', old.content_id, old.text);
      END;
      CREATE TRIGGER ocr_text_update AFTER UPDATE ON ocr_text BEGIN
        INSERT INTO ocr_fts(ocr_fts, rowid, text) VALUES ('delete', old.content_id, old.text);
        INSERT INTO ocr_fts(rowid, text) VALUES (new.content_id, new.text);
      END;
      CREATE TABLE ocr_config (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        enabled INTEGER,
        langs TEXT
      );
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The oldest schema a library opened for reading may have: reading never migrates, so this is the
 * oldest version whose tables this code reads correctly. Raise it when a migration changes what
 * readers rely on; a library older than that must be opened once by a writing command.
 */
export const OLDEST_READABLE_VERSION = 1;

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
