import { undo } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { parse, type Command } from '../command.js';
import { safe } from '../format.js';
import { withApp } from '../options.js';

export const undoCommand: Command = {
  usage: `triagem undo <destination>/.triagem-journal-<time>.jsonl [--json] [--library <file>]

Copies are deleted only while still identical to what sort wrote; moved files are copied back,
verified and only then removed from the destination. An original path that is taken now is never
overwritten: the file is restored beside it as "name (1).ext" and reported. Empty label folders
the export created are removed, and every file deleted is listed. Only journals signed by Triagem
for this user are accepted, and undo touches nothing outside the export's destination and the
source folders the journal records. Exit codes: 0 done (problems are listed), 1 fatal, 2 usage error.`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false }, library: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('give exactly one journal file');
    const summary = await withApp(values, (app) => undo(app, positionals[0]));
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
      // Every file undo deleted, so nobody has to take its word for what went.
      for (const file of summary.deleted) lines.push(`  deleted: ${safe(file)}`);
      io.out(lines.join('\n'));
    }
    if (summary.problems.length > 0) {
      io.err(
        `${summary.problems.length} file(s) need attention:\n${summary.problems
          .map((p) => `  ${safe(p.to)}: ${p.outcome}${p.restoredTo ? ` → ${safe(p.restoredTo)}` : ''}${p.detail ? ` (${safe(p.detail)})` : ''}`)
          .join('\n')}`,
      );
    }
    if (!summary.journalComplete) {
      io.err(`the journal ${safe(summary.journal)} could not record all of this undo (destination full); what is listed above was done — run undo again once there is space`);
    }
    return 0;
  },
};
