import { describe, expect, it } from 'vitest';
import { BLEND_GRID, blendedScores, fitFewShot } from '../src/engine/eval/few-shot.js';
import type { Scoring } from '../src/engine/models/types.js';
import { applyScoring, labelMatrix, scoreMatrix, topIndex, type LabelMatrix } from '../src/engine/sort/scoring.js';
import { Prng } from './support/synthetic/prng.js';

const SOFTMAX: Scoring = { kind: 'softmax', logitScale: 100, logitBias: 0 };
const SIGMOID: Scoring = { kind: 'sigmoid', logitScale: 10, logitBias: -5 };

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

function withExtraLabel(text: LabelMatrix, prng: Prng): LabelMatrix {
  const extra = unit(Array.from({ length: text.dim }, () => prng.gaussian()));
  const rows = Array.from({ length: text.count }, (_, k) => text.data.slice(k * text.dim, (k + 1) * text.dim));
  return labelMatrix([...rows, extra]);
}

/** `perLabel` noisy points around one random centre per label, plus text embeddings that know nothing. */
function clusters(prng: Prng, labels: number, perLabel: number, dim: number, noise: number) {
  const centres = Array.from({ length: labels }, () => Array.from({ length: dim }, () => prng.gaussian()));
  const sample = (k: number) => unit(centres[k].map((c) => c + noise * prng.gaussian()));
  const rows: Float32Array[] = [];
  const y: number[] = [];
  for (let k = 0; k < labels; k++) for (let s = 0; s < perLabel; s++) {
    rows.push(sample(k));
    y.push(k);
  }
  const text = labelMatrix(Array.from({ length: labels }, () => unit(Array.from({ length: dim }, () => prng.gaussian()))));
  const flat = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => flat.set(r, i * dim));
  return { text, examples: flat, y, sample };
}

/**
 * Leave-one-out written the slow, obvious way: for each example, class means of the others, their
 * centre, the blended cosines, the model's scoring rule.
 */
function bruteForceLoo(examples: Float32Array, y: number[], text: LabelMatrix, scoring: Scoring, blend: number) {
  const n = y.length;
  const d = text.dim;
  const l = text.count;
  const row = (i: number) => Array.from(examples.subarray(i * d, (i + 1) * d));
  const dot = (a: number[], b: number[]) => a.reduce((s, v, j) => s + v * b[j], 0);
  let correct = 0;
  let brier = 0;
  for (let out = 0; out < n; out++) {
    const means: (number[] | null)[] = [];
    for (let k = 0; k < l; k++) {
      const members = [...Array(n).keys()].filter((i) => i !== out && y[i] === k);
      means.push(members.length ? row(0).map((_, j) => members.reduce((s, i) => s + examples[i * d + j], 0) / members.length) : null);
    }
    const present = means.filter((m): m is number[] => m !== null);
    const centre = row(0).map((_, j) => present.reduce((s, m) => s + m[j], 0) / present.length);
    const x = row(out).map((v, j) => v - centre[j]);
    const cos = new Float32Array(l);
    for (let k = 0; k < l; k++) {
      const t = Array.from(text.data.subarray(k * d, (k + 1) * d));
      const m = means[k];
      let proto = 0;
      if (m && present.length >= 2) {
        const q = m.map((v, j) => v - centre[j]);
        proto = dot(x, q) / Math.sqrt(dot(x, x) * dot(q, q));
      }
      cos[k] = dot(row(out), t) + blend * proto;
    }
    const p = applyScoring(cos, l, scoring);
    if (topIndex(p, 0, l) === y[out]) correct++;
    p.forEach((v, k) => (brier += (v - (k === y[out] ? 1 : 0)) ** 2));
  }
  return { loo_accuracy: correct / n, loo_brier: brier / n };
}

describe('few-shot fit (class means blended with the text, weight by leave-one-out)', () => {
  it('leave-one-out accuracy and Brier score equal recomputing without each example, for every blend', () => {
    for (const [scoring, seed] of [[SOFTMAX, 3], [SIGMOID, 4]] as const) {
      const prng = new Prng(seed);
      const { text, examples, y } = clusters(prng, 3, 5, 12, 1.2);
      // One label with a single example: its fold has no class mean left for it.
      const text4 = withExtraLabel(text, prng);
      const someExamples = examples.slice(0, 11 * 12);
      const labelsOf = [...y.slice(0, 10), 3];
      const fit = fitFewShot({ labels: ['a', 'b', 'c', 'd'], text: text4, scoring, examples: someExamples, exampleLabels: labelsOf });
      expect(fit.summary.candidates.map((c) => c.blend)).toEqual([0, ...BLEND_GRID]);
      for (const c of fit.summary.candidates) {
        const brute = bruteForceLoo(someExamples, labelsOf, text4, scoring, c.blend);
        expect(c.loo_accuracy, `blend ${c.blend}`).toBeCloseTo(brute.loo_accuracy, 10);
        expect(c.loo_brier, `blend ${c.blend}`).toBeCloseTo(brute.loo_brier, 5);
      }
    }
  });

  it('learns labels the text cannot express and lifts held-out accuracy far above zero-shot', () => {
    const prng = new Prng(11);
    const { text, examples, y, sample } = clusters(prng, 4, 8, 32, 0.8);
    const labels = ['a', 'b', 'c', 'd'];
    const fit = fitFewShot({ labels, text, scoring: SOFTMAX, examples, exampleLabels: y });
    expect(fit.summary.used).toBe(true);
    expect(fit.summary.shots).toEqual({ a: 8, b: 8, c: 8, d: 8 });
    expect(fit.summary.loo_accuracy).toBeGreaterThan(fit.summary.zero_shot_accuracy);
    expect(fit.summary.blend).toBeGreaterThan(0);

    const heldOut: Float32Array[] = [];
    const truth: number[] = [];
    for (let k = 0; k < 4; k++) for (let s = 0; s < 50; s++) {
      heldOut.push(sample(k));
      truth.push(k);
    }
    const images = new Float32Array(heldOut.length * 32);
    heldOut.forEach((r, i) => images.set(r, i * 32));
    const scores = scoreMatrix(images, heldOut.length, text, SOFTMAX);
    const accuracy = () => truth.filter((t, i) => topIndex(scores, i, 4) === t).length / truth.length;
    const zeroShot = accuracy();
    scores.set(blendedScores(fit, images, heldOut.length, text, SOFTMAX));
    const fewShot = accuracy();
    expect(zeroShot).toBeLessThan(0.5);
    expect(fewShot).toBeGreaterThan(0.95);
    // Still scores a threshold can be compared with: each row in [0,1] and summing to 1.
    for (let r = 0; r < heldOut.length; r++) {
      let sum = 0;
      for (let k = 0; k < 4; k++) {
        const v = scores[r * 4 + k];
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('keeps zero-shot when the examples add nothing the text did not already get right', () => {
    // Text embeddings that are the cluster directions themselves, examples far from any other label.
    const dim = 8;
    const axes = Array.from({ length: 3 }, (_, k) => unit(Array.from({ length: dim }, (_, j) => (j === k ? 1 : 0))));
    const text = labelMatrix(axes);
    const prng = new Prng(5);
    const rows = [0, 0, 1, 1, 2, 2].map((k) => unit(Array.from({ length: dim }, (_, j) => (j === k ? 1 : 0) + 0.01 * prng.gaussian())));
    const examples = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => examples.set(r, i * dim));
    const fit = fitFewShot({ labels: ['x', 'y', 'z'], text, scoring: SOFTMAX, examples, exampleLabels: [0, 0, 1, 1, 2, 2] });
    expect(fit.summary.zero_shot_accuracy).toBe(1);
    // Zero-shot is already confident and right: no blend beats its Brier score by enough to be chosen
    // unless it is strictly better, and scores are left untouched when it is not.
    const before = scoreMatrix(examples, 6, text, SOFTMAX);
    const after = blendedScores(fit, examples, 6, text, SOFTMAX);
    for (let i = 0; i < 6; i++) expect(topIndex(after, i, 3)).toBe(topIndex(before, i, 3));
    if (!fit.summary.used) expect(after).toEqual(before);
  });

  it('one example, or none, cannot be judged by leaving it out: zero-shot is kept', () => {
    const prng = new Prng(9);
    const { text, examples } = clusters(prng, 2, 1, 6, 0.5);
    const one = fitFewShot({ labels: ['a', 'b'], text, scoring: SOFTMAX, examples: examples.slice(0, 6), exampleLabels: [1] });
    expect(one.summary).toMatchObject({ used: false, blend: 0, shots: { a: 0, b: 1 }, note: 'examples of at least two labels are needed' });
    expect(one.prototypes).toBeNull();
    const none = fitFewShot({ labels: ['a', 'b'], text, scoring: SOFTMAX, examples: new Float32Array(0), exampleLabels: [] });
    expect(none.summary).toMatchObject({ used: false, zero_shot_accuracy: 0, note: 'no examples', candidates: [{ blend: 0 }] });
    const images = Float32Array.from(examples);
    expect(blendedScores(none, images, 2, text, SOFTMAX)).toEqual(scoreMatrix(images, 2, text, SOFTMAX));
  });

  it('sigmoid (SigLIP) models blend on their own rule, scores staying in [0,1]', () => {
    const prng = new Prng(21);
    const { text, examples, y, sample } = clusters(prng, 3, 6, 16, 0.7);
    const fit = fitFewShot({ labels: ['a', 'b', 'c'], text, scoring: SIGMOID, examples, exampleLabels: y });
    expect(fit.summary.used).toBe(true);
    const images = new Float32Array(30 * 16);
    const truth: number[] = [];
    for (let i = 0; i < 30; i++) {
      images.set(sample(i % 3), i * 16);
      truth.push(i % 3);
    }
    const scores = blendedScores(fit, images, 30, text, SIGMOID);
    expect(scores.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(truth.filter((t, i) => topIndex(scores, i, 3) === t).length).toBeGreaterThanOrEqual(27);
  });
});
