import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/command.js';

/** Runs the CLI in-process with captured, non-TTY output. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), isTty: false };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
