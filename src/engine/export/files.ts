import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { sha256File, sha256Handle } from '../util/hash.js';
import { numberedName } from './names.js';

// The file helpers every part of the engine shares, re-exported for the export modules.
export { exists, isInside } from '../util/fs.js';
export { sha256File } from '../util/hash.js';

const CHUNK = 1 << 20;

export interface CopyOutcome {
  /** sha256 of the bytes read from the source (and written to the copy). */
  sha256: string;
  /** sha256 of the copy read back from disk after fsync, when asked for. */
  readBackSha256?: string;
  size: number;
  /** Source times, carried over to the copy. */
  mtimeMs: number;
  atimeMs: number;
}

/**
 * Creates `<dir>/<name>`, or `<dir>/<name (n)>` for the first n whose name is free, with O_EXCL so
 * an existing file is never truncated even when another process races us or the file system is
 * case-insensitive. `taken` holds lower-cased names already handed out in this run.
 */
export async function createExclusive(
  dir: string,
  name: string,
  taken?: Set<string>,
  mode = 0o644,
): Promise<{ path: string; handle: fsp.FileHandle }> {
  for (let n = 0; ; n++) {
    const candidate = numberedName(name, n);
    if (taken?.has(candidate.toLowerCase())) continue;
    const target = path.join(dir, candidate);
    try {
      const handle = await fsp.open(target, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
      taken?.add(candidate.toLowerCase());
      // The umask trimmed `mode` at creation; the copy should carry the original's permissions.
      await handle.chmod(mode).catch(() => undefined);
      return { path: target, handle };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      taken?.add(candidate.toLowerCase());
    }
  }
}

/**
 * Streams `source` into the already-created `target` (opened read-write), hashing on the way.
 * With `durable` (a move: the original is about to be deleted) it fsyncs and reads the copy back
 * to hash it. Last it carries over the source's mtime and atime (taken before reading; set after
 * the read-back, which would bump the copy's atime).
 */
export async function copyInto(source: string, target: fsp.FileHandle, durable = false): Promise<CopyOutcome> {
  const src = await fsp.open(source, 'r');
  try {
    const st = await src.stat();
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      let written = 0;
      while (written < bytesRead) {
        const r = await target.write(chunk, written, bytesRead - written);
        written += r.bytesWritten;
      }
      size += bytesRead;
    }
    let readBackSha256: string | undefined;
    if (durable) {
      await target.sync();
      readBackSha256 = await sha256Handle(target);
    }
    await target.utimes(st.atimeMs / 1000, st.mtimeMs / 1000);
    if (durable) await target.sync();
    return { sha256: hash.digest('hex'), readBackSha256, size, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs };
  } finally {
    await src.close();
  }
}

/** sha256 of a file, or undefined when it does not exist. */
export async function sha256IfExists(file: string): Promise<string | undefined> {
  try {
    return await sha256File(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * True when every byte of `partial` equals the start of `full`: what a copy interrupted by a
 * crash leaves behind, so it can be told apart from a file someone else put at that path.
 */
export async function isPrefixOf(partial: string, full: string): Promise<boolean> {
  const [a, b] = await Promise.all([fsp.open(partial, 'r'), fsp.open(full, 'r')]);
  try {
    const [sa, sb] = await Promise.all([a.stat(), b.stat()]);
    if (sa.size > sb.size) return false;
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < sa.size; ) {
      const ra = await a.read(ba, 0, CHUNK, pos);
      if (ra.bytesRead === 0) break;
      const rb = await b.read(bb, 0, ra.bytesRead, pos);
      if (rb.bytesRead !== ra.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      pos += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/** Makes a new directory entry durable before the old copy of a file is deleted. No-op where directories cannot be opened (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Directory fsync is a durability hint; platforms without it still have the file's own fsync.
  } finally {
    await handle?.close();
  }
}
