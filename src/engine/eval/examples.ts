import type { Library } from '../library/library.js';
import type { Scoring } from '../models/types.js';
import type { LabelMatrix } from '../sort/scoring.js';
import { MAX_SHOTS_PER_LABEL, fitFewShot, type FewShotAdapter, type FewShotSummary } from './few-shot.js';
import { readLabels } from './truth.js';

/**
 * An image a person confirmed as an example of a label: by library content id (review marks) or by
 * file path (an `--examples` folder tree).
 */
export type LabelExample = { label: string; contentId: number } | { label: string; path: string };

export interface SkippedExample {
  /** The path or `content <id>` of the example. */
  example: string;
  label: string;
  reason: string;
}

/** What a sort with examples reports about them. */
export interface FewShotReport extends FewShotSummary {
  skipped: SkippedExample[];
}

export interface ResolvedExamples {
  /** N × dim, row-major. */
  vectors: Float32Array;
  labelIndex: number[];
  contentIds: number[];
  skipped: SkippedExample[];
}

/** `dir/<label>/…/image` → examples, read like a ground-truth folder tree. */
export function examplesFromTree(dir: string): { examples: LabelExample[]; problems: { file: string; message: string }[] } {
  const set = readLabels(dir, 'annotations');
  return {
    examples: [...set.entries].map(([file, label]) => ({ label, path: file })),
    problems: set.problems.map((p) => ({ file: p.file, message: p.message })),
  };
}

function describe(example: LabelExample): string {
  return 'path' in example ? example.path : `content ${example.contentId}`;
}

/**
 * Embeddings of the examples for the given labels (matched case-insensitively). An example whose label
 * is not sorted, whose file is not indexed with this model, that repeats an image, or that gives one
 * image two labels is skipped with the reason; the rest are used.
 */
export function resolveExamples(library: Library, modelKey: string, labels: readonly string[], examples: readonly LabelExample[]): ResolvedExamples {
  const labelIndex = new Map(labels.map((l, i) => [l.normalize('NFC').trim().toLocaleLowerCase(), i]));
  const skipped: SkippedExample[] = [];
  const chosen = new Map<number, { label: number; example: LabelExample }>();
  const conflicted = new Set<number>();
  for (const example of examples) {
    const index = labelIndex.get(example.label.normalize('NFC').trim().toLocaleLowerCase());
    if (index === undefined) {
      skipped.push({ example: describe(example), label: example.label, reason: `"${example.label}" is not one of the labels sorted into` });
      continue;
    }
    let contentId: number;
    if ('path' in example) {
      const file = library.fileByPath(example.path);
      if (!file) {
        skipped.push({ example: example.path, label: example.label, reason: 'not in the library; index its folder first' });
        continue;
      }
      contentId = file.contentId;
    } else contentId = example.contentId;
    const earlier = chosen.get(contentId);
    if (earlier) {
      if (earlier.label !== index) {
        conflicted.add(contentId);
        skipped.push({ example: describe(example), label: example.label, reason: `the same image is also an example of "${labels[earlier.label]}"` });
      }
      continue;
    }
    chosen.set(contentId, { label: index, example });
  }
  for (const id of conflicted) {
    const entry = chosen.get(id)!;
    skipped.push({ example: describe(entry.example), label: labels[entry.label], reason: 'the same image is an example of two labels; both left out' });
    chosen.delete(id);
  }

  const perLabel = new Array<number>(labels.length).fill(0);
  const wanted: number[] = [];
  for (const [id, entry] of chosen) {
    if (perLabel[entry.label] >= MAX_SHOTS_PER_LABEL) {
      skipped.push({ example: describe(entry.example), label: labels[entry.label], reason: `more than ${MAX_SHOTS_PER_LABEL} examples for this label` });
      continue;
    }
    perLabel[entry.label]++;
    wanted.push(id);
  }
  const matrix =
    library.modelId(modelKey) === undefined || wanted.length === 0
      ? { contentIds: new Int32Array(0), dim: 0, data: new Float32Array(0) }
      : library.loadEmbeddings(modelKey, wanted);
  const found = new Set(matrix.contentIds);
  for (const id of wanted) {
    if (!found.has(id)) {
      const entry = chosen.get(id)!;
      skipped.push({ example: describe(entry.example), label: labels[entry.label], reason: `not indexed with ${modelKey}; index its folder first` });
    }
  }
  return {
    vectors: matrix.data,
    labelIndex: [...matrix.contentIds].map((id) => chosen.get(id)!.label),
    contentIds: [...matrix.contentIds],
    skipped,
  };
}

/**
 * The sort hook, first half: the examples' embeddings fitted against the labels' text embeddings.
 * The second half is `blendedScores` (few-shot.ts), run on the images being sorted.
 */
export function fitExamples(opts: {
  library: Library;
  modelKey: string;
  labels: readonly string[];
  text: LabelMatrix;
  scoring: Scoring;
  examples: readonly LabelExample[];
}): { adapter: FewShotAdapter; report: FewShotReport; contentIds: number[] } {
  const resolved = resolveExamples(opts.library, opts.modelKey, opts.labels, opts.examples);
  const adapter = fitFewShot({
    labels: opts.labels,
    text: opts.text,
    scoring: opts.scoring,
    examples: resolved.vectors,
    exampleLabels: resolved.labelIndex,
  });
  return { adapter, report: { ...adapter.summary, skipped: resolved.skipped }, contentIds: resolved.contentIds };
}
