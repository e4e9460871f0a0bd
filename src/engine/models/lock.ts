import fsp from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { TriagemError } from '../errors.js';
import { isErrno } from '../util/fs.js';

/**
 * A lock not refreshed for this long belongs to a process that died without releasing it (power
 * loss, kill -9) and is taken over. Generous because the holder refreshes it from timers, and
 * opening a large ONNX graph to validate it holds the event loop for seconds.
 */
export const DOWNLOAD_LOCK_STALE_MS = 30_000;
const UPDATE_MS = 5_000;

export interface DownloadLock {
  /** Aborted when the lock is lost (another process took it over): stop writing to the cache. */
  readonly signal: AbortSignal;
  /** Throws when the lock was lost, so nothing is installed from a cache another process may be writing. */
  assertHeld(): void;
  release(): Promise<void>;
}

/**
 * One download per model at a time: two processes appending to the same part file would corrupt it.
 *
 * proper-lockfile's lock is a folder made with mkdir (atomic on local and network file systems),
 * refreshed while held, released on normal exit and signals, and taken over once stale. It replaces
 * a pid file that could be taken over twice in a race and misread a reused or remote pid, and that
 * needed its own rule for a lock file created but not yet written.
 */
export async function lockDownload(cacheDir: string, id: string, timing: { staleMs?: number; updateMs?: number } = {}): Promise<DownloadLock> {
  const staleMs = timing.staleMs ?? DOWNLOAD_LOCK_STALE_MS;
  const lockPath = `${cacheDir}.lock`;
  await fsp.mkdir(path.dirname(lockPath), { recursive: true });
  const lost = new AbortController();
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(cacheDir, {
      lockfilePath: lockPath,
      // The cache folder is the resource, not a file that must exist: no realpath.
      realpath: false,
      stale: staleMs,
      update: timing.updateMs ?? UPDATE_MS,
      retries: 0,
      onCompromised: (err) => lost.abort(err),
    });
  } catch (err) {
    if (isErrno(err, 'ELOCKED')) {
      throw new TriagemError(
        `model "${id}" is already being downloaded by another run; if none is running, the lock it left expires within ${Math.ceil(staleMs / 1000)} s`,
        'busy',
        cacheDir,
      );
    }
    throw err;
  }
  return {
    signal: lost.signal,
    assertHeld() {
      if (lost.signal.aborted) {
        throw new TriagemError(`lost the download lock of "${id}" to another run (this one stalled too long); run the same command again`, 'busy', cacheDir);
      }
    },
    async release() {
      // A lock already lost has nothing left to release.
      await release().catch(() => undefined);
    },
  };
}
