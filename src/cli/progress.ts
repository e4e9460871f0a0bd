// The one progress line of the CLI (indexing, exporting, downloading). Written through CliIo, so
// tests and --json runs decide where it goes: a terminal gets one line redrawn in place; a log or
// pipe gets a plain line at most every `logEveryMs`, and none for runs shorter than that, so long
// unattended runs leave a short, readable trail.
//
// Hand-written rather than cli-progress: that library writes to process.stderr directly, which would
// bypass CliIo (and break captured output in tests and the in-process runner).

import type { CliIo } from './command.js';

export interface ProgressLine {
  update(text: string, opts?: { force?: boolean }): void;
  /** Clears the drawn line (terminal) so the summary that follows stands alone. */
  finish(): void;
}

export function progressLine(io: CliIo, opts: { logEveryMs?: number; drawEveryMs?: number } = {}): ProgressLine {
  const logEvery = opts.logEveryMs ?? 10_000;
  const drawEvery = opts.drawEveryMs ?? 100;
  let drawn = false;
  let last = io.isTty ? 0 : Date.now();
  return {
    update(text, { force = false } = {}) {
      const now = Date.now();
      if (!force && now - last < (io.isTty ? drawEvery : logEvery)) return;
      last = now;
      // io.err always ends lines, so a redraw is: cursor up one line, clear it, write.
      io.err(`${io.isTty && drawn ? '\x1b[1A\x1b[2K' : ''}${text}`);
      drawn = io.isTty;
    },
    finish() {
      if (drawn) io.err('\x1b[1A\x1b[2K\x1b[1A');
      drawn = false;
    },
  };
}
