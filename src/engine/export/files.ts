import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { sha256File, sha256Handle } from '../util/hash.js';
import { numberedName } from './names.js';

// The file helpers every part of the engine shares, re-exported for the export modules.
export { exists, isInside } from '../util/fs.js';
import { exists, isInside, realPathOrAncestor } from '../util/fs.js';
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

/** A write to the export's destination failed; `code` says whether the export can go on. */
export class DestinationError extends Error {
  readonly code: string | undefined;
  constructor(
    cause: unknown,
    readonly target: string,
  ) {
    super(destinationReason(cause), { cause });
    this.code = (cause as NodeJS.ErrnoException)?.code;
    this.name = 'DestinationError';
  }
}

/** Codes after which nothing more can be written to the destination: the export stops there. */
export const STOP_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO', 'ENOTCONN', 'ENODEV', 'ENXIO']);

export function destinationReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
      return 'the destination disk is full';
    case 'EDQUOT':
      return 'the disk quota on the destination is used up';
    case 'EFBIG':
      return 'the file is too large for the destination file system';
    case 'EROFS':
      return 'the destination is read-only';
    case 'EIO':
    case 'ENOTCONN':
    case 'ENODEV':
    case 'ENXIO':
      return 'input/output error writing to the destination (disconnected or failing drive?)';
    default:
      return `cannot write to the destination: ${e?.message ?? String(err)}`;
  }
}

async function onDestination<T>(target: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw new DestinationError(err, target);
  }
}

/**
 * Streams `source` into the already-created `target` (opened read-write), hashing on the way.
 * With `durable` (a move: the original is about to be deleted) it fsyncs and reads the copy back
 * to hash it. Last it carries over the source's mtime and atime (taken before reading; set after
 * the read-back, which would bump the copy's atime). With `durable` the source is also opened
 * without following a final symbolic link (a move must take the file itself, never what a link
 * points to). Failures writing the target are DestinationErrors.
 */
export async function copyInto(source: string, target: fsp.FileHandle, durable = false, targetPath = ''): Promise<CopyOutcome> {
  const src = await fsp.open(source, fs.constants.O_RDONLY | (durable ? (fs.constants.O_NOFOLLOW ?? 0) : 0));
  try {
    const st = await src.stat();
    if (!st.isFile()) throw new Error('is not a regular file');
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
        const r = await onDestination(targetPath, () => target.write(chunk, written, bytesRead - written));
        written += r.bytesWritten;
      }
      size += bytesRead;
    }
    let readBackSha256: string | undefined;
    if (durable) {
      await onDestination(targetPath, () => target.sync());
      readBackSha256 = await sha256Handle(target);
    }
    await onDestination(targetPath, () => target.utimes(st.atimeMs / 1000, st.mtimeMs / 1000));
    if (durable) await onDestination(targetPath, () => target.sync());
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

/** The real path of `p`, also when its last parts do not exist (yet, or any more). */
export const realPathOf = realPathOrAncestor;

/** True when the real path of `p` lies inside the real path of one of `folders` (given already resolved). */
export async function realInside(p: string, realFolders: readonly string[]): Promise<boolean> {
  const real = await realPathOf(p);
  return realFolders.some((folder) => isInside(real, folder));
}

export interface DirIdentity {
  dev: number;
  ino: number;
}

/**
 * A folder's identity when `dir` is a real folder and not a symbolic link (lstat), else undefined.
 * Checked again right before each file is created in it, so a folder swapped for a link during an
 * export is noticed instead of written through.
 */
export async function plainDirIdentity(dir: string): Promise<DirIdentity | undefined> {
  try {
    const st = await fsp.lstat(dir);
    return st.isDirectory() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export interface LabelDir {
  dir: string;
  identity: DirIdentity;
  /** True when this call made the folder (undo may remove it). */
  created: boolean;
  /** Why the wanted name was not used (a link or a file took it). */
  redirected?: string;
}

/**
 * `<parent>/<name>` as a folder this export may write into: a real folder (never a symbolic link,
 * which would carry the files somewhere else, and never a dangling one), created when missing.
 * When the name is taken by anything else the first free `name (n)` is used instead, so the
 * label's files still land in the destination.
 */
export async function labelDirectory(parent: string, name: string): Promise<LabelDir> {
  let redirected: string | undefined;
  for (let n = 0; ; n++) {
    const dir = path.join(parent, n === 0 ? name : `${name} (${n})`);
    // mkdir never follows a final symbolic link: a link (even a dangling one) at that name is EEXIST.
    let created = false;
    try {
      await onDestination(dir, () => fsp.mkdir(dir));
      created = true;
    } catch (err) {
      if (!(err instanceof DestinationError) || err.code !== 'EEXIST') throw err;
    }
    const identity = await plainDirIdentity(dir);
    if (identity) return { dir, identity, created, ...(redirected ? { redirected } : {}) };
    if (n === 0) {
      const st = await fsp.lstat(dir).catch(() => undefined);
      redirected = st?.isSymbolicLink()
        ? `"${name}" in the destination is a symbolic link (to ${await fsp.readlink(dir).catch(() => '?')}); not followed`
        : `"${name}" in the destination exists and is not a folder`;
    }
  }
}

/** True while `dir` is still the very folder `identity` names (not replaced, not a link). */
export async function sameDirectory(dir: string, identity: DirIdentity): Promise<boolean> {
  const now = await plainDirIdentity(dir);
  return now !== undefined && now.dev === identity.dev && now.ino === identity.ino;
}

/** A hidden name beside the final one, for writing a copy before it is put in place. */
export function tempNameFor(name: string, id: number): string {
  const tag = `${process.pid.toString(36)}-${id.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  // Keep the whole name within the 255-byte limit of most file systems.
  let base = name;
  while (Buffer.byteLength(base, 'utf8') > 200) base = Array.from(base).slice(0, -1).join('');
  return `.triagem-part-${tag}-${base}`;
}

/** True for names `tempNameFor` makes. */
export function isTempName(name: string): boolean {
  return name.startsWith('.triagem-part-');
}

// Hard links are how a name is claimed without ever replacing what is there; file systems without
// them (FAT, exFAT, some network mounts) answer with one of these.
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Puts the finished `tmp` (in `dir`) at `<dir>/<name>`, or at the first free `name (n)`, never
 * replacing a file: link(2) fails when the name exists, where rename(2) would overwrite it. Where
 * the file system has no hard links, a rename to a name just checked to be free is the fallback
 * (a race with another writer there is possible but needs one to pick the same name in that instant).
 * `taken` holds lower-cased names already handed out in this run (case-insensitive file systems).
 */
export async function placeWithoutReplacing(tmp: string, dir: string, name: string, taken: Set<string>): Promise<string> {
  let links = true;
  for (let n = 0; ; n++) {
    const candidate = numberedName(name, n);
    if (taken.has(candidate.toLowerCase())) continue;
    const target = path.join(dir, candidate);
    if (links) {
      try {
        await fsp.link(tmp, target);
        taken.add(candidate.toLowerCase());
        await onDestination(tmp, () => fsp.unlink(tmp));
        return target;
      } catch (err) {
        if (err instanceof DestinationError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (code === 'EEXIST') {
          taken.add(candidate.toLowerCase());
          continue;
        }
        if (!NO_LINKS.has(code)) throw new DestinationError(err, target);
        links = false;
      }
    }
    if (await exists(target)) {
      taken.add(candidate.toLowerCase());
      continue;
    }
    await onDestination(target, () => fsp.rename(tmp, target));
    taken.add(candidate.toLowerCase());
    return target;
  }
}

/** Creates `file` exclusively (never through a link) and writes `data`; removes it again if the write fails. */
export async function writeNewFile(file: string, data: string | Buffer): Promise<void> {
  const handle = await onDestination(file, () =>
    fsp.open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o644),
  );
  try {
    await onDestination(file, async () => {
      await handle.writeFile(data);
      await handle.sync();
    });
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(file, { force: true });
    throw err;
  }
  await handle.close();
}
