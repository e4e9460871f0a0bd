import { describe, expect, it } from 'vitest';
import { compareAnnotations } from '../src/engine/eval/agreement.js';
import { classificationReport, cohensKappa, kappaBand, type LabelPair } from '../src/engine/eval/metrics.js';
import { roundBetween, thresholdSweep } from '../src/engine/eval/sweep.js';
import type { LabelSet } from '../src/engine/eval/truth.js';

/** Pairs from a confusion matrix given as rows (truth) × columns (predicted). */
function fromConfusion(labels: string[], rows: number[][]): LabelPair[] {
  const pairs: LabelPair[] = [];
  rows.forEach((row, i) => row.forEach((count, j) => {
    for (let c = 0; c < count; c++) pairs.push({ truth: labels[i], predicted: labels[j] });
  }));
  return pairs;
}

const pairs = (truth: string[], predicted: string[]): LabelPair[] => truth.map((t, i) => ({ truth: t, predicted: predicted[i] }));

describe('classificationReport on a hand-computed 3-label confusion', () => {
  // truth a: 5 a, 1 b | truth b: 2 a, 3 b, 1 c | truth c: 1 b, 3 c   (n = 16, 11 right)
  const report = classificationReport(fromConfusion(['a', 'b', 'c'], [[5, 1, 0], [2, 3, 1], [0, 1, 3]]));

  it('accuracy = 11/16', () => expect(report.accuracy).toBe(11 / 16));

  it('per-label precision, recall, F1 and support', () => {
    expect(report.per_label.a.precision).toBeCloseTo(5 / 7, 12);
    expect(report.per_label.a.recall).toBeCloseTo(5 / 6, 12);
    expect(report.per_label.a.f1).toBeCloseTo(10 / 13, 12);
    expect(report.per_label.b.precision).toBeCloseTo(3 / 5, 12);
    expect(report.per_label.b.recall).toBeCloseTo(1 / 2, 12);
    expect(report.per_label.b.f1).toBeCloseTo(6 / 11, 12);
    expect(report.per_label.c).toEqual({ precision: 0.75, recall: 0.75, f1: 0.75, support: 4, predicted: 4 });
    expect([report.per_label.a.support, report.per_label.b.support]).toEqual([6, 6]);
    expect([report.per_label.a.predicted, report.per_label.b.predicted]).toEqual([7, 5]);
  });

  it('macro-F1 is the plain mean of the three F1s', () => {
    expect(report.macro_f1).toBeCloseTo((10 / 13 + 6 / 11 + 3 / 4) / 3, 12);
  });

  it("Cohen's kappa = (16·11 − 88) / (256 − 88) = 11/21", () => {
    expect(report.kappa).toBeCloseTo(11 / 21, 12);
    expect(report.kappa_note).toBeNull();
  });

  it('majority baseline: the first of the tied largest labels, 6/16, macro-F1 (6/11)/3', () => {
    expect(report.baseline_label).toBe('a');
    expect(report.baseline_accuracy).toBe(6 / 16);
    expect(report.baseline_macro_f1).toBeCloseTo(2 / 11, 12);
  });

  it('confusion is dense truth → predicted → count', () => {
    expect(report.confusion).toEqual({ a: { a: 5, b: 1, c: 0 }, b: { a: 2, b: 3, c: 1 }, c: { a: 0, b: 1, c: 3 } });
    expect(report.labels).toEqual(['a', 'b', 'c']);
    expect(report.columns).toEqual(['a', 'b', 'c']);
  });
});

describe('classificationReport edge cases', () => {
  it('unsure is a wrong answer with its own column, and no F1 of its own', () => {
    const r = classificationReport(pairs(['a', 'a', 'b', 'b'], ['a', 'unsure', 'b', 'b']));
    expect(r.accuracy).toBe(0.75);
    expect(r.columns).toEqual(['a', 'b', 'unsure']);
    expect(r.confusion).toEqual({ a: { a: 1, b: 0, unsure: 1 }, b: { a: 0, b: 2, unsure: 0 } });
    expect(r.per_label.a).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2, predicted: 1 });
    expect(r.macro_f1).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(Object.keys(r.per_label)).toEqual(['a', 'b']);
    // 3 categories: rows (2,2,0), columns (1,2,1): (4·3 − 6) / (16 − 6)
    expect(r.kappa).toBeCloseTo(0.6, 12);
  });

  it('a label given but never seen keeps its row with zeros and stays out of macro-F1', () => {
    const r = classificationReport(pairs(['a', 'b'], ['a', 'b']), ['a', 'b', 'c']);
    expect(r.per_label.c).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 0 });
    expect(r.macro_f1).toBe(1);
  });

  it('a label only predicted (never true) counts in macro-F1 with F1 0', () => {
    const r = classificationReport(pairs(['a', 'a'], ['a', 'x']));
    expect(r.labels).toEqual(['a', 'x']);
    expect(r.per_label.x).toEqual({ precision: 0, recall: 0, f1: 0, support: 0, predicted: 1 });
    expect(r.macro_f1).toBeCloseTo((2 / 3 + 0) / 2, 12);
  });

  it('refuses an empty comparison with a clear error', () => {
    expect(() => classificationReport([])).toThrow(/nothing to compare/);
  });
});

describe("Cohen's kappa", () => {
  it('perfect agreement is exactly 1', () => {
    expect(classificationReport(pairs(['a', 'b', 'a', 'c'], ['a', 'b', 'a', 'c'])).kappa).toBe(1);
  });

  it('chance-level agreement is exactly 0', () => {
    const r = classificationReport(pairs(['a', 'a', 'b', 'b'], ['a', 'b', 'a', 'b']));
    expect(r.accuracy).toBe(0.5);
    expect(r.kappa).toBe(0);
  });

  it('≈ 0 on large independent random labellings', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const labels = ['a', 'b', 'c'];
    const ps: LabelPair[] = [];
    for (let i = 0; i < 20000; i++) ps.push({ truth: labels[Math.floor(rnd() * 3)], predicted: labels[Math.floor(rnd() * 3)] });
    const k = classificationReport(ps).kappa!;
    expect(Math.abs(k)).toBeLessThan(0.02);
  });

  it('perfect disagreement on two balanced labels is −1', () => {
    expect(classificationReport(pairs(['a', 'a', 'b', 'b'], ['b', 'b', 'a', 'a'])).kappa).toBe(-1);
  });

  it('single class on both sides: undefined → null with the reason, observed agreement 1', () => {
    const r = classificationReport(pairs(['a', 'a', 'a'], ['a', 'a', 'a']));
    expect(r.kappa).toBeNull();
    expect(r.kappa_note).toMatch(/same single label.*undefined/);
    expect(r.accuracy).toBe(1);
    const k = cohensKappa([[3]]);
    expect(k).toMatchObject({ kappa: null, observed: 1, expected: 1 });
  });

  it('single class in the truth only: the model cannot beat chance, kappa 0', () => {
    const r = classificationReport(pairs(['a', 'a', 'a', 'a'], ['a', 'a', 'b', 'b']));
    expect(r.kappa).toBe(0);
    expect(r.baseline_accuracy).toBe(1);
  });

  it('observed and expected agreement from the matrix', () => {
    const k = cohensKappa([[20, 5], [10, 15]]);
    // po = 35/50; pe = (25·30 + 25·20)/2500 = 0.5; κ = 0.2/0.5 = 0.4
    expect(k.observed).toBe(0.7);
    expect(k.expected).toBe(0.5);
    expect(k.kappa).toBeCloseTo(0.4, 12);
  });

  it('Landis & Koch words', () => {
    expect([-0.1, 0.1, 0.3, 0.5, 0.7, 0.9, null].map(kappaBand)).toEqual([
      'worse than chance', 'slight', 'fair', 'moderate', 'substantial', 'almost perfect', null,
    ]);
  });
});

describe('threshold sweep', () => {
  const outcomes = [
    { score: 0.9, correct: true },
    { score: 0.3, correct: false },
    { score: 0.8, correct: true },
    { score: 0.5, correct: false },
    { score: 0.7, correct: false },
    { score: 0.6, correct: true },
    { score: 0.5, correct: true },
  ];

  it('one point per distinct score, tied scores kept or dropped together, ending at 0 with all kept', () => {
    const { points } = thresholdSweep(outcomes, 0.75);
    expect(points.map((p) => [p.threshold, p.kept])).toEqual([[0.9, 1], [0.8, 2], [0.7, 3], [0.6, 4], [0.5, 6], [0, 7]]);
    expect(points[2].precision).toBeCloseTo(2 / 3, 12);
    expect(points[4]).toMatchObject({ precision: 4 / 6, recall: 4 / 7, coverage: 6 / 7 });
  });

  it('suggests the lowest threshold meeting the target precision, as a number a person types', () => {
    const s = thresholdSweep(outcomes, 0.75).suggestion;
    expect(s).toMatchObject({ threshold: 0.6, precision: 0.75, recall: 3 / 7, coverage: 4 / 7, kept: 4 });
    expect(thresholdSweep(outcomes, 0.9).suggestion.threshold).toBe(0.8);
  });

  it('0 when every image already meets the target; null with the best on offer when none does', () => {
    expect(thresholdSweep(outcomes, 0.5).suggestion).toMatchObject({ threshold: 0, kept: 7 });
    const none = thresholdSweep(outcomes, 1.01).suggestion;
    expect(none.threshold).toBeNull();
    expect(none.precision).toBe(1);
    expect(none.note).toMatch(/no threshold reaches 101.0 % precision; the best is 100.0 % at 0.9000/);
  });

  it('roundBetween picks the shortest decimal that still splits the two scores', () => {
    expect(roundBetween(0.5, 0.6)).toBe(0.6);
    // Several one-digit choices: the one nearest the middle of the gap.
    expect(roundBetween(0.3, 0.6)).toBe(0.5);
    expect(roundBetween(0.1, 0.9)).toBe(0.5);
    expect(roundBetween(0.28, 0.29)).toBe(0.29);
    expect(roundBetween(0.52, 0.5399)).toBe(0.53);
    expect(roundBetween(0.12344, 0.12346)).toBe(0.12345);
  });

  it('downsamples long curves to at most 101 points, first and last kept', () => {
    const many = Array.from({ length: 1000 }, (_, i) => ({ score: i / 1000, correct: i % 3 !== 0 }));
    const { points } = thresholdSweep(many, 0.9);
    expect(points).toHaveLength(101);
    expect(points[0].kept).toBe(1);
    expect(points[100].kept).toBe(1000);
  });
});

describe('agreement between two annotators', () => {
  const set = (source: string, entries: [string, string][], labels: string[]): LabelSet => ({
    source,
    kind: 'csv',
    labels,
    entries: new Map(entries),
    problems: [],
  });

  it('kappa, observed agreement, disagreements and files only one side labelled', () => {
    const a = set('a.csv', [['/f/1', 'meme'], ['/f/2', 'meme'], ['/f/3', 'doc'], ['/f/4', 'doc'], ['/f/5', 'meme'], ['/f/9', 'doc']], ['meme', 'doc']);
    const b = set('b.csv', [['/f/1', 'Meme'], ['/f/2', 'doc'], ['/f/3', 'doc'], ['/f/4', 'doc'], ['/f/5', 'meme'], ['/f/8', 'doc']], ['Meme', 'doc']);
    const r = compareAnnotations(a, b);
    expect(r.n).toBe(5);
    expect(r.labels).toEqual(['meme', 'doc']);
    expect(r.observed_agreement).toBe(0.8);
    // rows (a): meme 3, doc 2; columns (b): meme 2, doc 3 → pe = (6 + 6)/25; κ = (5·4 − 12)/(25 − 12) = 8/13
    expect(r.expected_agreement).toBeCloseTo(12 / 25, 12);
    expect(r.kappa).toBeCloseTo(8 / 13, 12);
    expect(r.kappa_band).toBe('substantial'); // 0.615
    expect(r.disagreements).toEqual([{ path: '/f/2', a: 'meme', b: 'doc' }]);
    expect(r.only_in_a).toEqual(['/f/9']);
    expect(r.only_in_b).toEqual(['/f/8']);
    expect(r.confusion).toEqual({ meme: { meme: 2, doc: 1 }, doc: { meme: 0, doc: 2 } });
  });

  it('no file in common is an error that says how paths are matched', () => {
    expect(() => compareAnnotations(set('a.csv', [['/x/1', 'a']], ['a']), set('b.csv', [['/y/1', 'a']], ['a']))).toThrow(
      /no file is labelled in both.*resolved against each CSV's own folder/,
    );
  });
});
