// A second, raw SQLite connection to a library file, for tests that look at or tamper with what the
// library stores (src/ reaches the file only through Library's methods).
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';

export function withRawDb<T>(file: string, fn: (db: Database.Database) => T, opts: { readonly?: boolean } = {}): T {
  const db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: true });
  try {
    sqliteVec.load(db);
    return fn(db);
  } finally {
    db.close();
  }
}
