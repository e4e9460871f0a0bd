// One writer per library across processes.
//
// The lock is a SQLite RESERVED lock on a small side file (`<library>.lock`), held by an open
// transaction for as long as the writer runs. Chosen over lock files and directories (our own
// O_EXCL file, proper-lockfile's mkdir + mtime heartbeat) because the operating system drops it the
// moment the holder dies: after `kill -9` the next `triagem index` starts at once, with no staleness
// guess, no heartbeat timer that a busy event loop can miss, and no risk of breaking a live lock.
// SQLite already relies on the same file locks (POSIX fcntl, Windows LockFileEx) for the library.
//
// Who holds it (pid, host, command, since) is written beside it in `<library>.writer.json`, for the
// message a second writer gets. Within one process the lock is shared: the process is one writer.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { connect, sqliteCode, type Connection } from './sqlite.js';
import { processAlive } from '../util/process.js';

export interface WriterInfo {
  pid: number;
  host: string;
  command: string;
  /** ms since the epoch */
  since: number;
}

interface Held {
  db: Connection;
  refs: number;
  info: WriterInfo;
}

const held = new Map<string, Held>();

export function lockFileOf(libraryFile: string): string {
  return `${libraryFile}.lock`;
}

export function writerInfoFileOf(libraryFile: string): string {
  return `${libraryFile}.writer.json`;
}

/** What this process is, in the words a person would type: `triagem index /fotos`. */
export function currentCommand(): string {
  const script = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') : path.basename(process.argv0);
  const name = script === 'main' ? 'triagem' : script;
  const text = [name, ...process.argv.slice(2)].join(' ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}


export function readWriterInfo(libraryFile: string): WriterInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(writerInfoFileOf(libraryFile), 'utf8')) as Partial<WriterInfo>;
    if (typeof info.pid !== 'number' || typeof info.host !== 'string' || typeof info.command !== 'string' || typeof info.since !== 'number') return undefined;
    return info as WriterInfo;
  } catch {
    return undefined;
  }
}

function busyMessage(libraryFile: string, waitedMs: number): string {
  const info = readWriterInfo(libraryFile);
  const waited = waitedMs > 0 ? ` (waited ${Math.round(waitedMs / 100) / 10} s)` : '';
  // The record of a writer that died is left behind; the live holder may not have replaced it yet.
  if (!info || (info.host === os.hostname() && !processAlive(info.pid))) {
    return `library is being written by another process${waited}; try again when it has finished`;
  }
  const where = info.host === os.hostname() ? '' : ` on ${info.host}`;
  return `library is being written by pid ${info.pid}${where} (${info.command}) since ${localTime(info.since)}${waited}; try again when it has finished`;
}

function writeInfo(libraryFile: string, info: WriterInfo): void {
  const file = writerInfoFileOf(libraryFile);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(info)}\n`);
    fs.renameSync(tmp, file);
  } catch {
    // Only the busy message of a second writer loses its details.
    fs.rmSync(tmp, { force: true });
  }
}

function removeInfo(libraryFile: string, info: WriterInfo): void {
  const current = readWriterInfo(libraryFile);
  if (current && current.pid === info.pid && current.since === info.since && current.host === info.host) {
    fs.rmSync(writerInfoFileOf(libraryFile), { force: true });
  }
}

export interface WriteLockOptions {
  /** Shown to a second writer. */
  command: string;
  /** How long to wait for another writer to finish before giving up. */
  waitMs: number;
}

export class WriteLock {
  private released = false;

  private constructor(readonly libraryFile: string) {}

  /** Takes the lock for `libraryFile` (an absolute, canonical path), waiting up to `waitMs`. */
  static acquire(libraryFile: string, opts: WriteLockOptions): WriteLock {
    const mine = held.get(libraryFile);
    if (mine) {
      mine.refs++;
      return new WriteLock(libraryFile);
    }
    let db: Connection | undefined;
    const started = Date.now();
    try {
      db = connect(lockFileOf(libraryFile), { readonly: false, busyTimeoutMs: opts.waitMs });
      // No -journal beside the lock file: the transaction never writes a page.
      db.pragma('journal_mode = MEMORY');
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      db?.close();
      if (sqliteCode(err)?.startsWith('SQLITE_BUSY')) throw new TriagemError(busyMessage(libraryFile, Date.now() - started), 'library-busy', libraryFile);
      throw new TriagemError(`cannot write to the library's folder: ${errorMessage(err)}`, 'library-read-only', libraryFile);
    }
    const info: WriterInfo = { pid: process.pid, host: os.hostname(), command: opts.command, since: Date.now() };
    writeInfo(libraryFile, info);
    held.set(libraryFile, { db, refs: 1, info });
    return new WriteLock(libraryFile);
  }

  /** Whether this process holds the lock of `libraryFile`. */
  static heldByThisProcess(libraryFile: string): boolean {
    return held.has(libraryFile);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const h = held.get(this.libraryFile);
    if (!h || --h.refs > 0) return;
    held.delete(this.libraryFile);
    // The record goes first: once the lock is free, the file may already be the next writer's.
    removeInfo(this.libraryFile, h.info);
    h.db.close();
  }
}
