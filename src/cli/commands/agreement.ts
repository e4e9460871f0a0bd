import { agreement, type AgreementReport } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { parse, type Command } from '../command.js';
import { fixed3, percent, renderTable } from '../text-table.js';

const OPTIONS = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const USAGE = `triagem agreement <a.csv|folder> <b.csv|folder> [--json]

How far two people agree when labelling the same images: Cohen's kappa (agreement beyond chance),
observed agreement, and the files they label differently. Each side is a CSV of path,label (relative
paths are read from the CSV's folder) or a folder with one subfolder per label.

  --json   print {n, observed_agreement, expected_agreement, kappa, kappa_band, confusion,
           disagreements: [{path, a, b}], only_in_a, only_in_b, problems}

Exit codes: 0 done, 1 fatal error (unreadable file, no file in common), 2 usage error.`;

export function formatAgreement(r: AgreementReport): string {
  const out: string[] = [];
  out.push(`a: ${r.a}`);
  out.push(`b: ${r.b}`);
  const only = [r.only_in_a.length ? `${r.only_in_a.length} only in a` : '', r.only_in_b.length ? `${r.only_in_b.length} only in b` : ''].filter(Boolean);
  out.push(`files labelled by both: ${r.n}${only.length ? ` (${only.join(', ')})` : ''}`);
  out.push(`observed agreement: ${percent(r.observed_agreement)} (by chance: ${percent(r.expected_agreement)})`);
  out.push(`Cohen's kappa: ${r.kappa === null ? `— (${r.kappa_note})` : `${fixed3(r.kappa)} (${r.kappa_band})`}`);
  out.push('');
  out.push('rows: a, columns: b');
  out.push(renderTable([['', ...r.labels], ...r.labels.map((l) => [l, ...r.labels.map((c) => String(r.confusion[l][c]))])], ['l', ...r.labels.map(() => 'r' as const)]));
  out.push('');
  if (r.disagreements.length === 0) out.push('no disagreements');
  else {
    out.push(`disagreements (${r.disagreements.length}):`);
    out.push(renderTable([['path', 'a', 'b'], ...r.disagreements.map((d) => [d.path, d.a, d.b])]));
  }
  return out.join('\n');
}

export const agreementCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, OPTIONS, true);
    if (positionals.length !== 2) throw new UsageError(`give two label files (CSV or folder), got ${positionals.length}`);
    const report = agreement(positionals[0], positionals[1]);
    if (values.json) io.out(JSON.stringify(report));
    else io.out(formatAgreement(report));
    const lists: [string, string[]][] = [
      ['only in a', report.only_in_a],
      ['only in b', report.only_in_b],
    ];
    for (const [what, files] of lists) if (!values.json && files.length > 0) io.err(`${files.length} file(s) ${what}:\n${files.map((f) => `  ${f}`).join('\n')}`);
    if (report.problems.length > 0) {
      io.err(`${report.problems.length} problem(s) in the labels:\n${report.problems.map((p) => `  ${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`).join('\n')}`);
    }
    return 0;
  },
};
