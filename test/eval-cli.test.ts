import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { writeDayNightTree } from './support/eval-fixtures.js';
import { colourModelDir } from './support/models.js';
import { tempDir } from './support/sort-fixtures.js';

let work: string;
beforeAll(() => {
  work = tempDir('eval-cli');
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function write(rel: string, content: string): string {
  const file = path.join(work, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

/** Floats compared to 12 digits, so hand-written fractions match the computed ones. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Number(value.toPrecision(12));
  if (Array.isArray(value)) return value.map(rounded);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
  return value;
}

describe('triagem eval --predictions (no model needed)', () => {
  // truth: a, b meme; c, d, e doc. predicted: a meme .9, b doc .6, c doc .8, d doc .7, e unsure .3 (+ f, not in the truth)
  let truth: string;
  let predictions: string;
  beforeAll(() => {
    truth = write('p/gabarito.csv', 'path,label\r\na.jpg,meme\r\nb.jpg,meme\r\nc.jpg,doc\r\nd.jpg,doc\r\ne.jpg,doc\r\n');
    predictions = write('p/previsto.csv', 'path,label,score\na.jpg,meme,0.9\nb.jpg,doc,0.6\nc.jpg,doc,0.8\nd.jpg,doc,0.7\ne.jpg,unsure,0.3\nf.jpg,meme,0.5\n');
  });

  it('prints the exact JSON report with the documented keys', async () => {
    const r = await runCli(['eval', '--truth', truth, '--predictions', predictions, '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(
      [
        'accuracy', 'baseline_accuracy', 'baseline_label', 'baseline_macro_f1', 'columns', 'confusion', 'excluded_examples',
        'extra_predictions', 'few_shot', 'kappa', 'kappa_note', 'label_curves', 'labels', 'macro_f1', 'missing', 'model', 'n', 'per_label',
        'predictions', 'problems', 'sweep', 'truth', 'zero_shot',
      ].sort(),
    );
    const { sweep, ...rest } = json;
    expect(rounded(rest)).toEqual(
      rounded({
        n: 5,
        labels: ['meme', 'doc'],
        columns: ['meme', 'doc', 'unsure'],
        accuracy: 3 / 5,
        macro_f1: 2 / 3,
        // categories meme/doc/unsure: rows (2,3,0), columns (1,3,1): (5·3 − 11) / (25 − 11)
        kappa: 2 / 7,
        kappa_note: null,
        baseline_label: 'doc',
        baseline_accuracy: 3 / 5,
        baseline_macro_f1: (2 * 0.6) / 1.6 / 2,
        per_label: {
          meme: { precision: 1, recall: 1 / 2, f1: 2 / 3, support: 2, predicted: 1 },
          doc: { precision: 2 / 3, recall: 2 / 3, f1: 2 / 3, support: 3, predicted: 3 },
        },
        confusion: { meme: { meme: 1, doc: 1, unsure: 0 }, doc: { meme: 0, doc: 2, unsure: 1 } },
        // A predictions CSV carries the winner's score only: no per-label curve can be drawn.
        label_curves: null,
        truth,
        predictions,
        model: null,
        zero_shot: null,
        few_shot: null,
        missing: [],
        extra_predictions: 1,
        excluded_examples: 0,
        problems: [],
      }),
    );
    expect(rounded(sweep)).toEqual(
      rounded({
        points: [
          { threshold: 0.9, precision: 1, recall: 1 / 5, coverage: 1 / 5, kept: 1 },
          { threshold: 0.8, precision: 1, recall: 2 / 5, coverage: 2 / 5, kept: 2 },
          { threshold: 0.7, precision: 1, recall: 3 / 5, coverage: 3 / 5, kept: 3 },
          { threshold: 0.6, precision: 3 / 4, recall: 3 / 5, coverage: 4 / 5, kept: 4 },
          { threshold: 0, precision: 3 / 5, recall: 3 / 5, coverage: 1, kept: 5 },
        ],
        suggestion: {
          target_precision: 0.9,
          threshold: 0.7,
          precision: 1,
          recall: 3 / 5,
          coverage: 3 / 5,
          kept: 3,
          note: 'threshold 0.7 keeps 3 of 5 images at 100.0 % precision',
        },
      }),
    );
  });

  it('prints a readable table', async () => {
    const r = await runCli(['eval', '--truth', truth, '--predictions', predictions, '--target-precision', '0.75']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(
      [
        `5 images of ${truth} checked against predictions ${predictions}`,
        '',
        'accuracy               60.0 %',
        'macro-F1                0.667',
        "Cohen's kappa      0.286 fair",
        'majority baseline      60.0 %',
        '(the baseline always answers "doc": macro-F1 0.375, kappa 0)',
        '',
        'label  support  precision  recall     F1',
        'meme         2      1.000   0.500  0.667',
        'doc          3      0.667   0.667  0.667',
        '',
        'confusion (rows: true label, columns: predicted)',
        '      meme  doc  unsure',
        'meme     1    1       0',
        'doc      0    2       1',
        '',
        'threshold for 75.0 % precision: --threshold 0.5 (keeps 4 of 5 images: precision 75.0 %, recall 60.0 %)',
      ].join('\n'),
    );
    expect(r.err).toBe('1 prediction(s) for files the truth does not mention were ignored');
  });

  it('matches a hand-corrected copy of the files to the results CSV by sha256, and lists what it cannot match', async () => {
    const original = write('s/fotos/x.jpg', 'bytes of x');
    write('s/fotos/y.jpg', 'bytes of y');
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const csv = write(
      's/triagem-results.csv',
      `image_name,label,score,path,sha256,score:dia,score:noite\r\nx.jpg,noite,0.8,${original},${sha('bytes of x')},0.2,0.8\r\ny.jpg,unsure,0.6,${path.join(work, 's/fotos/y.jpg')},${sha('bytes of y')},0.6,0.4\r\n`,
    );
    write('s/corrigido/dia/x.jpg', 'bytes of x');
    write('s/corrigido/dia/y.jpg', 'bytes of y');
    write('s/corrigido/noite/z.jpg', 'bytes of z');
    const r = await runCli(['eval', '--truth', path.join(work, 's/corrigido'), '--predictions', csv, '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.n).toBe(2);
    expect(json.confusion).toEqual({ dia: { dia: 0, noite: 1, unsure: 1 }, noite: { dia: 0, noite: 0, unsure: 0 } });
    // y went to unsure, but its best label was right: a lower threshold would have kept it.
    expect(json.sweep.points.at(-1)).toMatchObject({ threshold: 0, precision: 0.5, kept: 2 });
    expect(json.missing).toEqual([{ path: path.join(work, 's/corrigido/noite/z.jpg'), reason: `no prediction in ${csv}` }]);
    const table = await runCli(['eval', '--truth', path.join(work, 's/corrigido'), '--predictions', csv]);
    expect(table.err).toContain(`1 truth image(s) not scored:\n  ${path.join(work, 's/corrigido/noite/z.jpg')}: no prediction in ${csv}`);
  });

  it('usage errors exit 2, bad input exits 1 naming the file and line', async () => {
    expect((await runCli(['eval'])).code).toBe(2);
    expect((await runCli(['eval', '--truth', path.join(work, 'nada')])).code).toBe(2);
    const both = await runCli(['eval', '--truth', truth, '--predictions', predictions, '--examples', work]);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--examples: only for when eval sorts the images itself, without --predictions');
    expect((await runCli(['eval', '--truth', truth, '--predictions', predictions, '--target-precision', '1.5'])).code).toBe(2);
    const broken = write('p/quebrado.csv', 'path,label\na.jpg,"meme\n');
    const r = await runCli(['eval', '--truth', broken, '--predictions', predictions]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`triagem eval: ${broken}:2: unclosed quote: the quoted field starting here never ends`);
    const unrelated = write('p/outro.csv', 'path,label\nzzz.jpg,meme\n');
    const none = await runCli(['eval', '--truth', unrelated, '--predictions', predictions]);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no file of the truth has a prediction/);
  });
});

describe('triagem eval sorting with the colour model', () => {
  it('indexes the truth, sorts it, and shows few-shot beside zero-shot per label', async () => {
    const model = await colourModelDir();
    const truth = path.join(work, 'dn/gabarito');
    const examples = path.join(work, 'dn/exemplos');
    await writeDayNightTree(truth, 12, 17);
    await writeDayNightTree(examples, 5, 18);
    const lib = path.join(work, 'dn/lib.sqlite');
    const r = await runCli(['eval', '--truth', truth, '--examples', examples, '--model', model, '--library', lib]);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^24 images of .*gabarito checked against a sort with colour-clip:/);
    expect(lines[2]).toMatch(/^\s+few-shot\s+zero-shot$/);
    const accuracy = lines[3].match(/^accuracy\s+([\d.]+) %\s+([\d.]+) %$/);
    expect(accuracy, lines[3]).not.toBeNull();
    expect(Number(accuracy![1])).toBeGreaterThanOrEqual(90);
    expect(Number(accuracy![2])).toBeLessThanOrEqual(65);
    expect(r.out).toMatch(/label\s+support\s+precision\s+recall\s+F1\s+zero-shot F1/);
    expect(r.out).toMatch(/few-shot: examples dia 5, noite 5; weight [\d.]+ chosen by leave-one-out/);

    const json = JSON.parse((await runCli(['eval', '--truth', truth, '--examples', examples, '--model', model, '--library', lib, '--json'])).out);
    expect(json.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(json.zero_shot.accuracy).toBeLessThanOrEqual(0.65);
    expect(Object.keys(json.zero_shot.per_label)).toEqual(['dia', 'noite']);
    expect(json.few_shot).toMatchObject({ used: true, shots: { dia: 5, noite: 5 }, skipped: [] });
    expect(json.model).toMatch(/^colour-clip:/);
  });
});

describe('triagem agreement', () => {
  let a: string;
  let b: string;
  beforeAll(() => {
    a = write('ag/ana.csv', 'path,label\n1.jpg,meme\n2.jpg,meme\n3.jpg,doc\n4.jpg,doc\n5.jpg,meme\n9.jpg,doc\n');
    b = write('ag/bia/bia.csv', 'arquivo;rótulo\n../1.jpg;Meme\n../2.jpg;doc\n../3.jpg;doc\n../4.jpg;doc\n../5.jpg;meme\n../8.jpg;doc\n');
  });

  it('prints exact JSON', async () => {
    const r = await runCli(['agreement', a, b, '--json']);
    expect(r.code, r.err).toBe(0);
    const dir = path.join(work, 'ag');
    expect(rounded(JSON.parse(r.out))).toEqual(
      rounded({
        a,
        b,
        n: 5,
        labels: ['meme', 'doc'],
        observed_agreement: 0.8,
        expected_agreement: 12 / 25,
        kappa: 8 / 13,
        kappa_note: null,
        kappa_band: 'substantial',
        confusion: { meme: { meme: 2, doc: 1 }, doc: { meme: 0, doc: 2 } },
        disagreements: [{ path: path.join(dir, '2.jpg'), a: 'meme', b: 'doc' }],
        only_in_a: [path.join(dir, '9.jpg')],
        only_in_b: [path.join(dir, '8.jpg')],
        problems: [],
      }),
    );
  });

  it('prints a readable table and lists files only one side labelled on stderr', async () => {
    const r = await runCli(['agreement', a, b]);
    expect(r.code).toBe(0);
    const dir = path.join(work, 'ag');
    expect(r.out).toBe(
      [
        `a: ${a}`,
        `b: ${b}`,
        'files labelled by both: 5 (1 only in a, 1 only in b)',
        'observed agreement: 80.0 % (by chance: 48.0 %)',
        "Cohen's kappa: 0.615 (substantial)",
        '',
        'rows: a, columns: b',
        '      meme  doc',
        'meme     2    1',
        'doc      0    2',
        '',
        'disagreements (1):',
        `path${' '.repeat(path.join(dir, '2.jpg').length - 2)}a     b`,
        `${path.join(dir, '2.jpg')}  meme  doc`,
      ].join('\n'),
    );
    expect(r.err).toBe(`1 file(s) only in a:\n  ${path.join(dir, '9.jpg')}\n1 file(s) only in b:\n  ${path.join(dir, '8.jpg')}`);
  });

  it('compares a folder tree with a CSV, and single-label agreement has no kappa', async () => {
    write('ag2/pastas/meme/1.jpg', 'x');
    write('ag2/pastas/meme/2.jpg', 'x');
    const csv = write('ag2/b.csv', 'pastas/meme/1.jpg,meme\npastas/meme/2.jpg,meme\n');
    const r = await runCli(['agreement', path.join(work, 'ag2/pastas'), csv, '--json']);
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out);
    expect(json).toMatchObject({ n: 2, observed_agreement: 1, kappa: null, kappa_band: null, disagreements: [] });
    expect(json.kappa_note).toMatch(/undefined/);
    const table = await runCli(['agreement', path.join(work, 'ag2/pastas'), csv]);
    expect(table.out).toContain("Cohen's kappa: — (both sides gave every image the same single label");
  });

  it('one file, or files with nothing in common: exit 2 and exit 1', async () => {
    expect((await runCli(['agreement', a])).code).toBe(2);
    const other = write('ag/outro.csv', 'x.jpg,meme\n');
    const r = await runCli(['agreement', a, other]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no file is labelled in both/);
  });
});

describe('triagem sort --examples (few-shot labels)', () => {
  it('sorts day/night photos the text alone cannot tell apart, from a few examples per label', async () => {
    const root = tempDir('sort-examples');
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'clip-vit-b32'), { recursive: true });
    const truth = await writeDayNightTree(path.join(root, 'fotos'), 15, 21);
    await writeDayNightTree(path.join(root, 'exemplos'), 5, 22);
    const common = ['--source', path.join(root, 'fotos'), '--labels', 'dia, noite', '--library', path.join(root, 'lib.sqlite'), '--models-dir', modelsDir, '--json'];
    const score = (out: string) => {
      const results = JSON.parse(out).results as { path: string; label: string }[];
      expect(results).toHaveLength(30);
      return results.filter((r) => truth[r.path] === r.label).length / results.length;
    };
    const zero = await runCli(['sort', ...common]);
    expect(zero.code).toBe(0);
    const few = await runCli(['sort', ...common, '--examples', path.join(root, 'exemplos')]);
    expect(few.code).toBe(0);
    expect(score(zero.out)).toBeLessThanOrEqual(0.7);
    expect(score(few.out)).toBeGreaterThanOrEqual(0.9);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
