// Precision/recall curves per label: each label treated as its own yes/no question ("is this image
// a `meme`?"), images ranked by that label's score. The sweep (sweep.ts) answers a different question
// — what a global threshold on the winning score does — so a label the model ranks well but rarely
// wins still shows here as a good curve.

/** One threshold on a label's score: the images at or above it are that label's "yes". */
export interface CurvePoint {
  threshold: number;
  /** Of the images kept, the share truly of this label. */
  precision: number;
  /** Of the images truly of this label, the share kept. */
  recall: number;
}

export interface LabelCurve {
  /** Images truly of this label. */
  positives: number;
  /** Area under the step curve (Σ ΔR·P over the ranked list); null when the label has no positives. */
  average_precision: number | null;
  /** From the highest threshold down to the one that keeps every positive; at most `maxPoints`, always with the first and last. */
  points: CurvePoint[];
}

export interface ScoredImage {
  truth: string;
  /** Every label's score for this image. */
  scores: Readonly<Record<string, number>>;
}

/** Enough points for a curve a few hundred pixels wide. */
export const CURVE_POINTS = 51;

export function labelCurves(images: readonly ScoredImage[], labels: readonly string[], maxPoints = CURVE_POINTS): Record<string, LabelCurve> {
  const out: Record<string, LabelCurve> = {};
  for (const label of labels) out[label] = labelCurve(images, label, maxPoints);
  return out;
}

function labelCurve(images: readonly ScoredImage[], label: string, maxPoints: number): LabelCurve {
  const ranked = images
    .filter((im) => Number.isFinite(im.scores[label]))
    .map((im) => ({ score: im.scores[label], positive: im.truth === label }))
    .sort((a, b) => b.score - a.score);
  const positives = ranked.reduce((n, r) => n + (r.positive ? 1 : 0), 0);
  if (positives === 0) return { positives, average_precision: null, points: [] };
  const points: CurvePoint[] = [];
  let tp = 0;
  let ap = 0;
  let lastRecall = 0;
  for (let i = 0; i < ranked.length; i++) {
    if (ranked[i].positive) tp++;
    // Tied scores are one threshold: all of them are kept or none is.
    if (i + 1 < ranked.length && ranked[i + 1].score === ranked[i].score) continue;
    const precision = tp / (i + 1);
    const recall = tp / positives;
    ap += (recall - lastRecall) * precision;
    lastRecall = recall;
    points.push({ threshold: ranked[i].score, precision, recall });
    // Past full recall, lower thresholds only add images of other labels: the curve ends here.
    if (tp === positives) break;
  }
  // Summed recall steps can land a rounding error above 1 on a perfect ranking.
  return { positives, average_precision: Math.min(1, ap), points: downsample(points, maxPoints) };
}

function downsample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))]);
  return out;
}
