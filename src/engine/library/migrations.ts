import type { Database } from 'better-sqlite3';
import { TriagemError } from '../errors.js';
import { TRIAGEM_APPLICATION_ID } from './identity.js';
import { hasChunkLayout, readVecChunks } from './vec-chunks.js';

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
  // v4: each embedding stored once, as 16-bit fixed point in `embeddings` (see embeddings.ts), instead
  // of sqlite-vec float32 tables plus a 16-bit re-scoring copy; search codes and near-duplicate
  // signatures in `vector_state` / `vector_blocks` (see vector-blocks.ts) instead of per-model tables
  // created outside migrations; near-duplicate pairs found at indexing time (`near_pairs`); a per-model
  // counter of embedding changes. Existing float32 embeddings
  // are converted; existing search codes (format 1: sign and magnitude planes interleaved per image)
  // are split into the planes of format 2; the old tables are dropped.
  (db) => {
    db.exec(`
      ALTER TABLE models ADD COLUMN embeddings_changed INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE embeddings (
        model_id INTEGER NOT NULL REFERENCES models(id),
        content_id INTEGER NOT NULL,
        vec BLOB NOT NULL,
        PRIMARY KEY (model_id, content_id)
      );
      CREATE TABLE vector_state (
        model_id INTEGER PRIMARY KEY REFERENCES models(id),
        codes_version INTEGER NOT NULL,
        signatures_version INTEGER NOT NULL,
        fitted_on INTEGER NOT NULL,
        params BLOB,
        synced_change INTEGER NOT NULL,
        pairs_threshold REAL,
        generation INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE vector_blocks (
        model_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        block INTEGER NOT NULL,
        ids BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (model_id, kind, block)
      );
      CREATE TABLE near_pairs (
        model_id INTEGER NOT NULL,
        a INTEGER NOT NULL,
        b INTEGER NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (model_id, a, b)
      ) WITHOUT ROWID;
      CREATE INDEX near_pairs_b ON near_pairs(model_id, b);
    `);
    const exists = (name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE name = ?").get(name) !== undefined;
    // The fixed-point format of v2, spelled out here so later changes elsewhere cannot alter this step.
    const fixed16 = (v: Float32Array, offset: number, dim: number): Buffer => {
      const out = new Int16Array(dim);
      for (let j = 0; j < dim; j++) {
        const c = Math.max(-1, Math.min(1, v[offset + j]));
        out[j] = c * 32767 + (c >= 0 ? 0.5 : -0.5);
      }
      return Buffer.from(out.buffer);
    };
    const put = db.prepare('INSERT OR REPLACE INTO embeddings(model_id, content_id, vec) VALUES (?, ?, ?)');
    const models = db.prepare('SELECT id, dim FROM models').all() as { id: number; dim: number }[];
    for (const { id, dim } of models) {
      const table = `emb_${id}`;
      if (exists(table)) {
        if (hasChunkLayout(db, table)) {
          for (const rows of readVecChunks(db, table, dim)) rows.ids.forEach((contentId, r) => put.run(id, contentId, fixed16(rows.data, r * dim, dim)));
        } else {
          // Unknown shadow layout: through the vec0 cursor (all rows at once: no writes while iterating).
          for (const [contentId, blob] of db.prepare(`SELECT rowid, embedding FROM ${table}`).raw().all() as [number, Buffer][]) {
            const v = new Float32Array(Uint8Array.from(blob).buffer);
            if (v.length === dim) put.run(id, contentId, fixed16(v, 0, dim));
          }
        }
        db.exec(`DROP TABLE ${table}`);
      }
      const blocks = `search_blocks_${id}`;
      if (exists(blocks) && exists('search_quantizers')) {
        const q = db.prepare('SELECT version, fitted_on, params FROM search_quantizers WHERE model_id = ?').get(id) as
          | { version: number; fitted_on: number; params: Buffer | null }
          | undefined;
        if (q?.version === 1 && q.params) {
          db.prepare(
            'INSERT INTO vector_state(model_id, codes_version, signatures_version, fitted_on, params, synced_change, pairs_threshold, generation, updated_at) VALUES (?, 2, 0, ?, ?, -1, NULL, 1, ?)',
          ).run(id, q.fitted_on, q.params, Date.now());
          const plane = Math.ceil(dim / 64) * 8;
          const putBlock = db.prepare('INSERT INTO vector_blocks(model_id, kind, block, ids, data) VALUES (?, ?, ?, ?, ?)');
          for (const [block, ids, codes] of db.prepare(`SELECT block, ids, codes FROM ${blocks}`).raw().all() as [number, Buffer, Buffer][]) {
            const n = ids.length / 4;
            if (codes.length !== n * 2 * plane) continue;
            const signs = Buffer.alloc(n * plane);
            const mags = Buffer.alloc(n * plane);
            for (let i = 0; i < n; i++) {
              codes.copy(signs, i * plane, i * 2 * plane, i * 2 * plane + plane);
              codes.copy(mags, i * plane, i * 2 * plane + plane, (i + 1) * 2 * plane);
            }
            putBlock.run(id, 'signs', block, ids, signs);
            putBlock.run(id, 'mags', block, ids, mags);
          }
        }
      }
      for (const old of [blocks, `search_vectors_${id}`]) if (exists(old)) db.exec(`DROP TABLE ${old}`);
    }
    if (exists('search_quantizers')) db.exec('DROP TABLE search_quantizers');
  },
  // v5: what a person decided while reviewing (review.ts): marks per content with an undo history,
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
  // v6: damaged images that still decoded (indexing's warnings), per content, so the window marks
  // them after a restart too (content-warnings.ts). Readers of older libraries see no warnings.
  (db) => {
    db.exec(`
      CREATE TABLE content_warnings (
        content_id INTEGER PRIMARY KEY,
        warning TEXT NOT NULL,
        at INTEGER NOT NULL
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
// 4: embeddings moved out of sqlite-vec tables into `embeddings`, which readers read.
// 5: the window's readers page the grid and read review marks and duplicate decisions.
// 6: tiles and file details read the stored damaged-image warnings.
export const OLDEST_READABLE_VERSION = 6;

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
