import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { TriagemError } from '../src/engine/errors.js';
import { loadCatalog, parseCatalog, type Catalog, type CatalogFile } from '../src/engine/models/catalog.js';
import { ModelManager, readManifest, slugifyId, type DownloadProgress } from '../src/engine/models/manager.js';
import { startHubMock, sha256, type HubMock, type HubMockFile } from './support/hub-mock.js';
import { colourModelDir } from './support/models.js';

const REPO = 'triagem-test/colour-clip';
const REVISION = '0123456789abcdef0123456789abcdef01234567';
const ID = 'colour-test';
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const tmpRoots: string[] = [];
function tmpDir(prefix = 'triagem-mm-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpRoots.push(dir);
  return dir;
}

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out.sort();
}

function hashTree(dir: string): Record<string, string> {
  return Object.fromEntries(walk(dir).map((f) => [f, sha256(fs.readFileSync(path.join(dir, f)))]));
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), isTty: false }, out, err };
}

/** Everything in a models folder that is not an installed model: staging or half-installed leftovers. */
function leftovers(modelsDir: string, allowDownloads = false): string[] {
  if (!fs.existsSync(modelsDir)) return [];
  return fs.readdirSync(modelsDir).filter((n) => n.startsWith('.') && !(allowDownloads && n === '.downloads'));
}

let colourDir: string;
let hubFiles: HubMockFile[];
let hub: HubMock;

/** A catalog shaped like the real one, over the colour model's files, with a mix of pinned and header-verified files. */
function testCatalog(edit?: (files: { shared: CatalogFile[]; quantized: CatalogFile[]; fp32: CatalogFile[] }) => void): Catalog {
  const pin = (p: string): CatalogFile => {
    const content = fs.readFileSync(path.join(colourDir, p));
    return { path: p, size: content.length, sha256: sha256(content) };
  };
  const shared = hubFiles
    .filter((f) => !f.path.endsWith('.onnx'))
    // config.json stays unpinned: verified by the git blob SHA-1 ETag, as on the real Hub.
    .map((f) => (f.path === 'config.json' ? { path: f.path } : pin(f.path)));
  const files = {
    shared,
    // text_model_quantized stays unpinned: verified by X-Linked-Etag / X-Linked-Size.
    quantized: [pin('onnx/vision_model_quantized.onnx'), { path: 'onnx/text_model_quantized.onnx' }],
    fp32: [pin('onnx/vision_model.onnx'), pin('onnx/text_model.onnx')],
  };
  edit?.(files);
  return parseCatalog({
    version: 1,
    models: [
      {
        id: ID,
        name: 'Colour test model',
        description: 'Synthetic colour CLIP for tests (English and Portuguese colour words).',
        languages: ['en', 'pt'],
        family: 'clip',
        layout: 'xenova',
        repo: REPO,
        revision: REVISION,
        license: 'MIT',
        default: true,
        scoring: { kind: 'softmax', logitScale: 100, logitBias: 0 },
        defaultPrecision: 'quantized',
        files: files.shared,
        precisions: { quantized: files.quantized, fp32: files.fp32 },
      },
    ],
  });
}

function manager(modelsDir: string, catalog = testCatalog(), retries = 3): ModelManager {
  return new ModelManager(modelsDir, { catalog, endpoint: hub.endpoint, retries, retryDelayMs: 5 });
}

beforeAll(async () => {
  colourDir = await colourModelDir();
  // The generator's stamp file is cache bookkeeping, not part of the model a Hub repo would hold.
  const paths = walk(colourDir).filter((p) => p !== 'triagem-model.json' && !path.basename(p).startsWith('.'));
  hubFiles = paths.map((p) => ({ path: p, content: fs.readFileSync(path.join(colourDir, p)), lfs: p.endsWith('.onnx') || p === 'tokenizer.json' }));
  for (const needed of ['onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx', 'onnx/vision_model.onnx', 'onnx/text_model.onnx', 'config.json']) {
    expect(paths).toContain(needed);
  }
  hub = await startHubMock({ repo: REPO, revision: REVISION, files: hubFiles });
});

afterAll(async () => {
  await hub?.close();
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

beforeEach(() => {
  hub.resetModes();
  hub.requests.length = 0;
});

describe('catalog', () => {
  it('the shipped catalog parses, has one default, pins 40-hex revisions and real hashes only', () => {
    const catalog = loadCatalog(path.join(repoRoot, 'resources/models/catalog.json'));
    expect(catalog.models.filter((m) => m.default).map((m) => m.id)).toEqual(['clip-vit-b32']);
    const clip = catalog.models.find((m) => m.id === 'clip-vit-b32')!;
    expect(clip.revision).toBe('d15189d7028b43f1d3e65039190477f6af591c2a');
    expect(clip.precisions.quantized?.find((f) => f.path === 'onnx/vision_model_quantized.onnx')).toEqual({
      path: 'onnx/vision_model_quantized.onnx',
      size: 89117001,
      sha256: '583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299',
    });
    const siglip = catalog.models.find((m) => m.id === 'siglip2-b16-224')!;
    expect(siglip.scoring.kind).toBe('sigmoid');
    expect(siglip.description).toContain('77.54');
    // The quantized file names are unconfirmed: they must not carry invented pins.
    for (const f of siglip.precisions.quantized ?? []) expect(f.sha256).toBeUndefined();
  });

  it('rejects a catalog with a branch instead of a commit, naming the field', () => {
    const bad = structuredClone(testCatalog()) as { models: { revision: string }[] };
    bad.models[0].revision = 'main';
    expect(() => parseCatalog(bad, 'x.json')).toThrow(/x\.json: invalid model catalog: models\.0\.revision/);
  });
});

describe('download', () => {
  it('downloads, verifies and installs a precision; a second call fetches nothing; another precision is added', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    const progress: DownloadProgress[] = [];
    const result = await mm.download(ID, { onProgress: (p) => progress.push(p) });
    expect(result.alreadyInstalled).toBe(false);
    expect(result.precisions).toEqual(['quantized']);
    expect(result.dir).toBe(path.join(modelsDir, ID));

    // Every installed file is byte-identical to the repository's, and the manifest says so.
    const manifest = readManifest(result.dir)!;
    expect(manifest.source).toBe('catalog');
    expect(manifest.revision).toBe(REVISION);
    for (const f of manifest.files) {
      const original = fs.readFileSync(path.join(colourDir, f.path));
      expect(f.sha256).toBe(sha256(original));
      expect(sha256(fs.readFileSync(path.join(result.dir, f.path)))).toBe(f.sha256);
    }
    expect(fs.existsSync(path.join(result.dir, 'onnx/vision_model.onnx'))).toBe(false);

    // LFS files went through the 302; the small unpinned config came straight from resolve.
    expect(hub.requests.some((r) => r.route === 'resolve' && r.path === 'onnx/text_model_quantized.onnx' && r.status === 302)).toBe(true);
    expect(hub.requests.some((r) => r.route === 'cdn' && r.path === 'onnx/text_model_quantized.onnx' && r.status === 200)).toBe(true);
    expect(hub.requests.some((r) => r.route === 'resolve' && r.path === 'config.json' && r.status === 200)).toBe(true);

    const downloading = progress.filter((p) => p.phase === 'downloading');
    const last = downloading[downloading.length - 1];
    expect(last.bytesTotal).toBe(manifest.files.reduce((s, f) => s + f.size, 0));
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(progress.some((p) => p.phase === 'validating')).toBe(true);
    expect(leftovers(modelsDir)).toEqual([]);

    const listed = (await mm.list()).find((m) => m.id === ID)!;
    expect(listed).toMatchObject({ installed: true, source: 'catalog', installedPrecisions: ['quantized'] });

    hub.requests.length = 0;
    const again = await mm.download(ID);
    expect(again.alreadyInstalled).toBe(true);
    expect(hub.requests).toEqual([]);

    const both = await mm.download(ID, { precision: 'fp32' });
    expect(both.precisions.sort()).toEqual(['fp32', 'quantized']);
    // The pinned quantized vision graph was linked from the installed copy, not fetched again.
    expect(hub.requests.some((r) => r.path === 'onnx/vision_model_quantized.onnx')).toBe(false);
    expect((await mm.verify(ID)).ok).toBe(true);
  });

  it('adding a precision drops an installed one whose files were damaged, instead of carrying them over', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    await mm.download(ID);
    const damaged = path.join(modelsDir, ID, 'onnx/text_model_quantized.onnx');
    const bytes = fs.readFileSync(damaged);
    bytes[bytes.length >> 1] ^= 0x01;
    fs.writeFileSync(damaged, bytes);
    const result = await mm.download(ID, { precision: 'fp32' });
    expect(result.precisions).toEqual(['fp32']);
    expect(fs.existsSync(path.join(result.dir, 'onnx/text_model_quantized.onnx'))).toBe(false);
    expect((await mm.verify(ID)).ok).toBe(true);
  });

  it('refuses a second concurrent download of the same model', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    const [a, b] = await Promise.allSettled([mm.download(ID), mm.download(ID)]);
    const outcomes = [a.status, b.status].sort();
    expect(outcomes).toEqual(['fulfilled', 'rejected']);
    const rejected = [a, b].find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(String(rejected.reason)).toMatch(/already being downloaded by another run/);
    expect((await mm.verify(ID)).ok).toBe(true);
  });

  it('resumes with a Range request after the connection drops mid-file (within one run)', async () => {
    const modelsDir = tmpDir();
    const file = hubFiles.find((f) => f.path === 'onnx/vision_model_quantized.onnx')!;
    const half = Math.floor(file.content.length / 2);
    hub.setMode(file.path, { kind: 'drop', afterBytes: half, times: 1 });
    const result = await manager(modelsDir).download(ID);
    const cdn = hub.requests.filter((r) => r.route === 'cdn' && r.path === file.path);
    expect(cdn.length).toBe(2);
    expect(cdn[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(cdn[1].range!)![0])).toBeGreaterThan(0);
    expect(cdn[1].status).toBe(206);
    expect(sha256(fs.readFileSync(path.join(result.dir, file.path)))).toBe(sha256(file.content));
  });

  it('drops an attempt that goes silent and resumes it', async () => {
    const modelsDir = tmpDir();
    const file = hubFiles.find((f) => f.path === 'onnx/text_model_quantized.onnx')!;
    hub.setMode(file.path, { kind: 'stall', afterBytes: 1000, times: 1 });
    const mm = new ModelManager(modelsDir, { catalog: testCatalog(), endpoint: hub.endpoint, retries: 2, retryDelayMs: 5, idleTimeoutMs: 300 });
    const result = await mm.download(ID);
    const cdn = hub.requests.filter((r) => r.route === 'cdn' && r.path === file.path);
    expect(cdn.map((r) => r.range)).toEqual([undefined, 'bytes=1000-']);
    expect(sha256(fs.readFileSync(path.join(result.dir, file.path)))).toBe(sha256(file.content));
  });

  it('keeps the part file when every attempt fails, and the next run resumes it with Range', async () => {
    const modelsDir = tmpDir();
    const file = hubFiles.find((f) => f.path === 'onnx/text_model_quantized.onnx')!;
    const third = Math.floor(file.content.length / 3);
    hub.setMode(file.path, { kind: 'drop', afterBytes: third, times: 1 });
    const first = manager(modelsDir, testCatalog(), 0).download(ID);
    await expect(first).rejects.toThrow(TriagemError);
    await expect(first).rejects.toThrow(/onnx\/text_model_quantized\.onnx: download failed after 1 attempt: /);
    expect(fs.existsSync(path.join(modelsDir, ID))).toBe(false);
    const parts = walk(path.join(modelsDir, '.downloads')).filter((p) => p.endsWith('.part'));
    expect(parts).toEqual([expect.stringMatching(/onnx\/text_model_quantized\.onnx\.part$/)]);
    const have = fs.statSync(path.join(modelsDir, '.downloads', parts[0])).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(file.content.length);
    expect(leftovers(modelsDir, true)).toEqual([]);

    hub.requests.length = 0;
    const result = await manager(modelsDir, testCatalog(), 0).download(ID);
    const cdn = hub.requests.filter((r) => r.route === 'cdn' && r.path === file.path);
    expect(cdn).toEqual([expect.objectContaining({ range: `bytes=${have}-`, status: 206 })]);
    // Files finished in the first run were not fetched again.
    expect(hub.requests.some((r) => r.path === 'onnx/vision_model_quantized.onnx')).toBe(false);
    expect(sha256(fs.readFileSync(path.join(result.dir, file.path)))).toBe(sha256(file.content));
    expect(fs.existsSync(path.join(modelsDir, '.downloads'))).toBe(false);
  });

  it('restarts from byte 0 when the server ignores Range', async () => {
    const modelsDir = tmpDir();
    const file = hubFiles.find((f) => f.path === 'onnx/vision_model.onnx')!;
    hub.setMode(file.path, { kind: 'drop', afterBytes: 100, times: 1 });
    await expect(manager(modelsDir, testCatalog(), 0).download(ID, { precision: 'fp32' })).rejects.toThrow(/download failed/);
    hub.setMode(file.path, { kind: 'no-range' });
    const result = await manager(modelsDir).download(ID, { precision: 'fp32' });
    expect(sha256(fs.readFileSync(path.join(result.dir, file.path)))).toBe(sha256(file.content));
  });

  it('rejects corrupt content against the header checksum, names the file, deletes the part, installs nothing', async () => {
    const modelsDir = tmpDir();
    hub.setMode('onnx/text_model_quantized.onnx', { kind: 'corrupt' });
    const run = manager(modelsDir).download(ID);
    await expect(run).rejects.toThrow(/onnx\/text_model_quantized\.onnx: sha256 mismatch after download: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(fs.existsSync(path.join(modelsDir, ID))).toBe(false);
    expect(walk(modelsDir).filter((p) => p.endsWith('.part'))).toEqual([]);
    expect(leftovers(modelsDir, true)).toEqual([]);
    expect((await manager(modelsDir).list()).find((m) => m.id === ID)?.installed).toBe(false);
  });

  it('rejects corrupt content against a catalog pin, and a small file against its git blob ETag', async () => {
    const modelsDir = tmpDir();
    hub.setMode('onnx/vision_model_quantized.onnx', { kind: 'corrupt' });
    await expect(manager(modelsDir).download(ID)).rejects.toThrow(/onnx\/vision_model_quantized\.onnx: sha256 mismatch/);
    hub.resetModes();
    hub.setMode('config.json', { kind: 'corrupt' });
    const fresh = tmpDir();
    await expect(manager(fresh).download(ID)).rejects.toThrow(/config\.json: git blob SHA-1 mismatch after download/);
    expect(fs.existsSync(path.join(fresh, ID))).toBe(false);
  });

  it('stops before downloading when the Hub announces different content than the pin', async () => {
    const modelsDir = tmpDir();
    const catalog = testCatalog((f) => {
      f.fp32[0] = { ...f.fp32[0], sha256: 'f'.repeat(64) };
    });
    await expect(manager(modelsDir, catalog).download(ID, { precision: 'fp32' })).rejects.toThrow(/onnx\/vision_model\.onnx: the model hub lists different content than the catalog pins/);
    expect(hub.requests.some((r) => r.route === 'cdn' && r.path === 'onnx/vision_model.onnx')).toBe(false);
  });

  it('reports a 404 naming the file, before fetching anything large, and installs nothing', async () => {
    const modelsDir = tmpDir();
    hub.setMode('onnx/text_model_quantized.onnx', { kind: 'missing' });
    await expect(manager(modelsDir).download(ID)).rejects.toThrow(/onnx\/text_model_quantized\.onnx: not found on the model hub \(HTTP 404\)/);
    expect(hub.requests.some((r) => r.route === 'cdn')).toBe(false);
    expect(fs.existsSync(path.join(modelsDir, ID))).toBe(false);
    expect(leftovers(modelsDir)).toEqual([]);
  });

  it('an aborted download stops with a resumable error and leaves no model', async () => {
    const modelsDir = tmpDir();
    const controller = new AbortController();
    hub.setMode('onnx/vision_model_quantized.onnx', { kind: 'drop', afterBytes: 64, times: 1 });
    const run = manager(modelsDir).download(ID, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === 'onnx/vision_model_quantized.onnx') controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/interrupted; run the same command again to resume/);
    expect(fs.existsSync(path.join(modelsDir, ID))).toBe(false);
    expect(leftovers(modelsDir, true)).toEqual([]);
  });

  it('refuses unknown ids and precisions the catalog does not offer', async () => {
    const mm = manager(tmpDir());
    await expect(mm.download('nope')).rejects.toThrow(/"nope" is not in the model catalog/);
    await expect(mm.download(ID, { precision: 'q4' })).rejects.toThrow(/has no "q4" weights \(available: quantized, fp32\)/);
    expect(hub.requests).toEqual([]);
  });

  it('CLI: `models download` prints progress lines on stderr and exits 0; failures exit 1 with the file named', async () => {
    const modelsDir = tmpDir();
    const catalogFile = path.join(tmpDir(), 'catalog.json');
    fs.writeFileSync(catalogFile, JSON.stringify(testCatalog()));
    const saved = { c: process.env.TRIAGEM_CATALOG, e: process.env.TRIAGEM_HF_ENDPOINT };
    process.env.TRIAGEM_CATALOG = catalogFile;
    process.env.TRIAGEM_HF_ENDPOINT = hub.endpoint;
    try {
      const ok = capture();
      expect(await main(['models', 'download', ID, '--models-dir', modelsDir], ok.io)).toBe(0);
      expect(ok.out.join('\n')).toMatch(new RegExp(`Installed ${ID} \\(quantized\\)`));
      expect(ok.err.some((l) => /%\s+\S+ [KM]?B \/ \S+ [KM]?B\s+.*ETA/.test(l))).toBe(true);

      hub.setMode('onnx/vision_model.onnx', { kind: 'corrupt' });
      const bad = capture();
      expect(await main(['models', 'download', ID, '--precision', 'fp32', '--models-dir', modelsDir], bad.io)).toBe(1);
      expect(bad.err.join('\n')).toMatch(/onnx\/vision_model\.onnx: sha256 mismatch/);

      const tty = capture();
      tty.io.isTty = true;
      expect(await main(['models', 'download', ID, '--models-dir', tmpDir()], tty.io)).toBe(0);
      // On a terminal the progress line is redrawn in place.
      expect(tty.err.some((l) => l.startsWith('\x1b[1A\x1b[2K'))).toBe(true);

      const usage = capture();
      expect(await main(['models', 'download', ID, '--precision', 'fp64', '--models-dir', modelsDir], usage.io)).toBe(2);
    } finally {
      for (const [k, v] of [['TRIAGEM_CATALOG', saved.c], ['TRIAGEM_HF_ENDPOINT', saved.e]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('import', () => {
  it('imports the colour model, copies only model files, leaves the source untouched', async () => {
    const modelsDir = tmpDir();
    const before = hashTree(colourDir);
    const mm = manager(modelsDir);
    const result = await mm.import(colourDir, { id: 'colour' });
    expect(hashTree(colourDir)).toEqual(before);
    const manifest = readManifest(result.dir)!;
    expect(manifest).toMatchObject({ id: 'colour', source: 'import', family: 'clip', layout: 'xenova', scoring: { kind: 'softmax', logitScale: 100, logitBias: 0 } });
    expect(manifest.precisions.sort()).toEqual(['fp32', 'quantized']);
    for (const f of manifest.files) expect(f.sha256).toBe(before[f.path]);
    expect(walk(result.dir).sort()).toEqual([...manifest.files.map((f) => f.path), 'triagem-model.json'].sort());
    expect(leftovers(modelsDir)).toEqual([]);
    expect((await mm.verify('colour')).ok).toBe(true);
  });

  it('imports a hand-arranged Xenova folder with only quantized graphs and its own scoring; the id comes from the folder name', async () => {
    const src = path.join(tmpDir(), 'Modelo Cores Ção');
    fs.mkdirSync(path.join(src, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx']) {
      fs.copyFileSync(path.join(colourDir, f), path.join(src, f));
    }
    fs.writeFileSync(path.join(src, 'README.md'), 'notes that are not part of the model');
    fs.writeFileSync(path.join(src, 'onnx', 'unrelated.bin'), 'x');
    fs.writeFileSync(path.join(src, 'triagem-model.json'), JSON.stringify({ name: 'Cores', scoring: { logitScale: 50 } }));

    const modelsDir = tmpDir();
    const result = await manager(modelsDir).import(src);
    expect(result.id).toBe('modelo-cores-cao');
    expect(result.precisions).toEqual(['quantized']);
    const installed = walk(result.dir);
    expect(installed).not.toContain('README.md');
    expect(installed).not.toContain('onnx/unrelated.bin');
    expect(installed).toContain('onnx/vision_model_quantized.onnx');
    expect(readManifest(result.dir)).toMatchObject({ name: 'Cores', scoring: { kind: 'softmax', logitScale: 50, logitBias: 0 } });
    // The source's own manifest was read, not copied over ours, and not modified.
    expect(JSON.parse(fs.readFileSync(path.join(src, 'triagem-model.json'), 'utf8'))).toEqual({ name: 'Cores', scoring: { logitScale: 50 } });
  });

  it('imports the other layouts and families with their family scoring: Immich CLIP, SigLIP, CLIP with attention_mask', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    const immich = await mm.import(await colourModelDir('immich'), { id: 'immich-colours' });
    expect(immich.manifest).toMatchObject({ layout: 'immich', family: 'clip', precisions: ['fp32'] });
    expect(walk(immich.dir)).toEqual(expect.arrayContaining(['visual/model.onnx', 'textual/model.onnx', 'textual/tokenizer.json', 'visual/preprocess_cfg.json']));
    const siglip = await mm.import(await colourModelDir('siglip'));
    expect(siglip.id).toBe('colour-siglip');
    expect(siglip.manifest).toMatchObject({ layout: 'xenova', family: 'siglip', scoring: { kind: 'sigmoid', logitScale: 117.330765, logitBias: -12.932437 } });
    const masked = await mm.import(await colourModelDir('clip-attention-mask'));
    expect(masked.manifest.family).toBe('clip');
    for (const id of ['immich-colours', 'colour-siglip', 'colour-clip-attention-mask']) expect((await mm.verify(id)).ok).toBe(true);
  });

  function brokenCopy(edit: (dir: string) => void): string {
    const dir = path.join(tmpDir(), 'broken');
    fs.cpSync(colourDir, dir, { recursive: true });
    edit(dir);
    return dir;
  }

  const broken: [string, (dir: string) => void, RegExp][] = [
    [
      'a truncated ONNX graph',
      (d) => {
        const f = path.join(d, 'onnx/vision_model.onnx');
        const bytes = fs.readFileSync(f);
        fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
      },
      /onnx\/vision_model\.onnx/,
    ],
    [
      'garbage in an ONNX graph',
      (d) => fs.writeFileSync(path.join(d, 'onnx/text_model_quantized.onnx'), crypto.randomBytes(4096)),
      /onnx\/text_model_quantized\.onnx/,
    ],
    ['a missing tokenizer.json', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /tokenizer\.json/],
    ['invalid JSON in config.json', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"model_type": "clip",'), /config\.json: invalid JSON/],
    ['an invalid own manifest', (d) => fs.writeFileSync(path.join(d, 'triagem-model.json'), JSON.stringify({ scoring: { kind: 'cosine' } })), /triagem-model\.json: invalid model manifest/],
  ];

  for (const [what, edit, pattern] of broken) {
    it(`rejects a folder with ${what}, naming the file; CLI exits 1; nothing is left in the models folder`, async () => {
      const dir = brokenCopy(edit);
      const modelsDir = tmpDir();
      const err = await manager(modelsDir).import(dir, { id: 'broken' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TriagemError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).toContain(dir);

      const cli = capture();
      expect(await main(['models', 'import', dir, '--id', 'broken', '--models-dir', modelsDir], cli.io)).toBe(1);
      expect(cli.err.join('\n')).toMatch(pattern);
      expect(fs.existsSync(modelsDir) ? fs.readdirSync(modelsDir) : []).toEqual([]);
    });
  }

  it('rejects a folder that is not a model, and a path that does not exist', async () => {
    const notModel = tmpDir();
    fs.writeFileSync(path.join(notModel, 'photo.jpg'), 'not a model');
    const modelsDir = tmpDir();
    await expect(manager(modelsDir).import(notModel, { id: 'x' })).rejects.toThrow(/not a model folder/);
    await expect(manager(modelsDir).import(path.join(notModel, 'nope'), { id: 'x' })).rejects.toThrow(/nope: folder does not exist/);
    expect(fs.readdirSync(modelsDir)).toEqual([]);
  });

  it('refuses to overwrite an installed id unless forced; rejects ids that are not slugs', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    await mm.import(colourDir, { id: 'colour' });
    const firstInstalledAt = readManifest(path.join(modelsDir, 'colour'))!.installed_at;
    await expect(mm.import(colourDir, { id: 'colour' })).rejects.toThrow(/already installed; pass --force/);
    const cli = capture();
    expect(await main(['models', 'import', colourDir, '--id', 'colour', '--models-dir', modelsDir], cli.io)).toBe(1);
    expect(readManifest(path.join(modelsDir, 'colour'))!.installed_at).toBe(firstInstalledAt);

    await new Promise((r) => setTimeout(r, 5));
    await mm.import(colourDir, { id: 'colour', force: true });
    expect(readManifest(path.join(modelsDir, 'colour'))!.installed_at).not.toBe(firstInstalledAt);
    expect(leftovers(modelsDir)).toEqual([]);

    await expect(mm.import(colourDir, { id: '../escape' })).rejects.toThrow(/invalid model id/);
    await expect(mm.import(colourDir, { id: '.hidden' })).rejects.toThrow(/invalid model id/);
    expect(slugifyId('  My Model (v2)  ')).toBe('my-model-v2');
  });
});

describe('verify, remove, list', () => {
  it('verify reports each modified, truncated and missing file; CLI exits 1', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    const { dir } = await mm.import(colourDir, { id: 'colour' });
    const flip = path.join(dir, 'onnx/text_model.onnx');
    const bytes = fs.readFileSync(flip);
    bytes[bytes.length >> 1] ^= 0x01;
    fs.writeFileSync(flip, bytes);
    fs.truncateSync(path.join(dir, 'tokenizer_config.json'), 3);
    fs.rmSync(path.join(dir, 'preprocessor_config.json'));

    const result = await mm.verify('colour');
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'onnx/text_model.onnx', problem: 'sha256' }),
        expect.objectContaining({ path: 'tokenizer_config.json', problem: 'size', actual: '3' }),
        { path: 'preprocessor_config.json', problem: 'missing' },
      ]),
    );
    expect(result.problems).toHaveLength(3);

    const cli = capture();
    expect(await main(['models', 'verify', 'colour', '--models-dir', modelsDir], cli.io)).toBe(1);
    expect(cli.err.join('\n')).toMatch(/onnx\/text_model\.onnx: sha256 differs/);
  });

  it('remove deletes the model; removing it again is an error', async () => {
    const modelsDir = tmpDir();
    const mm = manager(modelsDir);
    await mm.import(colourDir, { id: 'colour' });
    const cli = capture();
    expect(await main(['models', 'remove', 'colour', '--models-dir', modelsDir], cli.io)).toBe(0);
    expect(fs.readdirSync(modelsDir)).toEqual([]);
    expect(mm.installedDir('colour')).toBeUndefined();
    await expect(mm.remove('colour')).rejects.toThrow(/"colour" is not installed/);
  });

  it('list --json shows catalog models and imported or hand-placed folders; a real `node bin/triagem.js` agrees', async () => {
    const modelsDir = tmpDir();
    const mm = new ModelManager(modelsDir, { endpoint: 'http://127.0.0.1:9' });
    await mm.import(colourDir, { id: 'my-colours' });
    fs.cpSync(colourDir, path.join(modelsDir, 'by-hand'), { recursive: true });
    fs.rmSync(path.join(modelsDir, 'by-hand', 'triagem-model.json'), { force: true });

    const cli = capture();
    expect(await main(['models', 'list', '--json', '--models-dir', modelsDir], cli.io)).toBe(0);
    const listed = JSON.parse(cli.out.join('\n')) as { modelsDir: string; models: Record<string, unknown>[] };
    expect(listed.modelsDir).toBe(modelsDir);
    const byId = Object.fromEntries(listed.models.map((m) => [m.id, m]));
    expect(byId['clip-vit-b32']).toMatchObject({
      inCatalog: true,
      installed: false,
      default: true,
      family: 'clip',
      availablePrecisions: ['quantized', 'fp32'],
      downloadBytes: { quantized: { exact: false } },
      scoring: { kind: 'softmax', logitScale: 100, logitBias: 0 },
    });
    expect(byId['siglip2-b16-224']).toMatchObject({ inCatalog: true, installed: false, family: 'siglip2', languages: ['pt', 'en'] });
    expect(byId['my-colours']).toMatchObject({ inCatalog: false, installed: true, source: 'import', family: 'clip', dir: path.join(modelsDir, 'my-colours') });
    expect(byId['by-hand']).toMatchObject({ inCatalog: false, installed: true, source: 'unmanaged', family: 'clip' });

    const { stdout } = await promisify(execFile)(process.execPath, ['bin/triagem.js', 'models', 'list', '--json', '--models-dir', modelsDir], {
      cwd: repoRoot,
      env: { ...process.env, TRIAGEM_CATALOG: '', TRIAGEM_HF_ENDPOINT: 'http://127.0.0.1:9' },
    });
    expect(JSON.parse(stdout)).toEqual(listed);
  });
});
