import { undo } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { parse, type Command } from '../command.js';
import { safe } from '../format.js';

export const undoCommand: Command = {
  usage: `triagem undo <destination>/.triagem-journal-<time>.jsonl [--json]

Copies are deleted only while still identical to what sort wrote; moved files are copied back,
verified and only then removed from the destination. An original path that is taken now is never
overwritten: the file is restored beside it as "name (1).ext" and reported. Empty label folders
the export created are removed. Exit codes: 0 done (problems are listed), 1 fatal, 2 usage error.`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false } });
    if (positionals.length !== 1) throw new UsageError('give exactly one journal file');
    const summary = await undo(positionals[0]);
    const count = (o: string) => summary.items.filter((i) => i.outcome === o).length;
    if (values.json) {
      io.out(JSON.stringify(summary));
    } else {
      const parts = [
        `${count('removed')} copies removed`,
        `${count('restored') + count('restored-beside')} files moved back`,
        `${count('already-undone')} already undone`,
        `${count('kept') + count('missing')} left as they are`,
        `${summary.removedDirs.length} empty folders removed`,
      ];
      const lines = [`undo of ${summary.operation} (${safe(summary.journal)}): ${parts.join(', ')}`];
      io.out(lines.join('\n'));
    }
    if (summary.problems.length > 0) {
      io.err(
        `${summary.problems.length} file(s) need attention:\n${summary.problems
          .map((p) => `  ${safe(p.to)}: ${p.outcome}${p.restoredTo ? ` → ${safe(p.restoredTo)}` : ''}${p.detail ? ` (${safe(p.detail)})` : ''}`)
          .join('\n')}`,
      );
    }
    return 0;
  },
};
