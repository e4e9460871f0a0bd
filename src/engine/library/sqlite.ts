// The one place that opens SQLite connections to a library file.

import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';

// better-sqlite3 reads SQLITE_USE_URI once, when its native part loads (at the first connection in
// the process). URI filenames are needed for `immutable=1`, the only way SQLite reads a WAL-mode
// file whose folder cannot hold the -shm/-wal files it would otherwise create (read-only media).
// Library paths are always absolute, so a plain path is never mistaken for a URI.
process.env.SQLITE_USE_URI ??= '1';

export type Connection = Database.Database;

export interface ConnectOptions {
  readonly: boolean;
  /**
   * Read the file as it is, without locks or side files: only for files nobody can be writing
   * (read-only media) or that are only being looked at, never for a library another process may write.
   */
  immutable?: boolean;
  /** How long a statement waits for another connection's lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
  /** Load sqlite-vec (every library connection needs it; a look at the header does not). */
  vec?: boolean;
}

export function connect(file: string, opts: ConnectOptions): Connection {
  const name = opts.immutable ? `${pathToFileURL(file).href}?immutable=1` : file;
  const db = new Database(name, { readonly: opts.readonly, fileMustExist: opts.readonly, timeout: opts.busyTimeoutMs ?? 0 });
  try {
    if (opts.vec) loadVectorExtension(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** SQLite's extended result code of an error thrown by better-sqlite3, if it is one. */
export function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/**
 * sqlite-vec is a shared library SQLite loads by path. In the packaged app that path points inside
 * app.asar, which only Electron's own fs can read: the file itself is unpacked beside the archive.
 */
function loadVectorExtension(db: Database.Database): void {
  db.loadExtension(sqliteVec.getLoadablePath().replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2'));
}
