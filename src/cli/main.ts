import { UsageError, TriagemError, errorMessage } from '../shared/errors.js';
import { fileURLToPath } from 'node:url';
import type { CliIo, CommandEntry } from './command.js';
import { LIMITS } from '../shared/limits.js';
import { COMMANDS } from './commands/index.js';
import { safe } from './format.js';

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 8);
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'triagem — sort and search large image collections offline with CLIP-family models',
    '',
    'Usage: triagem <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `triagem <command> --help` for a command\'s options.',
  ].join('\n');
}

/** Longest command name that prefixes argv ("models list" before "models"). */
function findCommand(argv: string[]): { command: CommandEntry; rest: string[] } | undefined {
  let best: { command: CommandEntry; rest: string[] } | undefined;
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.command.name.split(' ').length)) {
      best = { command, rest: argv.slice(words.length) };
    }
  }
  return best;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  isTty: Boolean(process.stderr.isTTY),
};

/** Exit codes: 0 done, 1 fatal, 2 usage error. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(helpText());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version') {
    io.out('0.1.0');
    return 0;
  }
  // Checked before any command loads: onnxruntime-node crashes (SIGSEGV) while starting in a process
  // with a very long command line, so such a run must stop here with a clear message.
  const length = argv.reduce((sum, a) => sum + a.length + 1, 0);
  if (length > LIMITS.commandLineChars) {
    io.err(`triagem: the command line is ${length} characters long; at most ${LIMITS.commandLineChars} are accepted (labels: at most ${LIMITS.labels} of ${LIMITS.labelChars} characters; a query: ${LIMITS.queryChars})`);
    return 2;
  }
  const found = findCommand(argv);
  if (!found) {
    io.err(`triagem: unknown command "${safe(argv.join(' '))}"\n\n${helpText()}`);
    return 2;
  }
  const command = await found.command.load();
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    io.out(`Usage: ${command.usage}\n\n${found.command.summary}`);
    return 0;
  }
  try {
    return await command.run(found.rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`triagem ${found.command.name}: ${safe(err.message)}\nUsage: ${command.usage}`);
      return 2;
    }
    io.err(`triagem ${found.command.name}: ${safe(err instanceof TriagemError ? err.message : errorMessage(err))}`);
    if (process.env.TRIAGEM_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
    return 1;
  }
}

const isEntry = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
