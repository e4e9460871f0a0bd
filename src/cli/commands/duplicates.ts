import { TriagemError, UsageError } from '../../engine/errors.js';
import type { FileRecord } from '../../engine/library/library.js';
import type { ClipModel } from '../../engine/models/types.js';
import { DEFAULT_DUPLICATE_THRESHOLD, findDuplicates } from '../../engine/duplicates/duplicates.js';
import { COMMON_OPTIONS, numberOption, parse, type Command } from '../command.js';
import { MODEL_OPTIONS, openModelForCli, parseDevice, parsePrecision } from '../model-options.js';
import { openExistingLibrary } from '../library-options.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  threshold: { type: 'string' },
  'no-exact': { type: 'boolean', default: false },
} as const;

const USAGE = `triagem duplicates [options]

Groups identical images (the same bytes at several paths) and near-identical ones (re-saved,
re-compressed, resized or lightly edited copies: embeddings with cosine ≥ the threshold). Each group
starts with its representative: the largest image, then the earliest taken. Nothing is changed.

  --threshold <0..1>     cosine for "near-identical" (default ${DEFAULT_DUPLICATE_THRESHOLD}; lower finds looser matches)
  --no-exact             leave out groups that are only the same bytes at several paths
  --json                 print {"threshold","groups":[{"kind","similarity","representative","files":[…]}]}
  --library <file>       library file (default: the app's library)
  --model <id|folder>    model whose embeddings to compare (default clip-vit-b32); --models-dir <dir>
  --device <d>           auto | cpu | cuda | dml | coreml     --precision <p>  weights variant

Exit codes: 0 done, 1 fatal error, 2 usage error.`;

function fileJson(f: FileRecord): Record<string, unknown> {
  return { path: f.path, sha256: f.sha256, width: f.width, height: f.height, takenAt: f.takenAt, size: f.size };
}

export const duplicatesCommand: Command = {
  name: 'duplicates',
  summary: 'Group identical and near-identical images',
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, OPTIONS, false);
    const threshold = numberOption(values.threshold, 'threshold') ?? DEFAULT_DUPLICATE_THRESHOLD;
    if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`--threshold must be above 0 and at most 1, got "${values.threshold}"`);
    parseDevice(values.device);
    parsePrecision(values.precision);
    const library = openExistingLibrary(values.library);
    let model: ClipModel | undefined;
    try {
      // Only the model's identity (which embeddings to compare) is needed, not an inference run.
      model = await openModelForCli({ model: values.model, modelsDir: values['models-dir'], device: values.device, precision: values.precision, io, verbose: values.verbose });
      const key = library.modelKey(model.info);
      if (library.modelId(key) === undefined) {
        throw new TriagemError(`this library has no images indexed with ${key}; run \`triagem index\` with that model first`, 'unknown-model', library.file);
      }
      const report = findDuplicates(library, key, { threshold, exact: !values['no-exact'] });
      if (values.json) {
        io.out(
          JSON.stringify({
            threshold,
            model: key,
            groups: report.groups.map((g) => ({
              kind: g.kind,
              similarity: Math.round(g.similarity * 1e6) / 1e6,
              representative: g.representative.path,
              contents: g.contents,
              files: g.files.map(fileJson),
            })),
          }),
        );
      } else {
        const lines: string[] = [];
        for (const g of report.groups) {
          const head = g.kind === 'exact' ? `identical, ${g.files.length} files` : `near-identical (≥ ${g.similarity.toFixed(3)}), ${g.files.length} files`;
          lines.push(head);
          g.files.forEach((f, i) => {
            const size = f.width && f.height ? ` (${f.width}×${f.height})` : '';
            lines.push(`  ${i === 0 ? '*' : ' '} ${f.path}${size}`);
          });
        }
        if (lines.length) io.out(lines.join('\n'));
        const near = report.groups.filter((g) => g.kind === 'near').length;
        io.err(`${report.groups.length} groups (${near} near-identical, ${report.groups.length - near} identical) at threshold ${threshold}; * marks each group's representative (${Math.round(report.ms)} ms)`);
      }
      return 0;
    } finally {
      await model?.close();
      library.close();
    }
  },
};
