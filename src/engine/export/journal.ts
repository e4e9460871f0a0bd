import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError } from '../errors.js';
import { numberedName } from './names.js';

// One JSON object per line, written (and for moves fsynced) as each step happens, so after a crash
// the journal says exactly how far every file got and `undo` can finish or roll back from there.
//
// Every line carries `mac`: HMAC-SHA256 under the user's journal key (journal-key.ts) of the
// previous line's mac and this line's text. A line someone edited, inserted or took from elsewhere
// breaks the chain, and undo refuses the whole journal; cutting lines off the end (what a crash
// does) only tells undo less, which is safe because undo decides from what is on disk.
const Op = z.enum(['copy', 'move']);
const EntrySchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('header'),
      version: z.literal(2),
      /** Random; makes each journal's chain unique. */
      journal: z.string(),
      createdAt: z.number(),
      operation: Op,
      destination: z.string(),
      /** Folders files were taken from; undo writes nothing outside these and `destination`. */
      sources: z.array(z.string()),
      /** The library the export came from, when there was one (the bridge undoes only its own). */
      library: z.string().optional(),
    })
    .strict(),
  /** A directory this export created (undo removes it when empty). */
  z.object({ type: z.literal('mkdir'), path: z.string() }).strict(),
  /** Space set aside so the journal can always be finished, even on a full disk. */
  z.object({ type: z.literal('reserve'), path: z.string(), size: z.number().int() }).strict(),
  /** `tmp` now exists (created exclusively by us) and will be filled, then placed at `to` or a numbered twin. */
  z
    .object({
      type: z.literal('begin'),
      id: z.number().int(),
      op: Op,
      from: z.string(),
      to: z.string(),
      tmp: z.string(),
      sha256: z.string(),
      size: z.number(),
    })
    .strict(),
  /** The copy is complete, verified and (for a move) fsynced at `to`. */
  z.object({ type: z.literal('placed'), id: z.number().int(), to: z.string() }).strict(),
  /** Move only: the source has been deleted. */
  z.object({ type: z.literal('deleted'), id: z.number().int() }).strict(),
  /** The copy was removed again during export (source changed, verification failed, disk full). */
  z.object({ type: z.literal('aborted'), id: z.number().int(), reason: z.string() }).strict(),
  z.object({ type: z.literal('failed'), path: z.string(), error: z.string() }).strict(),
  /** A file written by this export besides the copies (manifest, results CSV). */
  z.object({ type: z.literal('output'), path: z.string(), sha256: z.string() }).strict(),
  /** The export stopped before the end (destination full or failing). */
  z.object({ type: z.literal('stopped'), code: z.string(), reason: z.string() }).strict(),
  z.object({ type: z.literal('end'), at: z.number(), exported: z.number(), failed: z.number() }).strict(),
  /** Undo is about to write `target` (moving a file back). */
  z.object({ type: z.literal('undo-begin'), id: z.number().int(), target: z.string() }).strict(),
  z.object({ type: z.literal('undo-done'), id: z.number().int(), outcome: z.string(), path: z.string().optional() }).strict(),
  z.object({ type: z.literal('undo-output'), path: z.string(), outcome: z.string() }).strict(),
  z.object({ type: z.literal('undo-rmdir'), path: z.string() }).strict(),
  z.object({ type: z.literal('undo-end'), at: z.number() }).strict(),
]);

export type JournalEntry = z.infer<typeof EntrySchema>;
export type JournalOp = z.infer<typeof Op>;
export type JournalHeader = Extract<JournalEntry, { type: 'header' }>;
export type BeginEntry = Extract<JournalEntry, { type: 'begin' }>;

const MAC_SUFFIX = /,"mac":"([0-9a-f]{64})"\}$/;

function mac(key: Buffer, previous: string, text: string): string {
  return createHmac('sha256', key).update(previous).update('\n').update(text).digest('hex');
}

/** Errors that mean "no room right now": the bytes stay queued and are written once space frees. */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Appends signed lines. Lines are written whole or not at all: when the disk is full the rest of a
 * line waits in memory and goes out with the next write (undo deleting copies frees space), and a
 * line still unfinished at `close` is cut off the file again, so no reader ever meets half a line.
 */
export class JournalWriter {
  private queued: Buffer = Buffer.alloc(0);
  /** File size up to the last complete line on disk. */
  private complete: number;
  /** Bytes of an unfinished line already on disk past `complete`. */
  private partial = 0;
  private lastError: NodeJS.ErrnoException | undefined;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly key: Buffer,
    private previousMac: string,
  ) {
    this.complete = fs.fstatSync(fd).size;
  }

  /**
   * A fresh journal in `dir`: `.triagem-journal-<timestamp>.jsonl`, never replacing an older one
   * (exclusive create, which also refuses a symbolic link at that name). The header is written and
   * fsynced here; a destination with no room for even that fails at once.
   */
  static create(dir: string, header: Omit<JournalHeader, 'type' | 'version' | 'journal'>, key: Buffer, now = new Date()): JournalWriter {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const file = path.join(dir, numberedName(`.triagem-journal-${stamp}.jsonl`, n));
      let fd: number;
      try {
        fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | (fs.constants.O_NOFOLLOW ?? 0), 0o644);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      const writer = new JournalWriter(file, fd, key, '');
      const full: JournalHeader = { type: 'header', version: 2, journal: randomBytes(16).toString('hex'), ...header };
      if (!writer.write(full, true)) {
        const error = writer.error;
        writer.close();
        fs.rmSync(file, { force: true });
        throw error ?? new Error('cannot write the journal');
      }
      return writer;
    }
  }

  /** Appends to an existing journal whose signed lines `readJournal` has checked (undo records its own progress there). */
  static append(journal: ReadJournal, key: Buffer): JournalWriter {
    const fd = fs.openSync(journal.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | (fs.constants.O_NOFOLLOW ?? 0));
    const writer = new JournalWriter(journal.file, fd, key, journal.lastMac);
    // After a crash the last line may be cut short: start on a fresh line so ours stay readable.
    if (!journal.endsWithNewline) writer.queue(Buffer.from('\n'));
    writer.flush();
    return writer;
  }

  /** The last write error, when something is still queued. */
  get error(): NodeJS.ErrnoException | undefined {
    return this.queued.length > 0 ? this.lastError : undefined;
  }

  /**
   * Queues one signed line and writes what it can straight to the OS (survives a crash of this
   * process); `durable` also fsyncs (survives power loss). True when the line is on disk (and
   * fsynced, if asked); false when it waits for space. Errors other than "no space" throw.
   */
  write(entry: JournalEntry, durable = false): boolean {
    const text = JSON.stringify(entry);
    const signature = mac(this.key, this.previousMac, text);
    this.previousMac = signature;
    this.queue(Buffer.from(`${text.slice(0, -1)},"mac":"${signature}"}\n`));
    if (!this.flush()) return false;
    if (!durable) return true;
    try {
      fs.fsyncSync(this.fd);
      return true;
    } catch (err) {
      if (!NO_SPACE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      this.lastError = err as NodeJS.ErrnoException;
      return false;
    }
  }

  private queue(bytes: Buffer): void {
    this.queued = this.queued.length ? Buffer.concat([this.queued, bytes]) : bytes;
  }

  /** Writes queued bytes; true when none are left. */
  flush(): boolean {
    while (this.queued.length > 0) {
      let n: number;
      try {
        n = fs.writeSync(this.fd, this.queued);
      } catch (err) {
        if (!NO_SPACE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        this.lastError = err as NodeJS.ErrnoException;
        return false;
      }
      const newline = this.queued.subarray(0, n).lastIndexOf(0x0a);
      // Everything up to the last newline written is whole lines; what follows is a line in progress.
      if (newline >= 0) {
        this.complete += this.partial + newline + 1;
        this.partial = n - newline - 1;
      } else {
        this.partial += n;
      }
      this.queued = this.queued.subarray(n);
    }
    return true;
  }

  /** Writes what it can, cuts an unfinished line back off the file, fsyncs and closes. True when every line made it. */
  close(): boolean {
    let whole = false;
    try {
      whole = this.flush();
      if (!whole && this.partial > 0) fs.ftruncateSync(this.fd, this.complete);
      try {
        fs.fsyncSync(this.fd);
      } catch {
        // A journal that cannot be fsynced on a failing disk is still the best record there is.
      }
    } finally {
      fs.closeSync(this.fd);
    }
    return whole;
  }
}

export interface ReadJournal {
  file: string;
  header: JournalHeader;
  entries: JournalEntry[];
  /** mac of the last signed line, where an appended line continues the chain. */
  lastMac: string;
  endsWithNewline: boolean;
}

/**
 * Reads a journal and checks every line's signature. A line that is not JSON at all is a write cut
 * short by a crash: that step never completed, so it is skipped. A JSON line that is not signed
 * with this user's key, or does not continue the chain, means the journal was not written as it
 * is by Triagem on this computer: undo must not act on it.
 */
export function readJournal(file: string, key: Buffer): ReadJournal {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    try {
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ELOOP' ? 'is a symbolic link' : e.message;
    throw new TriagemError(`cannot read journal: ${reason}`, 'journal-unreadable', file);
  }
  const entries: JournalEntry[] = [];
  let previous = '';
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      JSON.parse(line);
    } catch {
      return;
    }
    const m = MAC_SUFFIX.exec(line);
    const signed = m ? `${line.slice(0, m.index)}}` : undefined;
    const expected = signed !== undefined ? mac(key, previous, signed) : undefined;
    if (!m || !expected || !timingSafeEqual(Buffer.from(m[1], 'hex'), Buffer.from(expected, 'hex'))) {
      throw new TriagemError(
        `line ${i + 1} is not signed by Triagem on this computer, or the journal was edited; undo will not act on it`,
        'journal-tampered',
        file,
      );
    }
    const parsed = EntrySchema.safeParse(JSON.parse(signed!));
    if (!parsed.success) throw new TriagemError(`line ${i + 1} is not a valid journal entry`, 'journal-invalid', file);
    previous = m[1];
    entries.push(parsed.data);
  });
  const header = entries[0];
  if (header?.type !== 'header') throw new TriagemError('not a Triagem export journal', 'journal-invalid', file);
  if (entries.slice(1).some((e) => e.type === 'header')) throw new TriagemError('journal holds two headers', 'journal-invalid', file);
  return { file, header, entries, lastMac: previous, endsWithNewline: text.length === 0 || text.endsWith('\n') };
}
