/** One scored image: its best label's score, and whether that label is the true one. */
export interface ScoredOutcome {
  score: number;
  correct: boolean;
}

/**
 * What a sort with `--threshold <threshold>` would do on the evaluated images: images scoring at or
 * above it keep their label, the rest go to `unsure`.
 */
export interface SweepPoint {
  threshold: number;
  /** Of the images kept, the share labelled right. */
  precision: number;
  /** Of all images, the share kept and labelled right. */
  recall: number;
  /** Of all images, the share kept. */
  coverage: number;
  kept: number;
}

export interface ThresholdSuggestion {
  target_precision: number;
  /** The lowest threshold whose precision meets the target (0: none needed); null when none does. */
  threshold: number | null;
  /** At `threshold` (or, when it is null, at the threshold with the best precision). */
  precision: number;
  recall: number;
  coverage: number;
  kept: number;
  note: string;
}

export interface ThresholdSweep {
  /** From the highest threshold (fewest kept) to 0 (all kept): a precision/recall curve. */
  points: SweepPoint[];
  suggestion: ThresholdSuggestion;
}

/** Enough points to draw a smooth curve; the suggestion itself uses every distinct score. */
export const SWEEP_POINTS = 101;

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/**
 * Precision and recall at every distinct score used as a threshold, and the threshold that keeps the
 * most images while precision stays at or above `targetPrecision`. Precision is not monotonic in the
 * threshold (a few confident mistakes dent it), so every candidate is checked, not a bisection.
 */
export function thresholdSweep(outcomes: readonly ScoredOutcome[], targetPrecision: number, maxPoints = SWEEP_POINTS): ThresholdSweep {
  const n = outcomes.length;
  const sorted = [...outcomes].sort((a, b) => b.score - a.score);
  // One candidate per distinct score: a threshold keeps all images tied at it or none.
  const groups: SweepPoint[] = [];
  let correct = 0;
  for (let k = 0; k < n; k++) {
    if (sorted[k].correct) correct++;
    if (k + 1 < n && sorted[k + 1].score === sorted[k].score) continue;
    groups.push({ threshold: sorted[k].score, precision: correct / (k + 1), recall: correct / n, coverage: (k + 1) / n, kept: k + 1 });
  }

  let best = -1;
  for (let g = 0; g < groups.length; g++) if (groups[g].precision >= targetPrecision) best = g;
  let suggestion: ThresholdSuggestion;
  if (best < 0) {
    const top = groups.reduce<SweepPoint | undefined>((a, p) => (!a || p.precision > a.precision ? p : a), undefined);
    suggestion = {
      target_precision: targetPrecision,
      threshold: null,
      precision: top?.precision ?? 0,
      recall: top?.recall ?? 0,
      coverage: top?.coverage ?? 0,
      kept: top?.kept ?? 0,
      note: top
        ? `no threshold reaches ${pct(targetPrecision)} precision; the best is ${pct(top.precision)} at ${top.threshold.toPrecision(4)}`
        : 'no scored images',
    };
  } else {
    const g = groups[best];
    const all = best === groups.length - 1;
    const threshold = all ? 0 : roundBetween(groups[best + 1].threshold, g.threshold);
    suggestion = {
      target_precision: targetPrecision,
      threshold,
      precision: g.precision,
      recall: g.recall,
      coverage: g.coverage,
      kept: g.kept,
      note: all
        ? `every image is labelled at ${pct(g.precision)} precision; no threshold is needed`
        : `threshold ${threshold} keeps ${g.kept} of ${n} images at ${pct(g.precision)} precision`,
    };
  }

  const points = downsample(groups, maxPoints).map((p) => ({ ...p }));
  // The curve ends at threshold 0 (everything kept), whatever the lowest score was.
  if (points.length > 0) points[points.length - 1].threshold = 0;
  return { points, suggestion };
}

/**
 * The shortest decimal in (below, upTo] — the threshold a person would type, which still keeps every
 * image scoring `upTo` and drops every image scoring `below`. Of several equally short ones, the one
 * nearest the middle of the gap (ties upward), so unseen images scoring near either edge are treated
 * alike.
 */
export function roundBetween(below: number, upTo: number): number {
  const mid = (below + upTo) / 2;
  for (let digits = 1; digits <= 12; digits++) {
    const scale = 10 ** digits;
    // The epsilon absorbs products such as 0.29 × 100 = 28.999999999999996.
    const lo = Math.floor(below * scale + 1e-9) + 1;
    const hi = Math.floor(upTo * scale + 1e-9);
    if (lo > hi) continue;
    const pick = Math.min(hi, Math.max(lo, Math.round(mid * scale)));
    const value = Number((pick / scale).toFixed(digits));
    if (value > below && value <= upTo) return value;
  }
  return upTo;
}

/** At most `max` points, evenly spaced by rank, always keeping the first and the last. */
function downsample<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.round((i * (items.length - 1)) / (max - 1))]);
  return out;
}
