import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService } from '../src/app/service.js';
import { isPortugueseLocale, looksPortuguese } from '../src/app/language.js';
import { chooseModel, type ModelCandidate } from '../src/app/model-choice.js';
import { runCli } from './support/cli.js';
import { colourModelDir } from './support/models.js';
import { snapshot, tempDir, writePhotoTree } from './support/sort-fixtures.js';

describe('is it Portuguese?', () => {
  it.each([
    ['arma ou veículo militar, meme, documento', true],
    ['tanque destruído perto de uma ponte', true],
    ['uma foto de um documento', true],
    ['ônibus queimado', true],
    ['vermelho, verde, azul', true],
    ['a photo of a document', false],
    ['weapon or military vehicle, meme, document', false],
    ['red, green', false],
    ['', false],
  ])('%j → %s', (text, pt) => {
    expect(looksPortuguese([text])).toBe(pt);
  });

  it('reads pt locales in every spelling the OS and the UI use', () => {
    for (const l of ['pt', 'pt-BR', 'pt_BR.UTF-8', 'pt-PT']) expect(isPortugueseLocale(l)).toBe(true);
    for (const l of ['en-US', 'C.UTF-8', 'es', undefined]) expect(isPortugueseLocale(l)).toBe(false);
  });
});

describe('the one default-model policy', () => {
  const modelsDir = tempDir('choice-models');
  const candidates = (installed: string[]): ModelCandidate[] => [
    { id: 'clip-vit-b32', installed: installed.includes('clip-vit-b32'), isDefault: true, defaultFor: [] },
    { id: 'siglip2-b16-224', installed: installed.includes('siglip2-b16-224'), isDefault: false, defaultFor: ['pt'] },
  ];
  const both = { modelsDir, candidates: candidates(['clip-vit-b32', 'siglip2-b16-224']), libraryModels: [] };

  it('Portuguese labels or a pt locale get the multilingual model; English gets the default', () => {
    expect(chooseModel({ texts: ['arma ou veículo militar', 'documento'] }, both)).toMatchObject({ id: 'siglip2-b16-224', reason: expect.stringMatching(/Portuguese/) });
    expect(chooseModel({ locale: 'pt-BR' }, both)).toMatchObject({ id: 'siglip2-b16-224' });
    expect(chooseModel({ texts: ['weapon', 'document'], locale: 'pt-BR' }, both).id).toBe('clip-vit-b32');
    expect(chooseModel({ texts: ['weapon', 'document'] }, both)).toMatchObject({ id: 'clip-vit-b32', reason: 'the default model' });
  });

  it('a library answers with the model that indexed it, and says how to do better in Portuguese', () => {
    const held = { ...both, libraryModels: [{ id: 'clip-vit-b32', precision: 'quantized' as const, count: 10 }] };
    const choice = chooseModel({ texts: ['tanque destruído'] }, held);
    expect(choice).toMatchObject({ id: 'clip-vit-b32', precision: 'quantized', reason: 'the library was indexed with clip-vit-b32' });
    expect(choice.advice).toMatch(/--model siglip2-b16-224/);
    const mixed = { ...both, libraryModels: [{ id: 'clip-vit-b32', precision: 'quantized' as const, count: 3 }, { id: 'siglip2-b16-224', precision: 'fp16' as const, count: 30 }] };
    expect(chooseModel({ texts: ['red'] }, mixed)).toMatchObject({ id: 'siglip2-b16-224', precision: 'fp16' });
  });

  it('--model is authoritative, and names what to download when nothing is installed', () => {
    fs.mkdirSync(path.join(modelsDir, 'clip-vit-b32'), { recursive: true });
    expect(chooseModel({ model: 'clip-vit-b32', texts: ['documento'] }, both)).toMatchObject({ id: 'clip-vit-b32', reason: 'chosen with --model' });
    expect(() => chooseModel({ model: 'nope' }, both)).toThrow(/model "nope" is not installed/);
    const none = { modelsDir, candidates: candidates([]), libraryModels: [] };
    expect(() => chooseModel({ texts: ['documento'] }, none)).toThrow(/models download siglip2-b16-224.*multilingual.*models import/);
    const onlyClip = { modelsDir, candidates: candidates(['clip-vit-b32']), libraryModels: [] };
    expect(chooseModel({ texts: ['documento'] }, onlyClip)).toMatchObject({ id: 'clip-vit-b32', advice: expect.stringMatching(/models download siglip2-b16-224/) });
  });
});

describe('every door picks the same model', () => {
  let root: string;
  let modelsDir: string;
  let library: string;
  let photos: string;

  beforeAll(async () => {
    root = tempDir('choice-doors');
    modelsDir = path.join(root, 'models');
    // Stand-ins under the catalog's ids: the CLIP colour model as the English default, the SigLIP
    // colour model (sigmoid scoring, 64 fixed tokens) as the multilingual one.
    fs.cpSync(await colourModelDir('clip'), path.join(modelsDir, 'clip-vit-b32'), { recursive: true });
    fs.cpSync(await colourModelDir('siglip'), path.join(modelsDir, 'siglip2-b16-224'), { recursive: true });
    library = path.join(root, 'lib.sqlite');
    photos = path.join(root, 'fotos');
    await writePhotoTree(photos);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('sorting with Portuguese labels indexes a new library with the multilingual model and says why', async () => {
    const r = await runCli(['sort', '--source', photos, '--labels', 'vermelho, verde, azul', '--library', library, '--models-dir', modelsDir, '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/model: siglip2-b16-224 \(the labels or query are in Portuguese: using the multilingual model\)/);
  });

  it('`triagem search` in English and the app agree on the SigLIP2-indexed library, and search leaves the file untouched', async () => {
    const before = snapshot(root);
    const cli = await runCli(['search', 'red', '--library', library, '--models-dir', modelsDir, '--json', '--all']);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out).model).toBe('siglip2-b16-224:quantized');
    expect(cli.err).toMatch(/the library was indexed with siglip2-b16-224/);
    const service = createEngineService({ libraryPath: library, modelsDir, device: 'cpu', locale: 'en-US' });
    try {
      const answer = await service.invoke('search.text', { query: 'red', cutoff: false });
      expect(answer.ok && answer.value.modelKey).toBe('siglip2-b16-224:quantized');
    } finally {
      await service.close();
    }
    const after = snapshot(root);
    for (const [file, state] of before) expect(after.get(file), file).toEqual(state);
  });
});

describe('triagem doctor', () => {
  it('reports CPU in use here and why CUDA is not, without a model', async () => {
    const r = await runCli(['doctor', '--json', '--models-dir', tempDir('doctor-models'), '--library', path.join(tempDir('doctor-lib'), 'none.sqlite')]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.providers.find((p: { provider: string }) => p.provider === 'cpu')).toEqual({ provider: 'cpu', usable: true });
    expect(report.device.provider).toBe('cpu');
    if (process.platform === 'linux' && process.arch === 'x64') {
      const cuda = report.providers.find((p: { provider: string }) => p.provider === 'cuda');
      if (!cuda.usable) expect(cuda.reason).toMatch(/CUDA/);
    }
    expect(report.library.exists).toBe(false);
    expect(report.defaultModel.pt).toMatch(/^none: no model is installed/);
    const human = await runCli(['doctor', '--models-dir', tempDir('doctor-models2')]);
    expect(human.out).toMatch(/In use \(--device auto\): CPU/);
  });
});
