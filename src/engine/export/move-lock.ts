import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { TriagemError, errorMessage } from '../errors.js';
import { userDataDir } from '../paths.js';
import { isInside } from './files.js';
import { processAlive } from '../util/process.js';

// Two moves out of one folder at once both copy every file before either deletes it: each file
// ends up twice in the destinations. One lock per (real) source folder, in the user data folder
// (never beside the user's files), makes the second move wait its turn or fail at once.
//
// proper-lockfile gives the atomic mkdir lock and the mtime heartbeat; a small owner file next to
// it says which folder and process hold it, so a nested source (a move from `fotos` while one from
// `fotos/2023` runs) is seen as a conflict too, a live holder makes a second move fail at once with
// a clear message, and only a lock left by a killed process is waited out (until it goes stale).

const STALE_MS = 10_000;

interface Owner {
  path: string;
  pid: number;
  host: string;
  at: number;
}

export interface MoveLock {
  /** The real source folders held. */
  folders: string[];
  release(): Promise<void>;
}


function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Owner>;
    if (typeof o.path === 'string' && typeof o.pid === 'number' && typeof o.host === 'string') return o as Owner;
  } catch {
    // missing or half-written: the lock's own mtime decides
  }
  return undefined;
}

/** Lock and owner-file paths for one real folder. */
function slot(dir: string, folder: string): { target: string; lock: string; owner: string } {
  const key = createHash('sha256').update(folder).digest('hex').slice(0, 32);
  const target = path.join(dir, `move-${key}`);
  return { target, lock: `${target}.lock`, owner: `${target}.owner.json` };
}

function busy(folder: string, owner: Owner | undefined): TriagemError {
  const who = owner ? ` (process ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''})` : '';
  return new TriagemError(
    `another Triagem move from ${owner?.path ?? folder} is running${who}; wait for it to finish, then run this one again`,
    'busy',
    folder,
  );
}

/**
 * Takes the move lock of every folder in `realFolders` (already resolved with realpath), or throws
 * a `busy` TriagemError naming the move in the way. Safe under races: a process takes its own locks
 * first and only then looks for nested ones, so of two overlapping moves at least one sees the other.
 */
export async function lockMoveSources(realFolders: readonly string[], dataDir: string = userDataDir()): Promise<MoveLock> {
  const dir = path.join(path.resolve(dataDir), 'locks');
  fs.mkdirSync(dir, { recursive: true });
  const folders = [...new Set(realFolders)].sort();
  const held: { folder: string; release: () => Promise<void>; owner: string }[] = [];
  const releaseAll = async () => {
    for (const h of held.splice(0).reverse()) {
      fs.rmSync(h.owner, { force: true });
      await h.release().catch(() => undefined);
    }
  };
  try {
    for (const folder of folders) {
      const s = slot(dir, folder);
      const options = {
        realpath: false,
        lockfilePath: s.lock,
        stale: STALE_MS,
        // A lost heartbeat (suspended laptop) must not throw from a timer; the next writer sees the lock as stale.
        onCompromised: () => undefined,
      };
      let release: () => Promise<void>;
      try {
        release = await lockfile.lock(s.target, options);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
        const owner = readOwner(s.owner);
        if (!owner || owner.host !== os.hostname() || processAlive(owner.pid)) throw busy(folder, owner);
        // Its process is gone (killed): wait for the lock to go stale, which proper-lockfile then
        // takes over safely, rather than removing it ourselves and racing another waiter.
        release = await lockfile
          .lock(s.target, { ...options, retries: { retries: Math.ceil((STALE_MS + 2000) / 500), minTimeout: 500, maxTimeout: 500, factor: 1 } })
          .catch((again: unknown) => {
            throw (again as NodeJS.ErrnoException).code === 'ELOCKED' ? busy(folder, readOwner(s.owner)) : again;
          });
      }
      held.push({ folder, release, owner: s.owner });
      const owner: Owner = { path: folder, pid: process.pid, host: os.hostname(), at: Date.now() };
      fs.writeFileSync(s.owner, JSON.stringify(owner));
    }
    const mine = new Set(held.map((h) => slot(dir, h.folder).owner));
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.owner.json')) continue;
      const file = path.join(dir, name);
      if (mine.has(file)) continue;
      const owner = readOwner(file);
      if (!owner || !folders.some((f) => isInside(f, owner.path) || isInside(owner.path, f))) continue;
      const s = slot(dir, owner.path);
      const locked = await lockfile.check(s.target, { realpath: false, lockfilePath: s.lock, stale: STALE_MS }).catch(() => false);
      if (locked && (owner.host !== os.hostname() || processAlive(owner.pid))) throw busy(owner.path, owner);
    }
  } catch (err) {
    await releaseAll();
    if (err instanceof TriagemError) throw err;
    throw new TriagemError(`cannot take the move lock: ${errorMessage(err)}`, 'move-busy', dir);
  }
  return { folders, release: releaseAll };
}
