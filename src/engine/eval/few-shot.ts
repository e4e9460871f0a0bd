// Few-shot labels without training: a label becomes its text prompt plus the images a person
// confirmed for it, fitted in closed form on stored embeddings.
//
// The anchors are the training-free cache adapters — Tip-Adapter (zero-shot logits plus α × an
// affinity to the labelled shots) and its closed-form successors (ProKeR's kernel ridge regression
// with CLIP as the prior, GDA's class means with zero-shot logits). Their lesson shapes this module:
// a classifier fitted on a handful of shots alone is worse than zero-shot below ~4 shots, so the text
// prior stays in the blend, and its weight is chosen per library by leave-one-out on the user's own
// examples, where "not at all" (α = 0, plain zero-shot) is one of the choices.
//
// The adapter: for label k, the cosine between the image and the label's class mean, both taken
// relative to the centre of the class means (CLIP image embeddings share one large common direction;
// without centring every image looks alike to every prototype). Blended on the cosine scale:
//     score_k(x) = rule(scale · (cos(x, text_k) + α · cos(x − m, μ_k − m)) + bias)
// with the model's own rule (softmax or sigmoid), so scores stay probabilities a threshold applies
// to. One prototype per label folds into one extra L × d matrix: re-scoring 100k stored embeddings
// costs one more pass of the label scorer. A kernel over every shot (Tip-Adapter's cache, ProKeR's
// RBF) would cost one pass per shot: measured 100k × 160 shots ≈ 5 s here, against ≈ 0.3 s for
// 100k × 10 labels. A first version regressed the zero-shot residual with a linear kernel (ProKeR's
// form); with CLIP's peaked softmax as the prior, the residual is far from linear and it lost to
// plain class means on clustered data (held-out 0.62 vs 0.99), so class means it is.
//
// Leave-one-out is exact and cheap: leaving example i out only moves its own class mean (and the
// centre), so each fold recomputes L prototypes, not a model.

import type { Scoring } from '../models/types.js';
import { applyScoring, cosineMatrix, topIndex, type LabelMatrix } from '../sort/scoring.js';

/** More shots than this per label add little to class means and only cost reading time. */
export const MAX_SHOTS_PER_LABEL = 64;

/** α candidates: the weight of the examples' cosine next to the text's (0, zero-shot, is always tried). */
export const BLEND_GRID: readonly number[] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100];

export interface FewShotCandidate {
  /** α; 0 is plain zero-shot. */
  blend: number;
  /** Leave-one-out accuracy on the examples. */
  loo_accuracy: number;
  /** Leave-one-out Brier score (mean squared distance of the scores to the one-hot label; lower is better). */
  loo_brier: number;
}

/** How the examples were used; JSON keys as `triagem eval --json` prints them. */
export interface FewShotSummary {
  /** Examples used per label. */
  shots: Record<string, number>;
  /** False when leave-one-out found the examples do not beat the text alone (then scores are zero-shot). */
  used: boolean;
  /** The chosen α (0 when zero-shot was kept). */
  blend: number;
  /** Zero-shot accuracy on the examples themselves (nothing is fitted, so nothing to leave out). */
  zero_shot_accuracy: number;
  /** Leave-one-out accuracy of the chosen blend on the examples. */
  loo_accuracy: number;
  candidates: FewShotCandidate[];
  /** Why the examples could not be used at all, when they could not. */
  note: string | null;
  fit_ms: number;
}

export interface FewShotAdapter {
  summary: FewShotSummary;
  /** L × d unit rows (μ_k − m)/‖μ_k − m‖; zero rows for labels without examples. Null when unused. */
  prototypes: LabelMatrix | null;
  /** m, the centre of the class means. */
  centre: Float32Array | null;
}

export interface FewShotInput {
  labels: readonly string[];
  /** The labels' text embeddings (the zero-shot classifier). */
  text: LabelMatrix;
  scoring: Scoring;
  /** N example embeddings, row-major, L2-normalized. */
  examples: Float32Array;
  /** Label index of each example row. */
  exampleLabels: readonly number[];
}

/** Below this a centred vector is treated as zero: the image sits on the centre, or a class mean does. */
const EPS = 1e-9;

export function fitFewShot(input: FewShotInput): FewShotAdapter {
  const started = performance.now();
  const { labels, text, scoring, examples, exampleLabels } = input;
  const n = exampleLabels.length;
  const l = text.count;
  const d = text.dim;
  if (examples.length !== n * d) throw new Error(`example matrix holds ${examples.length} floats, need ${n}×${d}`);
  const counts = new Array<number>(l).fill(0);
  for (const y of exampleLabels) counts[y]++;
  const shots = Object.fromEntries(labels.map((label, k) => [label, counts[k]]));
  const covered = counts.filter((c) => c > 0).length;

  // Class sums, so a fold's mean is (sum − x_i) / (count − 1).
  const sums = new Float64Array(l * d);
  for (let i = 0; i < n; i++) {
    const o = exampleLabels[i] * d;
    for (let j = 0; j < d; j++) sums[o + j] += examples[i * d + j];
  }

  const textCos = cosineMatrix(examples, n, text);
  // Leave-one-out prototype cosines of every example: rows n × l.
  const looCos = new Float64Array(n * l);
  if (covered >= 2) for (let i = 0; i < n; i++) prototypeCosines(sums, counts, examples, i, exampleLabels[i], l, d, looCos.subarray(i * l, (i + 1) * l));

  const candidates: FewShotCandidate[] = [];
  const judge = (blend: number): FewShotCandidate => {
    const mixed = new Float32Array(n * l);
    for (let i = 0; i < n * l; i++) mixed[i] = textCos[i] + blend * looCos[i];
    applyScoring(mixed, l, scoring);
    let correct = 0;
    let brier = 0;
    for (let i = 0; i < n; i++) {
      if (topIndex(mixed, i, l) === exampleLabels[i]) correct++;
      for (let k = 0; k < l; k++) brier += (mixed[i * l + k] - (k === exampleLabels[i] ? 1 : 0)) ** 2;
    }
    return { blend, loo_accuracy: n > 0 ? correct / n : 0, loo_brier: n > 0 ? brier / n : 0 };
  };
  const zeroShot = judge(0);
  candidates.push(zeroShot);
  let best = zeroShot;
  // Two examples of one label at least: otherwise leaving one out leaves that label with none.
  const note =
    n === 0 ? 'no examples' : covered < 2 ? 'examples of at least two labels are needed' : counts.every((c) => c < 2) ? 'at least one label needs two examples' : null;
  if (note === null) {
    for (const blend of BLEND_GRID) {
      const candidate = judge(blend);
      candidates.push(candidate);
      if (better(candidate, best)) best = candidate;
    }
  }

  const used = best !== zeroShot;
  let prototypes: LabelMatrix | null = null;
  let centre: Float32Array | null = null;
  if (used) {
    const full = prototypeMatrix(sums, counts, l, d, -1, -1);
    prototypes = { count: l, dim: d, data: Float32Array.from(full.rows) };
    centre = Float32Array.from(full.centre);
  }
  return {
    summary: {
      shots,
      used,
      blend: best.blend,
      zero_shot_accuracy: zeroShot.loo_accuracy,
      loo_accuracy: best.loo_accuracy,
      candidates,
      note,
      fit_ms: performance.now() - started,
    },
    prototypes,
    centre,
  };
}

/** Higher leave-one-out accuracy wins; on a tie, the lower Brier score (the better-calibrated blend). */
function better(a: FewShotCandidate, b: FewShotCandidate): boolean {
  if (a.loo_accuracy !== b.loo_accuracy) return a.loo_accuracy > b.loo_accuracy;
  return a.loo_brier < b.loo_brier - 1e-12;
}

/**
 * Unit centred class means, optionally with example `leftOut` (of label `leftLabel`) removed from its
 * class. Labels without examples (or left with none) get a zero row; the centre is the mean of the
 * class means that exist.
 */
function prototypeMatrix(
  sums: Float64Array,
  counts: readonly number[],
  l: number,
  d: number,
  leftLabel: number,
  leftOut: number,
  examples?: Float32Array,
): { rows: Float64Array; centre: Float64Array } {
  const means = new Float64Array(l * d);
  const centre = new Float64Array(d);
  const present: boolean[] = [];
  let classes = 0;
  for (let k = 0; k < l; k++) {
    const c = counts[k] - (k === leftLabel ? 1 : 0);
    present.push(c > 0);
    if (c <= 0) continue;
    classes++;
    for (let j = 0; j < d; j++) {
      const s = sums[k * d + j] - (k === leftLabel && examples ? examples[leftOut * d + j] : 0);
      means[k * d + j] = s / c;
      centre[j] += s / c;
    }
  }
  for (let j = 0; j < d; j++) centre[j] /= Math.max(classes, 1);
  const rows = new Float64Array(l * d);
  for (let k = 0; k < l; k++) {
    if (!present[k] || classes < 2) continue;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const v = means[k * d + j] - centre[j];
      rows[k * d + j] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    if (norm < EPS) rows.fill(0, k * d, (k + 1) * d);
    else for (let j = 0; j < d; j++) rows[k * d + j] /= norm;
  }
  return { rows, centre };
}

/** cos(x_i − m, μ_k − m) for every label, with example i left out of its class mean and the centre. */
function prototypeCosines(
  sums: Float64Array,
  counts: readonly number[],
  examples: Float32Array,
  i: number,
  label: number,
  l: number,
  d: number,
  out: Float64Array,
): void {
  const { rows, centre } = prototypeMatrix(sums, counts, l, d, label, i, examples);
  let norm = 0;
  const x = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    x[j] = examples[i * d + j] - centre[j];
    norm += x[j] * x[j];
  }
  norm = Math.sqrt(norm);
  for (let k = 0; k < l; k++) {
    if (norm < EPS) {
      out[k] = 0;
      continue;
    }
    let dot = 0;
    for (let j = 0; j < d; j++) dot += x[j] * rows[k * d + j];
    out[k] = dot / norm;
  }
}

/**
 * Scores of `rows` image embeddings against the labels, text and examples blended as fitted; plain
 * zero-shot scores (identical to `scoreMatrix`) when the adapter is unused.
 */
export function blendedScores(adapter: FewShotAdapter, images: Float32Array, rows: number, text: LabelMatrix, scoring: Scoring): Float32Array {
  const out = cosineMatrix(images, rows, text);
  const { prototypes, centre } = adapter;
  const blend = adapter.summary.blend;
  if (prototypes && centre && blend > 0) {
    const l = text.count;
    const d = text.dim;
    // ⟨x − m, q_k⟩ = x·q_k − m·q_k; ‖x − m‖² = 1 − 2 x·m + ‖m‖² (stored rows are unit length), with
    // x·m computed as one more "label" row in the same pass.
    const rowsWithCentre: LabelMatrix = { count: l + 1, dim: d, data: new Float32Array((l + 1) * d) };
    rowsWithCentre.data.set(prototypes.data);
    rowsWithCentre.data.set(centre, l * d);
    const dots = cosineMatrix(images, rows, rowsWithCentre);
    const mq = new Float64Array(l);
    let mm = 0;
    for (let j = 0; j < d; j++) mm += centre[j] * centre[j];
    for (let k = 0; k < l; k++) for (let j = 0; j < d; j++) mq[k] += centre[j] * prototypes.data[k * d + j];
    for (let r = 0; r < rows; r++) {
      const o = r * (l + 1);
      const norm = Math.sqrt(Math.max(0, 1 - 2 * dots[o + l] + mm));
      if (norm < EPS) continue;
      for (let k = 0; k < l; k++) out[r * l + k] += (blend * (dots[o + k] - mq[k])) / norm;
    }
  }
  return applyScoring(out, text.count, scoring);
}
