import fsp from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { UNSURE_LABEL } from '../sort/labels.js';
import type { SortedFile } from '../sort/sort.js';
import { type CopyOutcome, copyInto, createExclusive, fsyncDir, isInside, sha256File } from './files.js';
import { JournalWriter, type JournalOp } from './journal.js';
import { labelFolders } from './names.js';

export type ExportOperation = JournalOp;

export interface ExportOptions {
  results: readonly SortedFile[];
  /** The labels of the sort run, in order; fixes each label's folder name. */
  labels: readonly string[];
  destination: string;
  operation: ExportOperation;
  onProgress?: (done: number, total: number, current: string) => void;
  signal?: AbortSignal;
}

export interface ExportedFile {
  from: string;
  to: string;
  label: string;
}

export interface ExportFailure {
  path: string;
  error: string;
}

export interface ExportSummary {
  journal: string;
  exported: ExportedFile[];
  failed: ExportFailure[];
  /** Files already inside one of this export's label folders (an earlier export), left where they are. */
  skippedInLabelFolders: string[];
}

/**
 * Copies or moves sorted files into `<destination>/<label folder>/`. Never overwrites: a taken name
 * gets ` (n)` before the extension. A move deletes the source only after the copy is fsynced and
 * its bytes, read back, hash to the library's sha256; a source that changed since indexing is left
 * alone and reported. Every step is journaled for `undoExport`.
 */
export async function exportSorted(opts: ExportOptions): Promise<ExportSummary> {
  const destination = path.resolve(opts.destination);
  await fsp.mkdir(destination, { recursive: true });
  const realDestination = await fsp.realpath(destination);
  const move = opts.operation === 'move';
  const folders = labelFolders(opts.labels.includes(UNSURE_LABEL) ? opts.labels : [...opts.labels, UNSURE_LABEL]);
  // Both spellings: library paths may come through a symlink (macOS /tmp → /private/tmp).
  const labelDirs = [...folders.values()].flatMap((name) => [path.join(destination, name), path.join(realDestination, name)]);
  const journal = JournalWriter.create(destination);
  journal.write(
    { type: 'header', version: 1, createdAt: Date.now(), operation: opts.operation, destination },
    true,
  );

  const exported: ExportedFile[] = [];
  const failed: ExportFailure[] = [];
  const skippedInLabelFolders: string[] = [];
  const readyDirs = new Map<string, Set<string>>();
  const fail = (file: string, error: string) => {
    failed.push({ path: file, error });
    journal.write({ type: 'failed', path: file, error });
  };

  // Creates a label folder on first use; only folders we created are journaled (undo removes them).
  const labelDir = async (label: string): Promise<{ dir: string; taken: Set<string> }> => {
    const name = folders.get(label) ?? folders.get(UNSURE_LABEL)!;
    const dir = path.join(destination, name);
    let taken = readyDirs.get(dir);
    if (!taken) {
      try {
        await fsp.mkdir(dir);
        journal.write({ type: 'mkdir', path: dir });
        // A moved file must not vanish with a label folder whose entry never reached the disk.
        if (move) await fsyncDir(destination);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!(await fsp.stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a folder`);
      }
      taken = new Set();
      readyDirs.set(dir, taken);
    }
    return { dir, taken };
  };

  let id = 0;
  const exportOne = async (result: SortedFile): Promise<ExportedFile> => {
    const source = result.file.path;
    const before = await fsp.stat(source);
    if (!before.isFile()) throw new Error('is no longer a regular file');
    if (before.size !== result.file.size) throw new Error('changed since it was indexed (size differs); index again');
    const { dir, taken } = await labelDir(result.label);
    const created = await createExclusive(dir, path.basename(source), taken, before.mode & 0o777);
    const to = created.path;
    const entryId = ++id;
    // Journaled only once the exclusive create succeeded, so undo never mistakes someone else's
    // file at that name for ours. Not fsynced yet: until a source is deleted, losing this line
    // costs at most an orphan copy; the fsync before the delete below makes it durable.
    journal.write({ type: 'begin', id: entryId, op: opts.operation, from: source, to, sha256: result.file.sha256, size: result.file.size });
    const abort = async (reason: string): Promise<never> => {
      await fsp.rm(to, { force: true });
      journal.write({ type: 'aborted', id: entryId, reason });
      throw new Error(reason);
    };
    let copied: CopyOutcome;
    try {
      copied = await copyInto(source, created.handle, move);
    } catch (err) {
      await created.handle.close().catch(() => undefined);
      return abort(`copy failed: ${errorMessage(err)}`);
    }
    await created.handle.close();
    if (copied.sha256 !== result.file.sha256) return abort('changed since it was indexed (content differs); index again');
    if (move && copied.readBackSha256 !== copied.sha256) return abort(`copy at ${to} did not verify (sha256 differs after write)`);
    // For a move, this fsync makes "begin" and "copied" durable before the source can go.
    journal.write({ type: 'copied', id: entryId }, move);
    if (move) {
      await fsyncDir(dir);
      const after = await fsp.stat(source);
      if (after.size !== copied.size || after.mtimeMs !== copied.mtimeMs) return abort('changed while it was being moved');
      await fsp.unlink(source);
      // Undo goes by what is on disk, so this line is a record, not a safeguard: no fsync.
      journal.write({ type: 'deleted', id: entryId });
    }
    return { from: source, to, label: result.label };
  };

  let done = 0;
  try {
    for (const result of opts.results) {
      opts.signal?.throwIfAborted();
      const source = result.file.path;
      opts.onProgress?.(done++, opts.results.length, source);
      if (labelDirs.some((dir) => isInside(source, dir))) {
        skippedInLabelFolders.push(source);
        continue;
      }
      try {
        exported.push(await exportOne(result));
      } catch (err) {
        fail(source, errorMessage(err));
      }
    }
  } finally {
    journal.write({ type: 'end', at: Date.now(), exported: exported.length, failed: failed.length });
    journal.close();
  }
  opts.onProgress?.(done, opts.results.length, '');
  return { journal: journal.file, exported, failed, skippedInLabelFolders };
}

/** Notes a results file written next to an export, so undo can remove it if it is unchanged. */
export async function recordOutput(journalFile: string, outputFile: string): Promise<void> {
  const journal = JournalWriter.append(journalFile);
  try {
    journal.write({ type: 'output', path: path.resolve(outputFile), sha256: await sha256File(outputFile) });
  } finally {
    journal.close();
  }
}
