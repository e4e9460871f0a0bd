import { describe, expect, it } from 'vitest';
import { foldsOf } from '../src/engine/eval/confirmed.js';
import { labelCurves } from '../src/engine/eval/curves.js';

describe('per-label precision/recall curves', () => {
  it('ranks by the label’s own score: points and average precision by hand', () => {
    // "a" scores, best first: a(0.9) b(0.8) a(0.7) b(0.6) a(0.5); truth a has 3 positives.
    const images = [
      { truth: 'a', scores: { a: 0.9, b: 0.1 } },
      { truth: 'b', scores: { a: 0.8, b: 0.2 } },
      { truth: 'a', scores: { a: 0.7, b: 0.3 } },
      { truth: 'b', scores: { a: 0.6, b: 0.4 } },
      { truth: 'a', scores: { a: 0.5, b: 0.5 } },
    ];
    const curves = labelCurves(images, ['a', 'b', 'c']);
    expect(curves.a.positives).toBe(3);
    expect(curves.a.points).toEqual([
      { threshold: 0.9, precision: 1, recall: 1 / 3 },
      { threshold: 0.8, precision: 1 / 2, recall: 1 / 3 },
      { threshold: 0.7, precision: 2 / 3, recall: 2 / 3 },
      { threshold: 0.6, precision: 2 / 4, recall: 2 / 3 },
      { threshold: 0.5, precision: 3 / 5, recall: 1 },
    ]);
    // Σ ΔR·P = 1/3·1 + 1/3·2/3 + 1/3·3/5
    expect(curves.a.average_precision).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 3, 12);
    // "b": ranked 0.5(a) 0.4(b) 0.3(a) 0.2(b) 0.1(a); the curve ends where the last b is kept.
    expect(curves.b.average_precision).toBeCloseTo((1 / 2) * (1 / 2) + (1 / 2) * (2 / 4), 12);
    expect(curves.b.points.at(-1)).toEqual({ threshold: 0.2, precision: 2 / 4, recall: 1 });
    expect(curves.b.points).toHaveLength(4);
    // A label no image truly has: no curve, no AP (not a misleading 0).
    expect(curves.c).toEqual({ positives: 0, average_precision: null, points: [] });
  });

  it('tied scores are one threshold; a perfect ranking has AP 1; long curves are thinned to the cap', () => {
    const tied = labelCurves(
      [
        { truth: 'a', scores: { a: 0.7 } },
        { truth: 'b', scores: { a: 0.7 } },
        { truth: 'a', scores: { a: 0.2 } },
      ],
      ['a'],
    );
    expect(tied.a.points).toEqual([
      { threshold: 0.7, precision: 1 / 2, recall: 1 / 2 },
      { threshold: 0.2, precision: 2 / 3, recall: 1 },
    ]);
    const many = Array.from({ length: 500 }, (_, i) => ({ truth: i < 250 ? 'a' : 'b', scores: { a: 1 - i / 500 } }));
    const perfect = labelCurves(many, ['a'], 51);
    expect(perfect.a.average_precision).toBeCloseTo(1, 12);
    expect(perfect.a.points).toHaveLength(51);
    expect(perfect.a.points[0].threshold).toBe(1);
    // Ends where every positive is kept, not after the 250 negatives below them.
    expect(perfect.a.points.at(-1)).toMatchObject({ recall: 1, precision: 1, threshold: 1 - 249 / 500 });
  });
});

describe('cross-validation folds of confirmed marks', () => {
  it('round-robin within each label, every fold holding every label it can', () => {
    const ys = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    const folds = foldsOf(ys, 5);
    for (const label of [0, 1]) {
      const mine = folds.filter((_, i) => ys[i] === label);
      expect(new Set(mine).size).toBe(5);
    }
    // Labels with a single mark each start at different folds, so one fold is not all of them.
    expect(new Set(foldsOf([0, 1, 2, 3], 5)).size).toBe(4);
  });
});
