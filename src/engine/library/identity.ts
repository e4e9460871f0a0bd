// Is this file a Triagem library? Answered without changing the file or leaving anything beside it.
//
// New libraries carry PRAGMA application_id = TRIAGEM_APPLICATION_ID (set by a migration). Libraries
// made before that carry none and are recognised by their tables. Anything else — another program's
// SQLite file, or not SQLite at all — is refused before a connection that could write is opened.

import fs from 'node:fs';
import type { Connection } from './sqlite.js';
import { connect } from './sqlite.js';

/** "TRGM". Stored in the SQLite header (offset 68), so a file can be told apart by its first bytes. */
export const TRIAGEM_APPLICATION_ID = 0x5452474d;

/** Tables every Triagem library has had since schema version 1. */
const LIBRARY_TABLES = ['contents', 'files', 'failures', 'models', 'sort_runs', 'sort_results', 'tags'];

export type Identity =
  | { kind: 'missing' }
  /** A new or empty SQLite file: nothing in it yet, so it can become a library. */
  | { kind: 'empty' }
  | { kind: 'library'; version: number }
  | { kind: 'foreign'; why: string };

interface Header {
  size: number;
  sqlite: boolean;
  /** File format bytes 18–19 say WAL. */
  wal: boolean;
  userVersion: number;
  applicationId: number;
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * The first 100 bytes, read with plain file I/O. Never call this while this process has the file
 * open through SQLite: closing any descriptor of a file drops every POSIX lock the process holds on
 * it, SQLite's included.
 */
function readHeader(file: string): Header | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(100);
    const n = fs.readSync(fd, buf, 0, 100, 0);
    const size = fs.fstatSync(fd).size;
    const sqlite = n === 100 && buf.subarray(0, 16).equals(MAGIC);
    return {
      size,
      sqlite,
      wal: sqlite && buf[18] === 2 && buf[19] === 2,
      userVersion: sqlite ? buf.readInt32BE(60) : 0,
      applicationId: sqlite ? buf.readInt32BE(68) : 0,
    };
  } finally {
    fs.closeSync(fd);
  }
}

function foreignApplication(id: number): Identity {
  return { kind: 'foreign', why: `it is another program's SQLite database (application_id 0x${(id >>> 0).toString(16)})` };
}

/** Identity as the connection sees it (WAL content included). */
export function identifyConnection(db: Connection): Identity {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId === TRIAGEM_APPLICATION_ID) return { kind: 'library', version };
  if (applicationId !== 0) return foreignApplication(applicationId);
  const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]);
  if (tables.size === 0 && version === 0) return { kind: 'empty' };
  if (version >= 1 && LIBRARY_TABLES.every((t) => tables.has(t))) return { kind: 'library', version };
  return { kind: 'foreign', why: "it is a SQLite database without Triagem's marker or tables" };
}

/**
 * Identity of a file this process does not have open. Decided from the header where it can be;
 * otherwise (no application_id) the tables are read through a connection that creates nothing: a
 * plain read-only one for rollback-journal files and WAL files whose -wal and -shm exist, an
 * immutable one for a WAL file without them (a plain one would create them).
 */
export function identifyFile(file: string): Identity {
  const header = readHeader(file);
  if (!header) return { kind: 'missing' };
  if (header.size === 0) return { kind: 'empty' };
  if (!header.sqlite) return { kind: 'foreign', why: 'it is not a SQLite database' };
  if (header.applicationId === TRIAGEM_APPLICATION_ID) return { kind: 'library', version: header.userVersion };
  if (header.applicationId !== 0) return foreignApplication(header.applicationId);
  const sideFiles = fs.existsSync(`${file}-wal`) && fs.existsSync(`${file}-shm`);
  const db = connect(file, { readonly: true, immutable: header.wal && !sideFiles });
  try {
    return identifyConnection(db);
  } finally {
    db.close();
  }
}
