// OCR end to end through the CLI: Portuguese sentences with accents and a screenshot-like image are
// rendered, `triagem index --ocr` reads them in a child process whose every network attempt is
// logged and refused (the worker threads included), and `triagem search --text` finds them by
// accent-free words.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library } from '../src/engine/library/library.js';
import { tempDir } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { runCli } from './support/cli.js';
import { photoLike, renderTextImage, screenshotLike, SENTENCES_PT } from './support/text-images.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const GUARD = path.join(REPO, 'test/support/net-guard.cjs');

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runGuarded(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', GUARD, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('triagem index --ocr, then search --text', () => {
  let root: string;
  let photos: string;
  let lib: string;
  let modelDir: string;
  let netLog: string;
  let dataDir: string;
  let indexed: ChildResult;
  const rels = (out: string) => (JSON.parse(out).results as { path: string }[]).map((r) => path.relative(photos, r.path));

  beforeAll(async () => {
    root = tempDir('ocr-cli');
    photos = path.join(root, 'fotos');
    fs.mkdirSync(path.join(photos, 'prints'), { recursive: true });
    fs.writeFileSync(path.join(photos, 'protesto.png'), (await renderTextImage({ text: SENTENCES_PT[0], size: 20, width: 560 })).image);
    fs.writeFileSync(path.join(photos, 'policia.jpg'), (await renderTextImage({ text: SENTENCES_PT[3], size: 22, width: 560, format: 'jpeg' })).image);
    const post = 'Moradores do bairro Jaguaribe relatam falta de água há cinco dias.';
    fs.writeFileSync(path.join(photos, 'prints', 'post.png'), (await screenshotLike({ post, name: 'Rádio Comunitária', width: 560 })).image);
    fs.writeFileSync(path.join(photos, 'paisagem.jpg'), await photoLike({ seed: 4, width: 320, height: 240 }));
    modelDir = await colourModelDir();
    lib = path.join(root, 'lib.sqlite');
    netLog = path.join(root, 'net.log');
    dataDir = path.join(root, 'data');
    indexed = await runGuarded(
      [path.join(REPO, 'bin/triagem.js'), 'index', photos, '--ocr', '--json', '--library', lib, '--model', modelDir, '--device', 'cpu', '--ocr-workers', '1'],
      { ...process.env, TRIAGEM_DATA_DIR: dataDir, TRIAGEM_NET_LOG: netLog },
    );
  });

  afterAll(() => {
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('indexes, reads the text of the text-bearing images and sets the photo aside, offline', () => {
    expect(indexed.code, indexed.stderr).toBe(0);
    // One JSON document on stdout: Tesseract's own diagnostics must not leak into it.
    const out = JSON.parse(indexed.stdout.trim());
    expect(out).toMatchObject({ indexed: 4, failed: [], ocr: { pending: 4, withText: 3, gated: 1, failed: [] } });
    expect(fs.existsSync(netLog) ? fs.readFileSync(netLog, 'utf8') : '').toBe('');
    // The language data came from the npm packages into the user's data folder.
    expect(fs.readdirSync(path.join(dataDir, 'ocr', 'tessdata', '4.0.0_best_int')).sort()).toEqual(['eng.traineddata.gz', 'por.traineddata.gz']);
  });

  it('finds Portuguese sentences by accent-free, case-free words, with the snippet', async () => {
    const r = await runCli(['search', '--text', 'manifestacao', '--library', lib, '--json']);
    expect(r.code).toBe(0);
    expect(rels(r.out)).toEqual(['protesto.png']);
    const hit = JSON.parse(r.out).results[0];
    expect(hit.ocr_highlights.map(([s, e]: [number, number]) => hit.ocr_snippet.slice(s, e).toLowerCase())).toEqual(['manifestação']);

    expect(rels((await runCli(['search', '--text', 'ACAO POLICIA comunidade', '--library', lib, '--json'])).out)).toEqual(['policia.jpg']);
    expect(rels((await runCli(['search', '--text', 'associacao', '--library', lib, '--json'])).out)).toEqual(['policia.jpg']);
    expect(rels((await runCli(['search', '--text', 'avenida paulista', '--library', lib, '--json'])).out)).toEqual(['protesto.png']);
    expect(rels((await runCli(['search', '--text', 'manifestacao policia', '--library', lib, '--json'])).out)).toEqual([]);
  });

  it('finds the screenshot by a word that appears only in its text', async () => {
    const r = await runCli(['search', '--text', 'jaguaribe', '--library', lib, '--json']);
    expect(rels(r.out)).toEqual(['prints/post.png']);
    expect(rels((await runCli(['search', '--text', 'agua', '--library', lib, '--json'])).out)).toEqual(['prints/post.png']);
    // With a semantic query too (the colour model: white backgrounds), and a folder filter.
    const both = await runCli(['search', 'branco', '--text', 'jaguaribe', '--all', '--folder', path.join(photos, 'prints'), '--library', lib, '--model', modelDir, '--device', 'cpu', '--json']);
    expect(both.code, both.err).toBe(0);
    expect(rels(both.out)).toEqual(['prints/post.png']);
    expect(JSON.parse(both.out).results[0].ocr_snippet).toMatch(/Jaguaribe/);
  });

  it('remembers OCR for the library and reads nothing again on the next run', async () => {
    const library = Library.open(lib);
    const before = library.db.prepare('SELECT content_id, at FROM ocr_text ORDER BY content_id').all();
    library.close();
    const saved = process.env.TRIAGEM_DATA_DIR;
    process.env.TRIAGEM_DATA_DIR = dataDir;
    try {
      const again = await runCli(['index', photos, '--json', '--library', lib, '--model', modelDir, '--device', 'cpu']);
      expect(again.code, again.err).toBe(0);
      expect(JSON.parse(again.out)).toMatchObject({ indexed: 0, unchanged: 4, ocr: { pending: 0, withText: 0, gated: 0, failed: [] } });
      const off = await runCli(['index', photos, '--json', '--no-ocr', '--library', lib, '--model', modelDir, '--device', 'cpu']);
      expect(JSON.parse(off.out).ocr).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.TRIAGEM_DATA_DIR;
      else process.env.TRIAGEM_DATA_DIR = saved;
    }
    const after = Library.open(lib);
    expect(after.db.prepare('SELECT content_id, at FROM ocr_text ORDER BY content_id').all()).toEqual(before);
    expect(after.ocr.config().enabled).toBe(false);
    after.close();
  });

  it('the network guard does catch tesseract.js reaching for its CDN when no local langPath is given', () => {
    const log = path.join(root, 'control.log');
    const script = `
      const T = require('tesseract.js');
      T.createWorker('por', 1, { cacheMethod: 'none', logger: () => {}, errorHandler: () => process.exit(0) });
      setTimeout(() => process.exit(3), 60000);`;
    const r = spawnSync(process.execPath, ['--require', GUARD, '-e', script], { cwd: REPO, env: { ...process.env, TRIAGEM_NET_LOG: log }, encoding: 'utf8', timeout: 90_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/^fetch https:\/\/cdn\.jsdelivr\.net\/npm\/@tesseract\.js-data\/por\/.* worker$/m);
  });
});
