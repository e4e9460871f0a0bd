import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/command.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { colourModelDir } from './support/models.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..');

function capture(): CliIo & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', isTty: false, out: (t: string) => { io.stdout += `${t}\n`; }, err: (t: string) => { io.stderr += `${t}\n`; } };
  return io;
}

describe('triagem debug (inspection commands)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-debug-'));
  let modelsDir: string;
  let model: ClipModel;
  let photo: string;
  beforeAll(async () => {
    modelsDir = path.join(tmp, 'models');
    fs.mkdirSync(modelsDir);
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    model = await loadModel(path.join(modelsDir, 'colour'), { device: 'cpu' });
    photo = path.join(tmp, 'teal.png');
    await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 128, b: 128, alpha: 1 } } }).png().toFile(photo);
  });
  afterAll(async () => {
    await model.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  const common = () => ['--model', 'colour', '--models-dir', modelsDir];

  it('debug tokens prints the ids and mask exactly as fed to the text model', async () => {
    const io = capture();
    expect(await main(['debug', 'tokens', 'uma foto de um gato, São Paulo!', ...common()], io)).toBe(0);
    const printed = JSON.parse(io.stdout) as { input_ids: number[]; attention_mask: number[] };
    expect(printed).toEqual(model.tokenize('uma foto de um gato, São Paulo!'));
    expect(printed.input_ids[0]).toBe(49406);
    expect(printed.input_ids.at(-1)).toBe(49407);
  });

  it('debug tensor writes little-endian float32 [3,224,224] equal to the runtime input', async () => {
    const out = path.join(tmp, 'teal.f32');
    const io = capture();
    expect(await main(['debug', 'tensor', photo, '--out', out, ...common()], io)).toBe(0);
    const bytes = fs.readFileSync(out);
    expect(bytes.length).toBe(3 * 224 * 224 * 4);
    const expected = await model.preprocess(photo);
    for (const i of [0, 224 * 224 + 5, 2 * 224 * 224 + 1000]) expect(bytes.readFloatLE(i * 4)).toBeCloseTo(expected[i], 6);
    expect(io.stderr).toMatch(/float32 little-endian \[3,224,224\]/);
  });

  it('debug embed prints a normalized embedding and warns when the device falls back', async () => {
    const io = capture();
    expect(await main(['debug', 'embed', '--text', 'vermelho', '--device', 'cuda', ...common()], io)).toBe(0);
    const v = JSON.parse(io.stdout) as number[];
    expect(v).toHaveLength(512);
    expect(v.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 5);
    expect(io.stderr).toMatch(/warning: --device cuda unavailable: .*running on CPU instead/);
    const img = capture();
    expect(await main(['debug', 'embed', '--image', photo, ...common()], img)).toBe(0);
    const [expected] = await model.encodeImages([photo]);
    expect((JSON.parse(img.stdout) as number[])[7]).toBeCloseTo(expected[7], 5);
  });

  it('usage errors exit 2; a missing model or image exits 1 naming it', async () => {
    expect(await main(['debug', 'embed', ...common()], capture())).toBe(2);
    expect(await main(['debug', 'embed', '--text', 'x', '--device', 'tpu', ...common()], capture())).toBe(2);
    const missing = capture();
    expect(await main(['debug', 'embed', '--image', path.join(tmp, 'nope.jpg'), ...common()], missing)).toBe(1);
    expect(missing.stderr).toMatch(/nope\.jpg: file not found/);
    const noModel = capture();
    expect(await main(['debug', 'tokens', 'x', '--model', 'absent', '--models-dir', modelsDir], noModel)).toBe(1);
    expect(noModel.stderr).toMatch(/model "absent" is not installed/);
  });

  it('runs as a real process through bin/triagem.js', async () => {
    const { stdout } = await run(process.execPath, [path.join(repo, 'bin/triagem.js'), 'debug', 'tokens', 'a photo of a cat', ...common()]);
    expect(JSON.parse(stdout).input_ids).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    const help = await run(process.execPath, [path.join(repo, 'bin/triagem.js'), '--help']);
    expect(help.stdout).toMatch(/debug tokens/);
  });
});
