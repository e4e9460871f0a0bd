import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import type { Library } from '../library/library.js';
import { UNSURE_LABEL } from '../sort/labels.js';
import type { SortedFile } from '../sort/sort.js';
import {
  type CopyOutcome,
  DestinationError,
  type DirIdentity,
  STOP_CODES,
  copyInto,
  destinationReason,
  fsyncDir,
  isInside,
  labelDirectory,
  placeWithoutReplacing,
  realPathOf,
  sameDirectory,
  sha256File,
  tempNameFor,
  writeNewFile,
} from './files.js';
import { JournalWriter, type JournalOp, readJournal } from './journal.js';
import { journalKey } from './journal-key.js';
import { writeManifest } from './manifest.js';
import { lockMoveSources, type MoveLock } from './move-lock.js';
import { labelFolders, numberedName } from './names.js';

export type ExportOperation = JournalOp;

export interface ExportOptions {
  results: readonly SortedFile[];
  /** The labels of the sort run, in order; fixes each label's folder name. */
  labels: readonly string[];
  destination: string;
  operation: ExportOperation;
  /**
   * The folders the user chose to sort. A file whose real path lies outside all of them (it was
   * reached through a symbolic link) is neither copied nor moved. Without them, a file whose path
   * passes through a symbolic link is refused instead.
   */
  sources?: readonly string[];
  /**
   * The library the results come from: the journal names it (the bridge undoes only its own
   * library's journals), and after a verified move the file's row follows it (see Library.followMove).
   */
  library?: Library;
  /** User data folder with the journal key and the move locks (default: the app's). */
  dataDir?: string;
  onProgress?: (done: number, total: number, current: string) => void;
  signal?: AbortSignal;
}

export interface ExportedFile {
  from: string;
  to: string;
  label: string;
  sha256: string;
}

export interface ExportFailure {
  path: string;
  error: string;
}

export interface ExportStop {
  /** errno code: ENOSPC, EDQUOT, EROFS, EIO… */
  code: string;
  reason: string;
  /** Files not tried because the export stopped. */
  notAttempted: number;
}

export interface ExportSummary {
  journal: string;
  exported: ExportedFile[];
  failed: ExportFailure[];
  /** Files already inside one of this export's label folders (an earlier export), left where they are. */
  skippedInLabelFolders: string[];
  /** Labels whose folder name was taken in the destination by a link or a file, and the folder used instead. */
  redirected: { label: string; folder: string; reason: string }[];
  /** `manifest-sha256.txt` listing every copy written; null when nothing was written or it could not be. */
  manifest: string | null;
  /** Set when the export stopped early: the destination is full or failing. What was done stays done (and undoable). */
  stopped?: ExportStop;
  /** Why the library could not follow a moved file, if it could not (the move itself is done). */
  libraryError?: string;
}

/** Space set aside at the start so the journal can be finished when the disk fills. */
const RESERVE_BYTES = 64 * 1024;
/** More source folders than this are locked as their common parent (one lock, not thousands). */
const MAX_LOCKED_FOLDERS = 32;

/** Raised inside the loop: the destination cannot take more; stop, clean up, finish the journal. */
class StopExport extends Error {
  constructor(
    readonly code: string,
    reason: string,
  ) {
    super(reason);
  }
}

function stopFor(err: unknown): StopExport | undefined {
  if (err instanceof StopExport) return err;
  if (err instanceof DestinationError && err.code && STOP_CODES.has(err.code)) return new StopExport(err.code, err.message);
  return undefined;
}

/** Outermost folders of a set (a folder inside another listed one is covered by it). */
function outermost(folders: readonly string[]): string[] {
  const sorted = [...new Set(folders)].sort((a, b) => a.length - b.length);
  const out: string[] = [];
  for (const f of sorted) if (!out.some((o) => isInside(f, o))) out.push(f);
  return out.sort();
}

function commonParent(folders: readonly string[]): string {
  let common = folders[0];
  for (const f of folders) while (!isInside(f, common)) common = path.dirname(common);
  return common;
}

/**
 * Copies or moves sorted files into `<destination>/<label folder>/`. Never overwrites, never writes
 * through a symbolic link: each copy is written under a hidden temporary name beside its final one
 * and then linked into place under a free name (` (n)` before the extension when taken). A move
 * deletes the source only after the copy is fsynced and its bytes, read back, hash to the library's
 * sha256; a source that changed since indexing is left alone and reported. Every step is journaled
 * (signed lines) for `undoExport`, and the copies are listed in `manifest-sha256.txt`.
 *
 * When the destination fills up or fails, the export stops: the partial copy is removed, the journal
 * is finished (from space set aside at the start), and the summary says what was done. Moves take a
 * lock per source folder, so two moves from one folder cannot run at once.
 */
export async function exportSorted(opts: ExportOptions): Promise<ExportSummary> {
  const destination = path.resolve(opts.destination);
  try {
    await fsp.mkdir(destination, { recursive: true });
  } catch (err) {
    throw new TriagemError(destinationReason(err), 'destination-failed', destination);
  }
  const realDestination = await fsp.realpath(destination);
  const move = opts.operation === 'move';
  const folders = labelFolders(opts.labels.includes(UNSURE_LABEL) ? opts.labels : [...opts.labels, UNSURE_LABEL]);
  // Both spellings: library paths may come through a symlink (macOS /tmp → /private/tmp).
  const labelDirs = [...folders.values()].flatMap((name) => [path.join(destination, name), path.join(realDestination, name)]);

  const realSources = opts.sources ? await Promise.all(opts.sources.map((s) => realPathOf(s))) : undefined;
  let sourceFolders = outermost(realSources ?? (await Promise.all(opts.results.map((r) => realPathOf(path.dirname(r.file.path))))));
  if (sourceFolders.length > MAX_LOCKED_FOLDERS) sourceFolders = [commonParent(sourceFolders)];
  const lock: MoveLock | undefined = move && sourceFolders.length ? await lockMoveSources(sourceFolders, opts.dataDir) : undefined;

  try {
    let journal: JournalWriter;
    try {
      journal = JournalWriter.create(
        destination,
        { createdAt: Date.now(), operation: opts.operation, destination, sources: sourceFolders, ...(opts.library ? { library: opts.library.file } : {}) },
        journalKey(opts.dataDir),
      );
    } catch (err) {
      if (err instanceof TriagemError) throw err;
      throw new TriagemError(`cannot start the export journal: ${destinationReason(err)}`, 'destination-failed', destination);
    }
    return await runExport(opts, journal, { destination, labelDirs, folders, realSources, move });
  } finally {
    await lock?.release();
  }
}

interface Plan {
  destination: string;
  labelDirs: string[];
  folders: Map<string, string>;
  realSources: string[] | undefined;
  move: boolean;
}

async function runExport(opts: ExportOptions, journal: JournalWriter, plan: Plan): Promise<ExportSummary> {
  const { destination, labelDirs, folders, realSources, move } = plan;
  const summary: ExportSummary = { journal: journal.file, exported: [], failed: [], skippedInLabelFolders: [], redirected: [], manifest: null };
  const readyDirs = new Map<string, { dir: string; identity: DirIdentity; taken: Set<string> }>();
  let stop: StopExport | undefined;

  // Whatever else happens, this much room is kept for the journal's last lines.
  const reserve = path.join(destination, `.triagem-reserve-${path.basename(journal.file, '.jsonl').replace(/^\.triagem-journal-/, '')}`);
  let reserved = false;
  try {
    // Journaled first: a crash between the two leaves nothing undo does not know about.
    if (journal.write({ type: 'reserve', path: reserve, size: RESERVE_BYTES }, true)) {
      await writeNewFile(reserve, Buffer.alloc(RESERVE_BYTES));
      reserved = true;
    }
  } catch (err) {
    const s = stopFor(err);
    if (!s) throw err;
    stop = s;
  }
  if (!reserved && !stop) stop = new StopExport(journal.error?.code ?? 'ENOSPC', destinationReason(journal.error ?? { code: 'ENOSPC' }));

  const record = (entry: Parameters<JournalWriter['write']>[0], durable = false) => {
    if (!journal.write(entry, durable)) throw new StopExport(journal.error?.code ?? 'ENOSPC', destinationReason(journal.error));
  };
  const fail = (file: string, error: string) => {
    summary.failed.push({ path: file, error });
    record({ type: 'failed', path: file, error });
  };

  // The label's folder, made on first use; a name taken by a link or a file sends the label to `name (n)`.
  const labelDir = async (label: string) => {
    const name = folders.get(label) ?? folders.get(UNSURE_LABEL)!;
    let ready = readyDirs.get(name);
    if (ready && !(await sameDirectory(ready.dir, ready.identity))) {
      readyDirs.delete(name);
      throw new Error(`the label folder ${ready.dir} was replaced while exporting (by a link or another file); not written through`);
    }
    if (!ready) {
      const made = await labelDirectory(destination, name);
      // Only folders we created are journaled (undo removes them when empty).
      if (made.created) {
        record({ type: 'mkdir', path: made.dir });
        // A moved file must not vanish with a label folder whose entry never reached the disk.
        if (move) await fsyncDir(destination);
      }
      if (made.redirected) summary.redirected.push({ label, folder: made.dir, reason: made.redirected });
      ready = { dir: made.dir, identity: made.identity, taken: new Set() };
      readyDirs.set(name, ready);
    }
    return ready;
  };

  let id = 0;
  const exportOne = async (result: SortedFile): Promise<ExportedFile> => {
    const source = result.file.path;
    const linked = (await fsp.lstat(source)).isSymbolicLink();
    if (linked && move) throw new Error('is a symbolic link; a move never takes a link (the file it points to would stay behind)');
    const before = await fsp.stat(source);
    if (!before.isFile()) throw new Error('is no longer a regular file');
    await checkInsideSources(source, realSources, opts.operation);
    if (before.size !== result.file.size) throw new Error('changed since it was indexed (size differs); index again');
    const { dir, identity, taken } = await labelDir(result.label);
    const name = path.basename(source);
    const entryId = ++id;
    const tmp = path.join(dir, tempNameFor(name, entryId));
    let intended = name;
    for (let n = 0; taken.has(intended.toLowerCase()) || (await fsp.lstat(path.join(dir, intended)).then(() => true, () => false)); n++) intended = numberedName(name, n + 1);
    const to = path.join(dir, intended);
    let placed: string | undefined;
    const abort = async (reason: string) => {
      await fsp.rm(tmp, { force: true });
      if (placed) await fsp.rm(placed, { force: true });
      // Best effort: on a full disk this line may wait; undo then finds nothing of ours on disk.
      journal.write({ type: 'aborted', id: entryId, reason });
    };
    // Journaled before the temporary file exists, so a crash at any point leaves nothing undo does
    // not know about (its random name is ours alone). Not fsynced yet: until a source is deleted,
    // losing this line costs at most a hidden temporary file; the fsync of "placed" makes it durable.
    record({ type: 'begin', id: entryId, op: opts.operation, from: source, to, tmp, sha256: result.file.sha256, size: result.file.size });
    if (!(await sameDirectory(dir, identity))) {
      await abort('label folder replaced');
      throw new Error(`the label folder ${dir} was replaced while exporting; not written through`);
    }
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), before.mode & 0o777);
    } catch (err) {
      journal.write({ type: 'aborted', id: entryId, reason: errorMessage(err) });
      throw new DestinationError(err, tmp);
    }
    // The umask trimmed the mode at creation; the copy should carry the original's permissions.
    await handle.chmod(before.mode & 0o777).catch(() => undefined);
    let copied: CopyOutcome;
    try {
      copied = await copyInto(source, handle, move, tmp);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await abort(`copy failed: ${errorMessage(err)}`);
      if (err instanceof DestinationError) throw err;
      throw new Error(`copy failed: ${errorMessage(err)}`);
    }
    await handle.close();
    const reject = async (reason: string): Promise<never> => {
      await abort(reason);
      throw new Error(reason);
    };
    if (copied.sha256 !== result.file.sha256) return reject('changed since it was indexed (content differs); index again');
    if (move && copied.readBackSha256 !== copied.sha256) return reject(`copy at ${tmp} did not verify (sha256 differs after write)`);
    try {
      if (!(await sameDirectory(dir, identity))) throw new Error(`the label folder ${dir} was replaced while exporting; not written through`);
      placed = await placeWithoutReplacing(tmp, dir, name, taken);
      // For a move, this fsync makes "begin" and "placed" durable before the source can go.
      record({ type: 'placed', id: entryId, to: placed }, move);
    } catch (err) {
      await abort(errorMessage(err));
      throw err;
    }
    if (move) {
      await fsyncDir(dir);
      try {
        const after = await fsp.lstat(source);
        if (!after.isFile() || after.size !== copied.size || after.mtimeMs !== copied.mtimeMs) throw new Error('changed while it was being moved');
        // Checked again right before the delete: a folder on the way swapped for a link since the copy must not redirect it.
        await checkInsideSources(source, realSources, 'move');
        await fsp.unlink(source);
      } catch (err) {
        return reject(`${errorMessage(err)}; the original stays, its copy was removed again`);
      }
      // Undo goes by what is on disk, so this line is a record, not a safeguard: no fsync.
      journal.write({ type: 'deleted', id: entryId });
      followInLibrary(source, placed);
    }
    return { from: source, to: placed, label: result.label, sha256: copied.sha256 };
  };

  const followInLibrary = (from: string, to: string) => {
    if (!opts.library) return;
    try {
      // The new path counts as the library's only inside a folder the user indexed and sorted from.
      const covered = (opts.sources ?? []).some((s) => isInside(to, path.resolve(s)));
      opts.library.followMove(from, covered ? to : null);
    } catch (err) {
      summary.libraryError ??= `the library still lists moved files at their old paths (${errorMessage(err)}); index again`;
    }
  };

  let done = 0;
  try {
    for (const result of opts.results) {
      if (stop) break;
      opts.signal?.throwIfAborted();
      const source = result.file.path;
      // Not inside the optional call: `f?.(done++)` skips the increment when there is no f.
      opts.onProgress?.(done, opts.results.length, source);
      done++;
      if (labelDirs.some((dir) => isInside(source, dir))) {
        summary.skippedInLabelFolders.push(source);
        continue;
      }
      try {
        summary.exported.push(await exportOne(result));
      } catch (err) {
        stop = stopFor(err);
        if (stop) {
          // The file being copied when the disk filled up was not exported; it is where it was.
          summary.failed.push({ path: source, error: `not exported: ${stop.message}` });
          break;
        }
        try {
          fail(source, errorMessage(err));
        } catch (journalErr) {
          stop = stopFor(journalErr);
          if (!stop) throw journalErr;
        }
      }
    }
  } finally {
    // Free the reserve first: the journal's last lines go into that room.
    if (reserved) await fsp.rm(reserve, { force: true });
    if (stop) {
      summary.stopped = { code: stop.code, reason: stop.message, notAttempted: opts.results.length - done };
      journal.write({ type: 'stopped', code: stop.code, reason: stop.message });
    }
    journal.write({ type: 'end', at: Date.now(), exported: summary.exported.length, failed: summary.failed.length }, true);
    if (summary.exported.length > 0) {
      try {
        summary.manifest = await writeManifest(
          destination,
          summary.exported.map((e) => ({ path: e.to, sha256: e.sha256 })),
          (file, sha256) => journal.write({ type: 'output', path: file, sha256 }, true),
        );
      } catch (err) {
        summary.failed.push({ path: path.join(destination, 'manifest-sha256.txt'), error: `manifest not written: ${errorMessage(err)}` });
      }
    }
    journal.close();
  }
  opts.onProgress?.(done, opts.results.length, '');
  return summary;
}

/** Refuses a file reached through a symbolic link that leaves the folders the user chose. */
async function checkInsideSources(source: string, realSources: readonly string[] | undefined, op: JournalOp): Promise<void> {
  const real = await fsp.realpath(source);
  if (realSources) {
    if (!realSources.some((s) => isInside(real, s))) {
      throw new Error(`its real path ${real} is outside the folders being sorted (reached through a symbolic link); not ${op === 'move' ? 'moved' : 'copied'}`);
    }
    return;
  }
  if (real !== path.resolve(source)) {
    throw new Error(`its path passes through a symbolic link (real path ${real}); not ${op === 'move' ? 'moved' : 'copied'} — sort with the source folder named to allow links inside it`);
  }
}

/**
 * Notes a results file written next to an export, so undo can remove it if it is unchanged. Given
 * the content's `sha256`, it can be called before the file is written (then a crash in between
 * leaves nothing undo does not know about).
 */
export async function recordOutput(journalFile: string, outputFile: string, opts: { sha256?: string; dataDir?: string } = {}): Promise<void> {
  const key = journalKey(opts.dataDir);
  const journal = JournalWriter.append(readJournal(journalFile, key), key);
  try {
    journal.write({ type: 'output', path: path.resolve(outputFile), sha256: opts.sha256 ?? (await sha256File(outputFile)) }, true);
  } finally {
    journal.close();
  }
}
