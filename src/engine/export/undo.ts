import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { copyInto, createExclusive, exists, fsyncDir, isPrefixOf, sha256IfExists } from './files.js';
import { type BeginEntry, type JournalEntry, type JournalOp, JournalWriter, readJournal } from './journal.js';

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
  removedDirs: string[];
  keptDirs: string[];
  removedOutputs: string[];
  /** Outcomes that need a person's attention: kept, missing, restored-beside, modified files. */
  problems: UndoItem[];
}

// Undo decides from what is on disk now (is the original intact? is our file still what we
// wrote?), not from how far the journal says the export got: the last journal lines before a
// crash may be missing, the files never lie.
interface EntryState {
  begin: BeginEntry;
  aborted: boolean;
  undoTarget?: string;
  undone: boolean;
}

/**
 * Rolls an export back from its journal: copies are deleted only while still byte-identical to
 * what was written (and while the original is still there), moved files are copied back, verified
 * and only then deleted from the destination. A taken original path is never overwritten. Undo
 * records its own steps in the journal, so running it again, or after a crash, is safe.
 */
export async function undoExport(journalFile: string): Promise<UndoSummary> {
  const file = path.resolve(journalFile);
  const entries = readJournal(file);
  const header = entries[0] as Extract<JournalEntry, { type: 'header' }>;
  const states = new Map<number, EntryState>();
  const dirs: string[] = [];
  const outputs = new Map<string, string>();
  const undoneOutputs = new Set<string>();
  for (const e of entries) {
    if (e.type === 'begin') states.set(e.id, { begin: e, aborted: false, undone: false });
    else if (e.type === 'mkdir') dirs.push(e.path);
    else if (e.type === 'output') outputs.set(e.path, e.sha256);
    else if (e.type === 'undo-output') undoneOutputs.add(e.path);
    else if ('id' in e) {
      const s = states.get(e.id);
      if (!s) throw new TriagemError(`entry for unknown id ${e.id}`, 'journal-invalid', file);
      if (e.type === 'aborted') s.aborted = true;
      else if (e.type === 'undo-begin') s.undoTarget = e.target;
      else if (e.type === 'undo-done') s.undone = true;
    }
  }

  const journal = JournalWriter.append(file);
  const items: UndoItem[] = [];
  try {
    for (const state of [...states.values()].reverse()) {
      if (state.aborted) continue;
      const { from, to } = state.begin;
      let item: UndoItem;
      if (state.undone) {
        item = { from, to, outcome: 'already-undone' };
      } else {
        try {
          item = await undoOne(state, journal);
        } catch (err) {
          item = { from, to, outcome: 'kept', detail: errorMessage(err) };
        }
        if (item.outcome !== 'kept' && item.outcome !== 'missing') {
          journal.write({ type: 'undo-done', id: state.begin.id, outcome: item.outcome, path: item.restoredTo }, true);
        }
      }
      items.push(item);
    }

    const removedOutputs: string[] = [];
    for (const [output, sha] of outputs) {
      if (undoneOutputs.has(output)) continue;
      if ((await sha256IfExists(output)) === sha) {
        await fsp.unlink(output);
        removedOutputs.push(output);
        journal.write({ type: 'undo-output', path: output, outcome: 'removed' });
      }
    }

    const removedDirs: string[] = [];
    const keptDirs: string[] = [];
    for (const dir of [...dirs].reverse()) {
      try {
        await fsp.rmdir(dir);
        removedDirs.push(dir);
        journal.write({ type: 'undo-rmdir', path: dir });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') keptDirs.push(dir);
        else if (code !== 'ENOENT') throw err;
      }
    }
    journal.write({ type: 'undo-end', at: Date.now() });
    const problems = items.filter(
      (i) => i.outcome === 'kept' || i.outcome === 'missing' || i.outcome === 'restored-beside' || i.detail !== undefined,
    );
    return { journal: file, operation: header.operation, items, removedDirs, keptDirs, removedOutputs, problems };
  } finally {
    journal.close();
  }
}

async function undoOne(state: EntryState, journal: JournalWriter): Promise<UndoItem> {
  const { from, to, sha256: expected, op } = state.begin;
  const sourceIntact = (await sha256IfExists(from)) === expected;

  // The original is where it was: all that can be left of the export is our file at `to`.
  if (sourceIntact) {
    const toSha = await sha256IfExists(to);
    if (toSha === undefined) return { from, to, outcome: 'already-undone' };
    // A copy cut short (crash, power loss before the OS wrote it out) is a prefix of the original:
    // still only what the export wrote, so it goes too.
    if (toSha === expected || (await isPrefixOf(to, from))) {
      await fsp.unlink(to);
      return { from, to, outcome: 'removed' };
    }
    if (state.undoTarget && state.undoTarget !== from && (await sha256IfExists(state.undoTarget)) === toSha) {
      // An earlier undo restored a modified file beside the original and crashed before cleaning up.
      await fsp.unlink(to);
      return { from, to, outcome: 'restored-beside', restoredTo: state.undoTarget, detail: 'modified after export' };
    }
    return { from, to, outcome: 'kept', detail: 'changed after export; left in place' };
  }

  // A copy whose original is gone or changed may be the last copy of those bytes: keep it.
  if (op === 'copy') {
    if (!(await exists(to))) return { from, to, outcome: 'already-undone', detail: 'original no longer at its path' };
    return { from, to, outcome: 'kept', detail: 'the original is no longer at its path (or changed); copy left in place' };
  }

  const toSha = await sha256IfExists(to);
  if (state.undoTarget) {
    // An earlier undo of this move was interrupted: finish it or clear its partial copy.
    const targetSha = await sha256IfExists(state.undoTarget);
    if (targetSha !== undefined) {
      if (toSha === undefined) {
        if (targetSha === expected) return restoredItem(from, to, state.undoTarget);
      } else if (targetSha === toSha) {
        await fsp.unlink(to);
        return restoredItem(from, to, state.undoTarget, toSha !== expected);
      } else if (await isPrefixOf(state.undoTarget, to)) {
        await fsp.unlink(state.undoTarget);
      }
    }
  }
  if (toSha === undefined) {
    return { from, to, outcome: 'missing', detail: 'the moved file is no longer in the destination; nothing to restore' };
  }

  const dir = path.dirname(from);
  await fsp.mkdir(dir, { recursive: true });
  const mode = (await fsp.stat(to)).mode & 0o777;
  const created = await createExclusive(dir, path.basename(from), undefined, mode);
  journal.write({ type: 'undo-begin', id: state.begin.id, target: created.path }, true);
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
  await fsp.unlink(to);
  return restoredItem(from, to, created.path, toSha !== expected);
}

function restoredItem(from: string, to: string, target: string, modified = false): UndoItem {
  const item: UndoItem = { from, to, outcome: target === from ? 'restored' : 'restored-beside', restoredTo: target };
  if (target !== from) item.detail = `${from} is taken by another file; restored beside it`;
  if (modified) item.detail = `${item.detail ? `${item.detail}; ` : ''}changed after export, restored as it is now`;
  return item;
}
