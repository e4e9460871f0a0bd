import { verifyExport } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { safe } from '../format.js';
import { parse, type Command } from '../command.js';

export const verifyExportCommand: Command = {
  usage: `triagem verify-export <export folder> [--json]

Every copy/move writes manifest-sha256.txt into its destination, listing the sha256 of each file it
wrote (sha256sum format: \`sha256sum -c manifest-sha256.txt\` inside the folder checks it too). This
re-hashes every listed file: each must still be there, a plain file (no link is followed), with the
same bytes. Files that no manifest lists are reported as well.
Exit codes: 0 every listed file verified, 1 something is missing or changed (or a fatal error), 2 usage error.`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean', default: false } });
    if (positionals.length !== 1) throw new UsageError('give exactly one export folder');
    const report = await verifyExport(positionals[0]);
    if (values.json) {
      io.out(JSON.stringify(report));
    } else {
      const lines = [
        `${report.passed ? 'verified' : 'FAILED'}: ${report.ok} of ${report.checked} listed files intact in ${safe(report.destination)}`,
        ...report.missing.map((p) => `  missing: ${safe(p.path)}`),
        ...report.changed.map((p) => `  changed: ${safe(p.path)} (${p.problem})`),
        ...report.unsafe.map((p) => `  not checked: ${safe(p.path)} (${p.problem})`),
        ...report.unlisted.map((p) => `  not in any manifest: ${safe(p)}`),
      ];
      (report.passed ? io.out : io.err)(lines.join('\n'));
    }
    return report.passed ? 0 : 1;
  },
};
