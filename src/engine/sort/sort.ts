import { fitExamples, type FewShotReport, type LabelExample } from '../eval/examples.js';
import { blendedScores } from '../eval/few-shot.js';
import type { EmbeddingMatrix, FileRecord, Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { encodeLabels } from './label-embeddings.js';
import { UNSURE_LABEL, normalizeLabels } from './labels.js';
import { scoreMatrixFast } from './gemm.js';
import { labelMatrix, topIndex } from './scoring.js';
import { DEFAULT_TEMPLATES, validateTemplates } from './templates.js';

export interface SortOptions {
  library: Library;
  model: ClipModel;
  labels: string[];
  templates?: string[];
  /** Images whose best score is below this go to the `unsure` bucket. */
  threshold?: number;
  /** Contents to sort; default: every present file in the library. */
  contentIds?: number[];
  /** Exactly these files (already listed by the caller, e.g. one folder); overrides `contentIds`. */
  files?: readonly FileRecord[];
  /**
   * Images confirmed as examples of the labels. With any, each label becomes its text prompt plus
   * its example images (see eval/few-shot.ts); without, scoring is plain zero-shot.
   */
  examples?: readonly LabelExample[];
  /**
   * Every embedding of the model, already in memory (a door that sorts again and again keeps it;
   * see AppContext.embeddingMatrix): re-sorting then costs only the label texts and the scoring.
   */
  embeddings?: EmbeddingMatrix;
  /**
   * False: score without saving a sort run (an evaluation's sorts are measurements, not runs a
   * person reviews or exports); the result's `runId` is then 0.
   */
  record?: boolean;
}

export interface SortedFile {
  file: FileRecord;
  /** One of the labels, or `unsure`. */
  label: string;
  /** The best label's score (also when the file went to `unsure`). */
  score: number;
  scores: Record<string, number>;
}

export interface SortResult {
  /** The saved run; 0 when the sort was not recorded (`record: false`). */
  runId: number;
  labels: string[];
  results: SortedFile[];
  /** Present files asked for whose content has no embedding for this model yet (index them first). */
  unembedded: FileRecord[];
  /** Present when `examples` were given: how they were used and which were skipped. */
  fewShot?: FewShotReport;
  /** Contents used as examples (an evaluation leaves them out: they are not held out). */
  exampleContentIds?: number[];
}

/**
 * Sorts already-indexed files into labels. Only the label prompts go through the model; image
 * embeddings come from the library in one matrix, so re-sorting with new labels is instant.
 */
function sortedByPath(files: readonly FileRecord[]): FileRecord[] {
  for (let i = 1; i < files.length; i++) {
    if (files[i - 1].path > files[i].path) return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  return [...files];
}

/**
 * One sorted file. Every label's score stays in the run's score matrix until someone asks: at 100k
 * images, building a record of ten scores per file up front cost more than the scoring itself
 * (allocation and GC, measured in bench `sort`).
 */
class SortedRow implements SortedFile {
  constructor(
    readonly file: FileRecord,
    readonly label: string,
    readonly score: number,
    private readonly matrix: Float32Array,
    private readonly offset: number,
    private readonly labels: readonly string[],
  ) {}

  get scores(): Record<string, number> {
    const all: Record<string, number> = {};
    for (let k = 0; k < this.labels.length; k++) all[this.labels[k]] = this.matrix[this.offset + k];
    return all;
  }

  toJSON(): SortedFile {
    return { file: this.file, label: this.label, score: this.score, scores: this.scores };
  }
}

export async function sortLibrary(opts: SortOptions): Promise<SortResult> {
  const { library, model } = opts;
  const labels = normalizeLabels(opts.labels, opts.threshold);
  const templates = opts.templates && opts.templates.length > 0 ? opts.templates : DEFAULT_TEMPLATES;
  validateTemplates(templates);
  const key = library.modelKey(model.info);

  const wanted = opts.files ? undefined : opts.contentIds ? new Set(opts.contentIds) : undefined;
  // Library lists come sorted by path already; only a caller's own list may need sorting.
  const files = opts.files ? sortedByPath(opts.files) : library.listFiles({ present: true }).filter((f) => !wanted || wanted.has(f.contentId));
  const contentIds = [...new Set(files.map((f) => f.contentId))];
  const subset = opts.files !== undefined || wanted !== undefined;

  const textEmbeddings = await encodeLabels(model, labels, templates);
  const matrix =
    library.modelId(key) === undefined || contentIds.length === 0
      ? { contentIds: new Int32Array(0), dim: model.info.dim, data: new Float32Array(0) }
      : // Without a filter the whole table is read in one scan; rows of absent files are ignored below.
        (opts.embeddings ?? library.loadEmbeddings(key, subset ? contentIds : undefined));
  const rows = matrix.contentIds.length;
  const count = labels.length;
  const text = labelMatrix(textEmbeddings);
  const scoring = model.info.scoring;
  const fewShot =
    opts.examples && opts.examples.length > 0
      ? fitExamples({ library, modelKey: key, labels, text, scoring, examples: opts.examples })
      : undefined;
  const scores = fewShot ? blendedScores(fewShot.adapter, matrix.data, rows, text, scoring) : await scoreMatrixFast(matrix.data, rows, text, scoring);

  const rowOf = new Map<number, number>();
  for (let r = 0; r < rows; r++) rowOf.set(matrix.contentIds[r], r);

  const threshold = opts.threshold;
  const results: SortedFile[] = [];
  const unembedded: FileRecord[] = [];
  const perContent = new Map<number, { label: string; score: number }>();
  for (const file of files) {
    const r = rowOf.get(file.contentId);
    if (r === undefined) {
      unembedded.push(file);
      continue;
    }
    let decided = perContent.get(file.contentId);
    if (!decided) {
      const best = topIndex(scores, r, count);
      const score = scores[r * count + best];
      const label = threshold !== undefined && score < threshold ? UNSURE_LABEL : labels[best];
      decided = { label, score };
      perContent.set(file.contentId, decided);
    }
    results.push(new SortedRow(file, decided.label, decided.score, scores, r * count, labels));
  }

  const runId = opts.record === false ? 0 : library.saveSortRun({ modelKey: key, labels, threshold: threshold ?? null, results: perContent });
  if (!fewShot) return { runId, labels, results, unembedded };
  return { runId, labels, results, unembedded, fewShot: fewShot.report, exampleContentIds: fewShot.contentIds };
}
