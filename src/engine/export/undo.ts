import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import type { Library } from '../library/library.js';
import { copyInto, createExclusive, fsyncDir, isInside, isPrefixOf, realPathOf, sha256IfExists } from './files.js';
import { type BeginEntry, type JournalOp, JournalWriter, readJournal } from './journal.js';
import { journalKey } from './journal-key.js';

export type UndoOutcome =
  /** An exported copy was deleted (it was still byte-identical to what the export wrote). */
  | 'removed'
  /** A moved file is back at its original path. */
  | 'restored'
  /** A moved file is back in its original folder under a new name: the original path was taken. */
  | 'restored-beside'
  /** Nothing left to do (an earlier undo, or the copy is already gone and the original is intact). */
  | 'already-undone'
  /** Left in place; see `detail`. */
  | 'kept'
  /** The exported file is gone and the original is not back: nothing can be restored. */
  | 'missing';

export interface UndoItem {
  from: string;
  to: string;
  outcome: UndoOutcome;
  /** Where a moved file now lies (restored / restored-beside). */
  restoredTo?: string;
  detail?: string;
}

export interface UndoSummary {
  journal: string;
  operation: JournalOp;
  items: UndoItem[];
  /** Every file undo deleted: copies, partial copies, outputs, the space reserve. */
  deleted: string[];
  removedDirs: string[];
  keptDirs: string[];
  removedOutputs: string[];
  /** Outcomes that need a person's attention: kept, missing, restored-beside, modified files. */
  problems: UndoItem[];
  /** False when undo's own journal lines could not all be written (destination full); rerun later to record them. */
  journalComplete: boolean;
}

export interface UndoOptions {
  /** User data folder with the journal key (default: the app's). */
  dataDir?: string;
  /** Only journals of exports from this library are accepted (the bridge's rule). */
  library?: Library;
}

// Undo decides from what is on disk now (is the original intact? is our file still what we
// wrote?), not from how far the journal says the export got: the last journal lines before a
// crash may be missing, the files never lie.
interface EntryState {
  begin: BeginEntry;
  placedAt?: string;
  aborted: boolean;
  undoTarget?: string;
  undone: boolean;
}

/** Paths the journal may act on: its own destination and the source folders it recorded, by real path. */
interface Bounds {
  destination: string;
  sources: string[];
}

class OutOfBounds extends Error {}

/**
 * Rolls an export back from its journal: copies are deleted only while still byte-identical to
 * what was written (and while the original is still there), moved files are copied back, verified
 * and only then deleted from the destination. A taken original path is never overwritten. Undo
 * records its own steps in the journal, so running it again, or after a crash, is safe.
 *
 * It trusts nothing it cannot check: the journal must be signed with this user's key (journal.ts),
 * lie in the destination it records, and every path it touches must be, by real path, inside that
 * destination (what it deletes) or inside the source folders it recorded (what it restores). It
 * never deletes through a symbolic link. On a full destination, deleting copies still works: its
 * journal lines wait until the deletions have made room.
 */
export async function undoExport(journalFile: string, opts: UndoOptions = {}): Promise<UndoSummary> {
  const file = path.resolve(journalFile);
  const key = journalKey(opts.dataDir);
  const journal = readJournal(file, key);
  const { header, entries } = journal;
  if (opts.library && header.library !== opts.library.file) {
    throw new TriagemError('this journal is not from an export of the open library; undo it from where it was made', 'journal-unknown', file);
  }
  const bounds: Bounds = { destination: await realPathOf(header.destination), sources: await Promise.all(header.sources.map((s) => realPathOf(s))) };
  if ((await realPathOf(path.dirname(file))) !== bounds.destination) {
    throw new TriagemError(`the journal is not in the folder it was written for (${header.destination})`, 'journal-invalid', file);
  }

  const states = new Map<number, EntryState>();
  const dirs: string[] = [];
  const reserves: { path: string; size: number }[] = [];
  const outputs = new Map<string, string>();
  const undoneOutputs = new Set<string>();
  for (const e of entries) {
    if (e.type === 'begin') states.set(e.id, { begin: e, aborted: false, undone: false });
    else if (e.type === 'mkdir') dirs.push(e.path);
    else if (e.type === 'reserve') reserves.push(e);
    else if (e.type === 'output') outputs.set(e.path, e.sha256);
    else if (e.type === 'undo-output') undoneOutputs.add(e.path);
    else if ('id' in e) {
      const s = states.get(e.id);
      if (!s) throw new TriagemError(`entry for unknown id ${e.id}`, 'journal-invalid', file);
      if (e.type === 'placed') s.placedAt = e.to;
      else if (e.type === 'aborted') s.aborted = true;
      else if (e.type === 'undo-begin') s.undoTarget = e.target;
      else if (e.type === 'undo-done') s.undone = true;
    }
  }

  const writer = JournalWriter.append(journal, key);
  const deleted: string[] = [];
  const ctx: Ctx = { bounds, journal: writer, deleted, library: opts.library };
  const items: UndoItem[] = [];
  let journalComplete = false;
  try {
    const retry: EntryState[] = [];
    const undoState = async (state: EntryState, last: boolean): Promise<UndoItem | undefined> => {
      const { from, to } = state.begin;
      if (state.undone) return { from, to: state.placedAt ?? to, outcome: 'already-undone' };
      let item: UndoItem;
      try {
        item = await undoOne(state, ctx);
      } catch (err) {
        if (err instanceof NoRoom && !last) {
          retry.push(state);
          return undefined;
        }
        item = { from, to: state.placedAt ?? to, outcome: 'kept', detail: err instanceof OutOfBounds ? err.message : errorMessage(err) };
      }
      if (item.outcome !== 'kept' && item.outcome !== 'missing') {
        writer.write({ type: 'undo-done', id: state.begin.id, outcome: item.outcome, ...(item.restoredTo ? { path: item.restoredTo } : {}) }, true);
      }
      return item;
    };
    for (const state of [...states.values()].reverse()) {
      // Aborted entries still get a look: a partial copy of theirs may be left after a crash.
      const item = await undoState(state, false);
      if (item && !(state.aborted && item.outcome === 'already-undone')) items.push(item);
    }
    // Moves put off because their journal line found no room: the copies removed since made some.
    for (const state of retry) {
      const item = await undoState(state, true);
      if (item) items.push(item);
    }

    const removedOutputs: string[] = [];
    for (const [output, sha] of outputs) {
      if (undoneOutputs.has(output)) continue;
      try {
        if (!(await insideDestination(output, bounds))) continue;
        if ((await sha256IfExists(output)) === sha && (await unlinkPlainFile(output, ctx))) {
          removedOutputs.push(output);
          writer.write({ type: 'undo-output', path: output, outcome: 'removed' });
        }
      } catch {
        // An output that cannot be checked or removed is left as it is.
      }
    }
    for (const r of reserves) {
      if (!(await insideDestination(r.path, bounds)) || !path.basename(r.path).startsWith('.triagem-reserve-')) continue;
      const st = await fsp.lstat(r.path).catch(() => undefined);
      if (st?.isFile() && st.size === r.size) await unlinkPlainFile(r.path, ctx);
    }

    const removedDirs: string[] = [];
    const keptDirs: string[] = [];
    for (const dir of [...dirs].reverse()) {
      if (!(await insideDestination(dir, bounds)) || dir === header.destination) continue;
      const st = await fsp.lstat(dir).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      try {
        await fsp.rmdir(dir);
        removedDirs.push(dir);
        writer.write({ type: 'undo-rmdir', path: dir });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') keptDirs.push(dir);
        else if (code !== 'ENOENT') throw err;
      }
    }
    writer.write({ type: 'undo-end', at: Date.now() });
    const problems = items.filter(
      (i) => i.outcome === 'kept' || i.outcome === 'missing' || i.outcome === 'restored-beside' || i.detail !== undefined,
    );
    journalComplete = writer.flush();
    return { journal: file, operation: header.operation, items, deleted, removedDirs, keptDirs, removedOutputs, problems, journalComplete };
  } finally {
    writer.close();
  }
}

interface Ctx {
  bounds: Bounds;
  journal: JournalWriter;
  deleted: string[];
  library?: Library;
}

/** The undo-begin line could not be made durable (no room); the item is retried after others freed space. */
class NoRoom extends Error {}

async function insideDestination(p: string, bounds: Bounds): Promise<boolean> {
  return isInside(await realPathOf(p), bounds.destination);
}

async function insideSources(p: string, bounds: Bounds): Promise<boolean> {
  const real = await realPathOf(p);
  return bounds.sources.some((s) => isInside(real, s));
}

/** Deletes `file` if it is a plain file (not a link) inside the destination; records it. */
async function unlinkPlainFile(file: string, ctx: Ctx): Promise<boolean> {
  if (!(await insideDestination(file, ctx.bounds))) throw new OutOfBounds(`${file} is outside the export's destination; not touched`);
  const st = await fsp.lstat(file).catch(() => undefined);
  if (!st) return false;
  if (!st.isFile()) throw new OutOfBounds(`${file} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a plain file'} now; not touched`);
  await fsp.unlink(file);
  ctx.deleted.push(file);
  return true;
}

/** sha256 of a plain file (a link counts as something else: undefined-like 'link'). */
async function plainSha(file: string): Promise<string | undefined> {
  const st = await fsp.lstat(file).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile()) return 'not-a-plain-file';
  return sha256IfExists(file);
}

async function undoOne(state: EntryState, ctx: Ctx): Promise<UndoItem> {
  const { from, sha256: expected, op, tmp } = state.begin;
  const { bounds } = ctx;
  const to = state.placedAt ?? state.begin.to;
  for (const p of [to, tmp, state.begin.to]) {
    if (!(await insideDestination(p, bounds))) throw new OutOfBounds(`${p} is outside the export's destination ${bounds.destination}; not touched`);
  }
  if (!(await insideSources(from, bounds))) throw new OutOfBounds(`${from} is outside the source folders the export recorded; not touched`);

  // The original may be a link inside the sources (copies follow those); its real path was checked above.
  const sourceIntact = (await sha256IfExists(from).catch(() => undefined)) === expected;

  // A temporary copy left by a crash before it was put in place: ours if it holds the original's
  // bytes, or the start of them.
  const tmpSha = await plainSha(tmp);
  if (tmpSha !== undefined && (tmpSha === expected || (sourceIntact && (await isPrefixOf(tmp, from))))) await unlinkPlainFile(tmp, ctx);
  if (state.aborted) return { from, to, outcome: 'already-undone' };

  // The original is where it was: all that can be left of the export is our file at `to`.
  if (sourceIntact) {
    const toSha = await plainSha(to);
    if (toSha === undefined) return { from, to, outcome: 'already-undone' };
    if (toSha === expected) {
      await unlinkPlainFile(to, ctx);
      return { from, to, outcome: 'removed' };
    }
    if (state.undoTarget && state.undoTarget !== from && (await plainSha(state.undoTarget)) === toSha) {
      // An earlier undo restored a modified file beside the original and crashed before cleaning up.
      await unlinkPlainFile(to, ctx);
      return { from, to, outcome: 'restored-beside', restoredTo: state.undoTarget, detail: 'modified after export' };
    }
    return { from, to, outcome: 'kept', detail: 'changed after export; left in place' };
  }

  // A copy whose original is gone or changed may be the last copy of those bytes: keep it.
  if (op === 'copy') {
    if ((await plainSha(to)) === undefined) return { from, to, outcome: 'already-undone', detail: 'original no longer at its path' };
    return { from, to, outcome: 'kept', detail: 'the original is no longer at its path (or changed); copy left in place' };
  }

  const toSha = await plainSha(to);
  if (toSha === 'not-a-plain-file') throw new OutOfBounds(`${to} is not a plain file now; not touched`);
  if (state.undoTarget) {
    if (path.dirname(state.undoTarget) !== path.dirname(from)) throw new OutOfBounds(`${state.undoTarget} is not beside the original; not touched`);
    // An earlier undo of this move was interrupted: finish it or clear its partial copy.
    const targetSha = await plainSha(state.undoTarget);
    if (targetSha !== undefined && targetSha !== 'not-a-plain-file') {
      if (toSha === undefined) {
        if (targetSha === expected) return restored(ctx, from, to, state.undoTarget);
      } else if (targetSha === toSha) {
        await unlinkPlainFile(to, ctx);
        return restored(ctx, from, to, state.undoTarget, toSha !== expected);
      } else if (await isPrefixOf(state.undoTarget, to)) {
        await fsp.unlink(state.undoTarget);
        ctx.deleted.push(state.undoTarget);
      }
    }
  }
  if (toSha === undefined) {
    return { from, to, outcome: 'missing', detail: 'the moved file is no longer in the destination; nothing to restore' };
  }

  const dir = path.dirname(from);
  await fsp.mkdir(dir, { recursive: true });
  if (!(await insideSources(dir, bounds))) throw new OutOfBounds(`${dir} is outside the source folders the export recorded; not touched`);
  const mode = (await fsp.lstat(to)).mode & 0o777;
  const created = await createExclusive(dir, path.basename(from), undefined, mode);
  // Durable before a byte is written, so a crash mid-copy leaves a partial file undo recognises.
  if (!ctx.journal.write({ type: 'undo-begin', id: state.begin.id, target: created.path }, true)) {
    await created.handle.close();
    await fsp.unlink(created.path);
    throw new NoRoom('no room in the destination to record the undo; free some space and run undo again');
  }
  let copied;
  try {
    copied = await copyInto(to, created.handle, true);
  } finally {
    await created.handle.close();
  }
  if (copied.sha256 !== toSha || copied.readBackSha256 !== toSha) {
    await fsp.unlink(created.path);
    throw new Error(`copy back to ${created.path} did not verify; the file stays at ${to}`);
  }
  await fsyncDir(dir);
  await unlinkPlainFile(to, ctx);
  return restored(ctx, from, to, created.path, toSha !== expected);
}

function restored(ctx: Ctx, from: string, to: string, target: string, modified = false): UndoItem {
  const item: UndoItem = { from, to, outcome: target === from ? 'restored' : 'restored-beside', restoredTo: target };
  if (target !== from) item.detail = `${from} is taken by another file; restored beside it`;
  if (modified) item.detail = `${item.detail ? `${item.detail}; ` : ''}changed after export, restored as it is now`;
  if (ctx.library) {
    try {
      // The library row went with the file (or was marked absent at the old path); it comes back
      // with it, unless the bytes changed since, which only an index can describe.
      ctx.library.followMove(to, modified ? null : target);
      ctx.library.followMove(from, modified ? null : target);
    } catch {
      // The next index of the folder sets the rows right.
    }
  }
  return item;
}
