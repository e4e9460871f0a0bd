// Which results are worth showing: a relevance cut-off that adapts to each query.
//
// Cosines are not calibrated across queries: with CLIP, "red car" may score 0.31 on its matches and
// 0.19 on a typical photo, while "protesto" scores 0.24 on its matches and 0.12 on a typical photo, so
// no single threshold separates matches from the rest for both. What is comparable is how far a
// score stands above *this query's* scores on ordinary images. So:
//
//   1. background: the query's scores on a fixed sample of the library. Location and spread are read
//      from the lower quantiles (P5, P25), so up to 3/4 of the sample may be matches without skewing
//      them — a small library of mostly-red photos still has a sane background for "red".
//   2. floor = background mean + 3 sd: below it a result scores like an ordinary image.
//   3. gap: above the floor, the scores of the best results are examined for a clear drop. Under the
//      "just the background's upper tail" hypothesis the normalized spacings k·(s_k − s_{k+1}) of the
//      top scores are i.i.d. exponential (Rényi); a spacing far beyond their median means the scores
//      above it come from something else — the matches — and the rest is cut. A cut is only made
//      below scores the background could itself produce (its expected maximum over the library), so a
//      gap *between* strong matches (three copies of one photo, then other matches) never cuts.
//   4. --min-score raises the threshold further; it never lowers it.

export interface BackgroundStats {
  /** Estimated mean score of an ordinary image. */
  mean: number;
  /** Estimated spread (standard deviation). */
  sd: number;
  count: number;
}

export interface Cutoff {
  /** Results scoring below this are left out. */
  threshold: number;
  /** Background mean + FLOOR_SD·sd. */
  floor: number;
  /** Scores at or above this could not come from the background alone (beyond its likely maximum). */
  strong: number;
  /** Number of leading results kept by a gap cut, or null when no significant gap was found. */
  gapAfter: number | null;
  reason: 'floor' | 'gap' | 'min-score';
  background: BackgroundStats;
}

export interface CutoffOptions {
  /** User-set lower bound on the score (tightens only). */
  minScore?: number;
  /** How many contents the query competed against (the library, or the filtered subset). */
  population: number;
}

const FLOOR_SD = 3;
/** Smallest spread assumed, in cosine units: tiny libraries can have near-identical background scores. */
const MIN_SD = 0.005;
/** Family-wise false-cut rate of the gap test. */
const GAP_ALPHA = 0.01;
/** Fewer spacings than this give no usable estimate of their typical size. */
const MIN_SPACINGS = 8;

function quantile(sortedAsc: Float64Array, p: number): number {
  const n = sortedAsc.length;
  if (n === 1) return sortedAsc[0];
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sortedAsc[lo] + (sortedAsc[hi] - sortedAsc[lo]) * (pos - lo);
}

/** Gaussian-equivalent mean and sd from P5 and P25 (z = −1.645 and −0.674). */
export function backgroundStats(scores: ArrayLike<number>): BackgroundStats {
  const n = scores.length;
  if (n === 0) return { mean: 0, sd: MIN_SD, count: 0 };
  const sorted = Float64Array.from(scores).sort();
  const p5 = quantile(sorted, 0.05);
  const p25 = quantile(sorted, 0.25);
  const sd = Math.max(MIN_SD, (p25 - p5) / (1.6449 - 0.6745));
  return { mean: p25 + 0.6745 * sd, sd, count: n };
}

/**
 * How many sd above the mean the largest of `n` ordinary scores can reach: the expected maximum of n
 * normal draws (√(2 ln n)) plus one sd, which the maximum exceeds less than 1% of the time.
 */
function backgroundMaxZ(n: number): number {
  return Math.max(FLOOR_SD, Math.sqrt(2 * Math.log(Math.max(2, n)))) + 1;
}

/**
 * The cut-off for one query, given the exact scores of its best candidates (best first) and its
 * background. Scores at or above `threshold` are shown.
 */
export function relevanceCutoff(headDesc: readonly number[], background: BackgroundStats, opts: CutoffOptions): Cutoff {
  const floor = background.mean + FLOOR_SD * background.sd;
  const strong = background.mean + backgroundMaxZ(opts.population) * background.sd;
  let threshold = floor;
  let reason: Cutoff['reason'] = 'floor';
  let gapAfter: number | null = null;

  const above = headDesc.filter((s) => s >= floor);
  if (above.length > MIN_SPACINGS) {
    // Spacings between consecutive scores above the floor; k counts from the top.
    const spacings: number[] = [];
    for (let k = 1; k < above.length; k++) spacings.push(k * (above[k - 1] - above[k]));
    const typical = median(spacings) / Math.LN2;
    if (typical > 0) {
      const critical = Math.log(spacings.length / GAP_ALPHA);
      let bestK = -1;
      let bestRatio = 0;
      for (let k = 1; k < above.length; k++) {
        // Only where the next score is one the background could produce.
        if (above[k] >= strong) continue;
        const ratio = spacings[k - 1] / typical;
        if (ratio > bestRatio) {
          bestRatio = ratio;
          bestK = k;
        }
      }
      if (bestK > 0 && bestRatio > critical) {
        gapAfter = bestK;
        // Halfway into the gap, so a score a hair under the last kept one is not cut by rounding.
        threshold = (above[bestK - 1] + above[bestK]) / 2;
        reason = 'gap';
      }
    }
  }
  if (opts.minScore !== undefined && opts.minScore > threshold) {
    threshold = opts.minScore;
    reason = 'min-score';
  }
  return { threshold, floor, strong, gapAfter, reason, background };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
