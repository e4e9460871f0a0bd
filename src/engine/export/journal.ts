import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError } from '../errors.js';
import { numberedName } from './names.js';

// One JSON object per line, written (and for moves fsynced) as each step happens, so after a crash
// the journal says exactly how far every file got and `undo` can finish or roll back from there.
const Op = z.enum(['copy', 'move']);
const EntrySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), version: z.literal(1), createdAt: z.number(), operation: Op, destination: z.string() }),
  /** A directory this export created (undo removes it when empty). */
  z.object({ type: z.literal('mkdir'), path: z.string() }),
  /** The target file now exists (created exclusively by us); bytes may still be partial. */
  z.object({
    type: z.literal('begin'),
    id: z.number().int(),
    op: Op,
    from: z.string(),
    to: z.string(),
    sha256: z.string(),
    size: z.number(),
  }),
  /** The target is complete, fsynced, and matches `sha256`. */
  z.object({ type: z.literal('copied'), id: z.number().int() }),
  /** Move only: the source has been deleted. */
  z.object({ type: z.literal('deleted'), id: z.number().int() }),
  /** The target was removed again during export (source changed, verification failed). */
  z.object({ type: z.literal('aborted'), id: z.number().int(), reason: z.string() }),
  z.object({ type: z.literal('failed'), path: z.string(), error: z.string() }),
  /** A results file written by this export. */
  z.object({ type: z.literal('output'), path: z.string(), sha256: z.string() }),
  z.object({ type: z.literal('end'), at: z.number(), exported: z.number(), failed: z.number() }),
  /** Undo is about to write `target` (moving a file back). */
  z.object({ type: z.literal('undo-begin'), id: z.number().int(), target: z.string() }),
  z.object({ type: z.literal('undo-done'), id: z.number().int(), outcome: z.string(), path: z.string().optional() }),
  z.object({ type: z.literal('undo-output'), path: z.string(), outcome: z.string() }),
  z.object({ type: z.literal('undo-rmdir'), path: z.string() }),
  z.object({ type: z.literal('undo-end'), at: z.number() }),
]);

export type JournalEntry = z.infer<typeof EntrySchema>;
export type JournalOp = z.infer<typeof Op>;
export type BeginEntry = Extract<JournalEntry, { type: 'begin' }>;

export class JournalWriter {
  private constructor(
    readonly file: string,
    private readonly fd: number,
  ) {}

  /** A fresh journal in `dir`: `.triagem-journal-<timestamp>.jsonl`, never replacing an older one. */
  static create(dir: string, now = new Date()): JournalWriter {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const file = path.join(dir, numberedName(`.triagem-journal-${stamp}.jsonl`, n));
      try {
        return new JournalWriter(file, fs.openSync(file, 'wx'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** Appends to an existing journal (undo records its own progress there). */
  static append(file: string): JournalWriter {
    const fd = fs.openSync(file, 'a+');
    // After a crash the last line may be cut short: start on a fresh line so ours stay readable.
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) fs.writeSync(fd, '\n');
    return new JournalWriter(file, fd);
  }

  /** Written straight to the OS (survives a crash of this process); `durable` also fsyncs (survives power loss). */
  write(entry: JournalEntry, durable = false): void {
    fs.writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (durable) fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}

/**
 * Reads a journal. A line that is not JSON at all is a write cut short by a crash: that step never
 * completed, so it is skipped. A JSON line of the wrong shape means this is not a journal we can
 * trust to undo from.
 */
export function readJournal(file: string): JournalEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new TriagemError(`cannot read journal: ${(err as Error).message}`, 'journal-unreadable', file);
  }
  const entries: JournalEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      return;
    }
    const parsed = EntrySchema.safeParse(json);
    if (!parsed.success) throw new TriagemError(`line ${i + 1} is not a valid journal entry`, 'journal-invalid', file);
    entries.push(parsed.data);
  });
  if (entries[0]?.type !== 'header') throw new TriagemError('not a Triagem export journal', 'journal-invalid', file);
  return entries;
}
