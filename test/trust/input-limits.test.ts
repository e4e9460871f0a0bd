// Finding 5 (crash on 10,000 labels or one 40,000-character argument) and finding 7 (terminal
// escapes and newlines in file names printed raw).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safe } from '../../src/cli/format.js';
import { runCli } from '../support/cli.js';
import { colourModelDir } from '../support/models.js';
import { tempDir, writePhoto } from '../support/sort-fixtures.js';

const BIN = path.resolve('bin/triagem.js');

describe('text inputs are limited before they reach ONNX Runtime', () => {
  let root: string;
  let modelsDir: string;
  beforeAll(async () => {
    root = tempDir('limits');
    modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'clip-vit-b32'), { recursive: true });
    await writePhoto(path.join(root, 'photos', 'a.jpg'), 'red', 1);
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a 40,000-character argument is a usage error (exit 2), not a segfault', () => {
    const r = spawnSync(process.execPath, [BIN, 'sort', '--source', path.join(root, 'photos'), '--labels', 'a'.repeat(40_000), '--models-dir', modelsDir, '--library', path.join(root, 'lib.sqlite')], { encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/command line is 40\d\d\d characters long; at most 16384/);
    expect(fs.existsSync(path.join(root, 'lib.sqlite'))).toBe(false);
  });

  it('10,000 labels are refused with a clear usage error, in a real process', () => {
    const labels = Array.from({ length: 10_000 }, (_, i) => `l${i}`).join(',');
    const r = spawnSync(process.execPath, [BIN, 'sort', '--source', path.join(root, 'photos'), '--labels', labels, '--models-dir', modelsDir, '--library', path.join(root, 'lib.sqlite')], { encoding: 'utf8' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
  });

  it('more labels than the contract allows, or a label too long, are usage errors before any model loads', async () => {
    const many = await runCli(['sort', '--labels', Array.from({ length: 300 }, (_, i) => `l${i}`).join(','), '--models-dir', path.join(root, 'none')]);
    expect(many.code).toBe(2);
    expect(many.err).toMatch(/300 labels given; at most 200/);
    const long = await runCli(['sort', '--labels', `ok, ${'x'.repeat(500)}`, '--models-dir', path.join(root, 'none')]);
    expect(long.code).toBe(2);
    expect(long.err).toMatch(/at most 200/);
    const query = await runCli(['search', 'q'.repeat(1500), '--models-dir', modelsDir, '--library', path.join(root, 'lib.sqlite')]);
    expect(query.code).not.toBe(0);
  });
});

describe('human output never passes terminal control characters through', () => {
  it('escapes ESC, BEL, CR, newlines and C1 controls; keeps accents and emoji', () => {
    expect(safe('foto\u001b]0;pwned\u0007.jpg')).toBe('foto\\x1b]0;pwned\\x07.jpg');
    expect(safe('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(safe('\u009b2J')).toBe('\\x9b2J');
    expect(safe('São Paulo 📷 ação')).toBe('São Paulo 📷 ação');
  });

  it('a file whose name clears the screen is listed escaped in search output, exactly in --json', async () => {
    const root = tempDir('escapes');
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'clip-vit-b32'), { recursive: true });
    const hostile = path.join(root, 'photos', 'red\u001b[2J\u001b]0;owned\u0007\nline.jpg');
    await writePhoto(hostile, 'red', 1);
    const lib = path.join(root, 'lib.sqlite');
    expect((await runCli(['index', path.join(root, 'photos'), '--models-dir', modelsDir, '--library', lib])).code).toBe(0);
    const human = await runCli(['search', 'red', '--all', '--models-dir', modelsDir, '--library', lib]);
    expect(human.code).toBe(0);
    expect(human.out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(human.out).toContain('red\\x1b[2J\\x1b]0;owned\\x07\\nline.jpg');
    expect(human.out.split('\n').filter((l) => l.includes('.jpg'))).toHaveLength(1);
    const json = await runCli(['search', 'red', '--all', '--json', '--models-dir', modelsDir, '--library', lib]);
    expect(JSON.parse(json.out).results[0].path).toBe(hostile);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
