// Few-shot from the window's review marks, through the real service (outputs checked against the
// contract) and the CLI: "dia"/"noite" are labels the colour model's text tower cannot express, so
// zero-shot sits near chance; photos a person confirmed in review lift the held-out photos, and the
// Evaluate screen's op measures both sides on the marks (cross-validated) or on a truth CSV.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { createClient, type TriagemClient } from '../src/shared/client.js';
import type { OpOutput } from '../src/shared/contract.js';
import { runCli } from './support/cli.js';
import { writeDayNightTree } from './support/eval-fixtures.js';
import { colourModelDir } from './support/models.js';
import { tempDir } from './support/sort-fixtures.js';

const LABELS = ['dia', 'noite'];

function localClient(service: EngineService): TriagemClient {
  return createClient({
    invoke: (op, input) => service.invoke(op, input),
    on: (event, listener) => service.onEvent((name, payload) => name === event && listener(payload as never)),
  });
}

/** Share of the sorted photos under `folder` whose label is their parent folder's name (dia/noite). */
function heldOutAccuracy(out: OpOutput<'sort.run'>, folder: string): number {
  const held = out.results.filter((r) => r.path.startsWith(folder + path.sep));
  return held.filter((r) => path.basename(path.dirname(r.path)) === r.label).length / held.length;
}

describe('few-shot from the photos confirmed in review', () => {
  let root: string;
  let modelsDir: string;
  let libraryPath: string;
  let heldOut: string;
  let reviewed: string;
  let service: EngineService;
  let client: TriagemClient;
  let reviewedIds: { dia: number[]; noite: number[] };
  let zeroShot: OpOutput<'sort.run'>;

  beforeAll(async () => {
    root = tempDir('eval-confirmed');
    modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    heldOut = path.join(root, 'fotos', 'pauta');
    reviewed = path.join(root, 'fotos', 'revisadas');
    // Different seeds: no reviewed photo is among the held-out ones.
    await writeDayNightTree(heldOut, 20, 7);
    await writeDayNightTree(reviewed, 6, 8);
    libraryPath = path.join(root, 'library.sqlite');
    service = createEngineService({ libraryPath, modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
    client = localClient(service);
    await client.invoke('index.start', { folders: [path.join(root, 'fotos')], model: 'colour' });
    zeroShot = await client.invoke('sort.run', { labels: LABELS, limit: 1000 });
    const ids = async (label: string) => (await client.invoke('library.query', { filters: { folders: [path.join(reviewed, label)] } })).fileIds;
    reviewedIds = { dia: await ids('dia'), noite: await ids('noite') };
  });

  afterAll(async () => {
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('with nothing confirmed, the sort is zero-shot and near chance; the Evaluate op says there is nothing to grade', async () => {
    expect(zeroShot.fewShot).toBeNull();
    expect(zeroShot.total).toBe(52);
    expect(heldOutAccuracy(zeroShot, heldOut)).toBeLessThanOrEqual(0.65);
    await expect(client.invoke('eval.run', { truth: { kind: 'confirmed' } })).rejects.toMatchObject({ code: 'eval-empty' });
  });

  it('a re-sort after review learns from the confirmed photos: held-out accuracy from chance to ≥ 90 %', async () => {
    expect(reviewedIds.dia).toHaveLength(6);
    expect(reviewedIds.noite).toHaveLength(6);
    await client.invoke('review.mark', { fileIds: reviewedIds.dia, action: 'label', label: 'dia' });
    await client.invoke('review.mark', { fileIds: reviewedIds.noite, action: 'label', label: 'Noite' });
    // A mark for a label this sort does not have is not an example of anything here.
    const [stray] = (await client.invoke('library.query', { filters: { folders: [heldOut] } })).fileIds;
    await client.invoke('review.mark', { fileIds: [stray], action: 'label', label: 'meme' });

    const started = performance.now();
    const fewShot = await client.invoke('sort.run', { labels: LABELS, limit: 1000 });
    const ms = performance.now() - started;
    expect(fewShot.fewShot).toMatchObject({ used: true, shots: { dia: 6, noite: 6 } });
    expect(fewShot.fewShot!.blend).toBeGreaterThan(0);
    expect(heldOutAccuracy(fewShot, heldOut)).toBeGreaterThanOrEqual(0.9);
    // Generous: the point is that no image is encoded again (that alone would take seconds here).
    expect(ms).toBeLessThan(5000);

    const { summary } = await client.invoke('review.summary', {});
    expect(summary?.runId).toBe(fewShot.runId);
    expect(summary?.fewShot).toMatchObject({ used: true, shots: { dia: 6, noite: 6 } });

    const off = await client.invoke('sort.run', { labels: LABELS, limit: 1000, confirmed: false });
    expect(off.fewShot).toBeNull();
    expect(heldOutAccuracy(off, heldOut)).toBeCloseTo(heldOutAccuracy(zeroShot, heldOut), 10);
    expect((await client.invoke('review.summary', {})).summary?.fewShot).toBeNull();
  });

  it('Evaluate on the confirmed photos: text alone beside cross-validated examples, curves per label', async () => {
    const { latestRunId } = await client.invoke('app.status', {});
    const out = await client.invoke('eval.run', { truth: { kind: 'confirmed' } });
    expect(out.truth).toBe('confirmed');
    expect(out.runId).toBe(latestRunId);
    // 12 marks of this sort's labels; the "meme" mark is reported, not graded.
    expect(out.n).toBe(12);
    expect(out.confirmed).toBe(13);
    expect(out.problems.map((p) => p.message).join('\n')).toMatch(/"meme"/);
    expect(out.labels).toEqual(LABELS);
    expect(out.zeroShot).not.toBeNull();
    expect(out.zeroShot!.accuracy).toBeLessThanOrEqual(0.75);
    expect(out.fewShot).toMatchObject({ crossValidated: true, shots: { dia: 6, noite: 6 } });
    expect(out.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(out.accuracy).toBeGreaterThan(out.zeroShot!.accuracy);
    expect(out.kappaBand).toMatch(/substantial|almost-perfect/);
    const diag = out.confusion.dia.dia + out.confusion.noite.noite;
    expect(diag / out.n).toBeCloseTo(out.accuracy, 10);
    expect(out.perLabel.dia.support + out.perLabel.noite.support).toBe(12);
    expect(out.curves?.dia.positives).toBe(6);
    expect(out.curves?.dia.points.at(-1)?.recall).toBe(1);
    expect(out.curves?.dia.averagePrecision).toBeGreaterThan(0.8);
    // An evaluation measures; it is not a run the user reviews or exports.
    expect((await client.invoke('app.status', {})).latestRunId).toBe(latestRunId);
  });

  it('an evaluation awaiting its model keeps the library open while quicker ops come and go', async () => {
    // The writer is handed back between ops; an op finishing mid-evaluation must not close it under it.
    const [out] = await Promise.all([
      client.invoke('eval.run', { truth: { kind: 'confirmed' } }),
      client.invoke('app.status', {}),
      client.invoke('tags.list', {}),
      client.invoke('review.summary', {}),
    ]);
    expect(out.n).toBe(12);
  });

  it('Evaluate against a truth CSV: the confirmed photos are the few-shot examples, never graded', async () => {
    const csv = path.join(root, 'gabarito.csv');
    const rows = LABELS.flatMap((label) => fs.readdirSync(path.join(heldOut, label)).map((n) => `${path.join(heldOut, label, n)};${label}`));
    // One reviewed photo in the truth too: an example cannot be graded.
    const example = path.join(reviewed, 'dia', fs.readdirSync(path.join(reviewed, 'dia'))[0]);
    fs.writeFileSync(csv, ['caminho;rotulo', ...rows, `${example};dia`].join('\n'));
    const out = await client.invoke('eval.run', { truth: { kind: 'csv', path: csv } });
    expect(out.truth).toBe('csv');
    expect(out.truthPath).toBe(csv);
    expect(out.n).toBe(40);
    expect(out.excludedExamples).toBe(1);
    expect(out.zeroShot!.accuracy).toBeLessThanOrEqual(0.65);
    expect(out.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(out.fewShot).toMatchObject({ used: true, crossValidated: false, shots: { dia: 6, noite: 6 } });
    await expect(client.invoke('eval.run', { truth: { kind: 'csv', path: path.join(root, 'nao-existe.csv') } })).rejects.toThrow(/nao-existe/);
  });

  it('`triagem sort` learns from the same marks, and --no-confirmed sorts by the text alone', async () => {
    await service.close();
    const common = ['--labels', 'dia, noite', '--library', libraryPath, '--models-dir', modelsDir, '--model', 'colour', '--json'];
    const withMarks = await runCli(['sort', ...common]);
    expect(withMarks.code, withMarks.err).toBe(0);
    expect(withMarks.err).toMatch(/12 photo\(s\) confirmed in review used as examples/);
    const accuracy = (out: string) => {
      const results = (JSON.parse(out) as { results: { path: string; label: string }[] }).results.filter((r) => r.path.startsWith(heldOut + path.sep));
      return results.filter((r) => path.basename(path.dirname(r.path)) === r.label).length / results.length;
    };
    expect(accuracy(withMarks.out)).toBeGreaterThanOrEqual(0.9);
    const without = await runCli(['sort', ...common, '--no-confirmed']);
    expect(without.code, without.err).toBe(0);
    expect(without.err).not.toMatch(/confirmed in review/);
    expect(accuracy(without.out)).toBeLessThanOrEqual(0.65);
    const help = await runCli(['sort', '--help']);
    expect(help.out + help.err).toMatch(/--no-confirmed/);
    service = createEngineService({ libraryPath, modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
  });
});
