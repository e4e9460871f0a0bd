import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../src/engine/eval/evaluate.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { writeDayNightTree } from './support/eval-fixtures.js';
import { colourModelDir } from './support/models.js';
import { tempDir, writePhoto } from './support/sort-fixtures.js';

let work: string;
let model: ClipModel;
let library: Library;
let truthDir: string;
let examplesDir: string;

beforeAll(async () => {
  work = tempDir('eval-evaluate');
  truthDir = path.join(work, 'gabarito');
  examplesDir = path.join(work, 'exemplos');
  // Held-out images and examples come from different seeds: no example is in the truth.
  await writeDayNightTree(truthDir, 20, 7);
  await writeDayNightTree(examplesDir, 6, 8);
  model = await loadModel(await colourModelDir(), { device: 'cpu' });
  library = Library.open(path.join(work, 'lib.sqlite'));
});

afterAll(async () => {
  library?.close();
  await model?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('evaluate: labels the text tower cannot express ("dia"/"noite" on light/dark photos)', () => {
  it('zero-shot is near chance; a few examples per label lift held-out accuracy to ≥ 90 %', async () => {
    const report = await evaluate({ truth: truthDir, examples: examplesDir, library, model });
    expect(report.n).toBe(40);
    expect(report.missing).toEqual([]);
    expect(report.excluded_examples).toBe(0);
    expect(report.zero_shot).not.toBeNull();
    const zs = report.zero_shot!;
    expect(zs.accuracy).toBeLessThanOrEqual(0.65);
    expect(Math.abs(zs.kappa ?? 0)).toBeLessThanOrEqual(0.3);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(report.kappa!).toBeGreaterThanOrEqual(0.8);
    expect(report.few_shot).toMatchObject({ used: true, shots: { dia: 6, noite: 6 }, skipped: [] });
    expect(report.few_shot!.blend).toBeGreaterThan(0);
    expect(report.baseline_accuracy).toBe(0.5);
    expect(report.labels).toEqual(['dia', 'noite']);
    expect(report.per_label.dia.support + report.per_label.noite.support).toBe(40);
    expect(report.model).toBe(library.modelKey(model.info));
  });

  it('examples that are also truth images are left out of the score, not graded on', async () => {
    const report = await evaluate({
      truth: truthDir,
      examples: [
        ...Object.entries(await listTree(truthDir)).slice(0, 3).map(([p, label]) => ({ path: p, label })),
        ...fs.readdirSync(path.join(examplesDir, 'noite')).map((n) => ({ path: path.join(examplesDir, 'noite', n), label: 'noite' })),
      ],
      library,
      model,
    });
    expect(report.excluded_examples).toBe(3);
    expect(report.n).toBe(37);
  });
});

async function listTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const label of fs.readdirSync(root).sort()) {
    for (const name of fs.readdirSync(path.join(root, label)).sort()) out[path.join(root, label, name)] = label;
  }
  return out;
}

describe('evaluate: CSV ground truth and what cannot be scored', () => {
  it('reports files that do not exist or cannot be decoded, and scores the rest', async () => {
    const dir = path.join(work, 'csv-truth');
    await writePhoto(path.join(dir, 'fotos/r.jpg'), 'red', 1);
    await writePhoto(path.join(dir, 'fotos/b.jpg'), 'blue', 2);
    fs.writeFileSync(path.join(dir, 'fotos/quebrada.jpg'), 'not an image');
    fs.writeFileSync(path.join(dir, 'gabarito.csv'), 'path,label\r\nfotos/r.jpg,vermelho\r\nfotos/b.jpg,azul\r\nfotos/sumiu.jpg,azul\r\nfotos/quebrada.jpg,vermelho\r\n');
    const report = await evaluate({ truth: path.join(dir, 'gabarito.csv'), library, model });
    expect(report.n).toBe(2);
    expect(report.accuracy).toBe(1);
    expect(report.kappa).toBe(1);
    expect(report.missing.map((m) => [path.basename(m.path), m.reason.length > 0])).toEqual([
      ['sumiu.jpg', true],
      ['quebrada.jpg', true],
    ]);
    expect(report.missing[0].reason).toBe('no such file');
    expect(report.sweep?.suggestion.threshold).toBe(0);
    expect(report.zero_shot).toBeNull();
    expect(report.few_shot).toBeNull();
  });

  it('a truth label missing from --labels is reported, and counts as wrong', async () => {
    const report = await evaluate({ truth: truthDir, labels: ['dia', 'vermelho'], library, model });
    expect(report.problems.map((p) => p.message)).toContain('truth label "noite" is not among the labels sorted into; its images cannot be right');
    expect(report.per_label.noite.recall).toBe(0);
    expect(report.labels).toEqual(['dia', 'noite', 'vermelho']);
  });

  it('with a sort threshold, unsure images count as wrong while the sweep still sees their best label', async () => {
    const plain = await evaluate({ truth: truthDir, library, model });
    const cut = await evaluate({ truth: truthDir, library, model, threshold: 0.505 });
    const unsure = cut.labels.reduce((s, l) => s + (cut.confusion[l].unsure ?? 0), 0);
    expect(unsure).toBeGreaterThan(0);
    expect(cut.columns).toEqual(['dia', 'noite', 'unsure']);
    // Only the diagonal counts: an image sent to unsure is wrong even when its best label was right.
    expect(cut.accuracy).toBe(cut.labels.reduce((s, l) => s + cut.confusion[l][l], 0) / 40);
    expect(cut.accuracy).toBeLessThanOrEqual(plain.accuracy);
    for (const l of cut.labels) expect(cut.per_label[l].support).toBe(plain.per_label[l].support);
    // The curve is drawn from the best label and its score, so it is the same with or without the cut.
    expect(cut.sweep!.points).toEqual(plain.sweep!.points);
  });

  it('without predictions and without a model it says what is needed', async () => {
    await expect(evaluate({ truth: truthDir })).rejects.toThrow(/needs a model and a library/);
  });
});

describe('sortLibrary with examples', () => {
  it('no examples (or an empty list) gives exactly the zero-shot scores', async () => {
    const plain = await sortLibrary({ library, model, labels: ['dia', 'noite'] });
    const empty = await sortLibrary({ library, model, labels: ['dia', 'noite'], examples: [] });
    expect(empty.results.map((r) => r.scores)).toEqual(plain.results.map((r) => r.scores));
    expect(empty.fewShot).toBeUndefined();
  });

  it('skips examples it cannot use and says why, using the rest', async () => {
    const some = fs.readdirSync(path.join(examplesDir, 'dia')).map((n) => path.join(examplesDir, 'dia', n));
    const dark = fs.readdirSync(path.join(examplesDir, 'noite')).map((n) => path.join(examplesDir, 'noite', n));
    const result = await sortLibrary({
      library,
      model,
      labels: ['dia', 'noite'],
      examples: [
        ...some.map((p) => ({ path: p, label: 'DIA' })),
        ...dark.map((p) => ({ path: p, label: 'noite' })),
        { path: path.join(work, 'nunca-indexada.jpg'), label: 'dia' },
        { path: some[0], label: 'crepúsculo' },
        { path: dark[0], label: 'dia' },
      ],
    });
    expect(result.fewShot!.skipped.map((s) => [path.basename(s.example), s.reason])).toEqual([
      ['nunca-indexada.jpg', 'not in the library; index its folder first'],
      [path.basename(some[0]), '"crepúsculo" is not one of the labels sorted into'],
      [path.basename(dark[0]), 'the same image is also an example of "noite"'],
      [path.basename(dark[0]), 'the same image is an example of two labels; both left out'],
    ]);
    expect(result.fewShot!.shots).toEqual({ dia: 6, noite: 5 });
    expect(result.exampleContentIds).toHaveLength(11);
  });
});
