// Text and similar-image search over a real library: real photos (sharp), indexed by the real indexer
// with the synthetic colour model (real ONNX sessions), searched through the engine and the CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { SearchSession, type SearchHit } from '../src/engine/search/search.js';
import { addTag } from '../src/engine/search/tags.js';
import { sortLibrary } from '../src/engine/sort/sort.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { runCli } from './support/cli.js';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Relative path → colour and EXIF capture time (DateTimeOriginal, local wall clock). */
const TREE: Record<string, { colour: string; taken?: string }> = {
  'viagem/vermelho-a.jpg': { colour: 'red', taken: '2023:05:01 10:00:00' },
  'viagem/vermelho-b.png': { colour: 'red', taken: '2023:05:02 11:00:00' },
  'viagem/azul.jpg': { colour: 'blue', taken: '2023:05:03 12:00:00' },
  'trabalho/vermelho-c.jpg': { colour: 'red', taken: '2024:01:10 09:30:00' },
  'trabalho/verde.jpg': { colour: 'green', taken: '2024:01:11 09:30:00' },
  'arquivo/roxo.webp': { colour: 'purple' },
  'outros/amarelo.jpg': { colour: 'yellow' },
  'outros/laranja.jpg': { colour: 'orange' },
  'outros/preto.png': { colour: 'black' },
  'outros/branco.png': { colour: 'white' },
  'outros/cinza.jpg': { colour: 'gray' },
  'outros/rosa.jpg': { colour: 'pink' },
};
const COPY = 'cópias/vermelho-a (cópia).jpg';

const run = runCli;

function dbCounts(library: Library): Record<string, number> {
  const counts = library.counts();
  return {
    files: counts.files,
    contents: counts.contents,
    embeddings: library.listModels().reduce((s, m) => s + m.count, 0),
    tags: library.tagCount(),
  };
}

describe('search over an indexed library (colour model)', () => {
  let root: string;
  let photos: string;
  let libFile: string;
  let modelDir: string;
  let model: ClipModel;
  let library: Library;
  let session: SearchSession;
  const rel = (h: SearchHit) => path.relative(photos, h.path);
  const rels = (hits: SearchHit[]) => hits.map(rel);

  beforeAll(async () => {
    root = tempDir('search');
    photos = path.join(root, 'fotos');
    let seed = 1;
    for (const [file, spec] of Object.entries(TREE)) {
      await writeImage(path.join(photos, file), colour(spec.colour), {
        seed: seed++,
        exif: spec.taken ? { IFD2: { DateTimeOriginal: spec.taken } } : undefined,
      });
    }
    fs.mkdirSync(path.dirname(path.join(photos, COPY)), { recursive: true });
    fs.copyFileSync(path.join(photos, 'viagem/vermelho-a.jpg'), path.join(photos, COPY));
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    libFile = path.join(root, 'lib.sqlite');
    library = Library.open(libFile);
    const summary = await indexFolders({ library, model, folders: [photos], thumbnails: false });
    expect(summary.failed).toEqual([]);
    await sortLibrary({ library, model, labels: ['vermelho', 'azul', 'verde'] });
    addTag(library, 'urgente', [path.join(photos, 'viagem/vermelho-b.png'), path.join(photos, 'trabalho/vermelho-c.jpg')]);
    session = await SearchSession.open(library, model);
  });

  afterAll(async () => {
    library?.close();
    await model?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('finds red photos first for Portuguese and English queries, with scores', async () => {
    for (const q of ['vermelho', 'red', 'uma foto vermelha']) {
      const r = await session.searchText(q);
      expect(r.hits.length, q).toBeGreaterThan(0);
      expect(rel(r.hits[0]), q).toMatch(/vermelho/);
      // Only the three red contents stand out; the cut-off leaves the rest out.
      expect(rels(r.hits).sort(), q).toEqual(['trabalho/vermelho-c.jpg', COPY, 'viagem/vermelho-b.png'].sort());
      for (const h of r.hits) {
        expect(h.score).toBeGreaterThan(0.5);
        expect(h.sha256).toMatch(/^[0-9a-f]{64}$/);
      }
      expect(r.belowCutoff).toBeGreaterThan(0);
    }
    const blue = await session.searchText('azul');
    expect(rels(blue.hits)).toEqual(['viagem/azul.jpg']);
  });

  it('lists identical copies once, with every path', async () => {
    const r = await session.searchText('red');
    const a = r.hits.find((h) => h.paths.some((p) => p.endsWith('vermelho-a.jpg')));
    expect(a).toBeDefined();
    expect(a!.paths.map((p) => path.relative(photos, p)).sort()).toEqual([COPY, 'viagem/vermelho-a.jpg'].sort());
    expect(new Set(r.hits.map((h) => h.contentId)).size).toBe(r.hits.length);
  });

  it('returns nothing that stands out for a query no image matches, unless asked for everything', async () => {
    const none = await session.searchText('uma foto de um carro');
    expect(none.hits).toEqual([]);
    expect(none.cutoff?.threshold).toBeGreaterThan(Math.max(...(await session.searchText('uma foto de um carro', { cutoff: false })).hits.map((h) => h.score)));
    const all = await session.searchText('uma foto de um carro', { cutoff: false, limit: 5 });
    expect(all.hits).toHaveLength(5);
    expect(all.cutoff).toBeNull();
  });

  it('--min-score tightens the cut-off but never loosens it', async () => {
    const base = await session.searchText('red blue');
    expect(base.hits).toHaveLength(4);
    const tight = await session.searchText('red blue', { minScore: 0.99 });
    expect(tight.hits).toEqual([]);
    expect(tight.cutoff?.reason).toBe('min-score');
    const loose = await session.searchText('red blue', { minScore: -1 });
    expect(loose.hits.map((h) => h.contentId)).toEqual(base.hits.map((h) => h.contentId));
  });

  it('adds, subtracts and weights terms', async () => {
    // One plain query holding two colours matches both.
    const both = await session.searchText('red blue');
    expect(new Set(rels(both.hits).map((p) => (p.includes('azul') ? 'blue' : 'red')))).toEqual(new Set(['red', 'blue']));
    // "+blue" adds the same thing as a second term.
    const plus = await session.searchText('red +blue');
    expect(plus.terms).toEqual([
      { text: 'red', weight: 1 },
      { text: 'blue', weight: 1 },
    ]);
    expect(rels(plus.hits).sort()).toEqual(rels(both.hits).sort());
    // Subtracting blue removes the blue photo entirely and leaves the reds.
    const minus = await session.searchText('+red +blue -blue');
    expect(rels(minus.hits)).not.toContain('viagem/azul.jpg');
    expect(minus.hits).toHaveLength(3);
    const minusAll = await session.searchText('red +blue -blue', { cutoff: false, limit: 20 });
    const blueHit = minusAll.hits.find((h) => rel(h) === 'viagem/azul.jpg');
    expect(blueHit!.score).toBeLessThan(0.1);
    // Weights decide which colour leads.
    const moreBlue = await session.searchText('red +3:blue');
    expect(rel(moreBlue.hits[0])).toBe('viagem/azul.jpg');
    const moreRed = await session.searchText('3:red +blue');
    expect(rel(moreRed.hits[0])).toMatch(/vermelho/);
    expect(rel(moreRed.hits[moreRed.hits.length - 1])).toBe('viagem/azul.jpg');
  });

  it('filters by folder, type, capture date, sort label and tag, alone and together', async () => {
    const q = (filters: Parameters<SearchSession['searchText']>[1]) => session.searchText('vermelho', { ...filters, limit: 20 }).then((r) => rels(r.hits).sort());
    expect(await q({ filters: { folders: [path.join(photos, 'viagem')] } })).toEqual(['viagem/vermelho-a.jpg', 'viagem/vermelho-b.png']);
    // The copy outside the folder is not listed as a path of the hit either.
    const inFolder = await session.searchText('vermelho', { filters: { folders: [path.join(photos, 'viagem')] } });
    expect(inFolder.hits.flatMap((h) => h.paths).every((p) => p.startsWith(path.join(photos, 'viagem') + path.sep))).toBe(true);
    expect(await q({ filters: { exts: ['jpg'] } })).toEqual(['trabalho/vermelho-c.jpg', COPY].sort());
    expect(await q({ filters: { exts: ['PNG'] } })).toEqual(['viagem/vermelho-b.png']);
    const day = (y: number, m: number, d: number, end = false) => new Date(y, m - 1, d + (end ? 1 : 0)).getTime() - (end ? 1 : 0);
    expect(await q({ filters: { takenAfter: day(2023, 5, 2), takenBefore: day(2023, 12, 31, true) } })).toEqual(['viagem/vermelho-b.png']);
    expect(await q({ filters: { takenAfter: day(2024, 1, 1) } })).toEqual(['trabalho/vermelho-c.jpg']);
    expect(await q({ filters: { label: 'vermelho' } })).toEqual(['trabalho/vermelho-c.jpg', COPY, 'viagem/vermelho-b.png'].sort());
    expect(await q({ filters: { tags: ['urgente'] } })).toEqual(['trabalho/vermelho-c.jpg', 'viagem/vermelho-b.png']);
    // Everything at once narrows to the one photo that passes all four.
    expect(
      await q({
        filters: {
          folders: [path.join(photos, 'viagem'), path.join(photos, 'trabalho')],
          exts: ['png', 'jpg'],
          label: 'vermelho',
          tags: ['urgente'],
          takenAfter: day(2023, 5, 1),
          takenBefore: day(2023, 5, 31, true),
        },
      }),
    ).toEqual(['viagem/vermelho-b.png']);
    // A label filter reads the sort run: whatever the query, only photos sorted under "azul" come back.
    const azul = await session.searchText('vermelho', { filters: { label: 'azul' }, cutoff: false });
    expect(rels(azul.hits)).toContain('viagem/azul.jpg');
    expect(rels(azul.hits).some((p) => p.includes('vermelho'))).toBe(false);
    await expect(session.searchText('vermelho', { filters: { label: 'inexistente' } })).rejects.toThrow(/no sort run .* "inexistente"/);
  });

  it('gives the same results two-stage and exact, filtered or not', async () => {
    for (const query of ['red', 'azul', 'green +purple', 'uma foto']) {
      for (const filters of [undefined, { exts: ['jpg', 'png'] }, { folders: [path.join(photos, 'outros')] }]) {
        const fast = await session.searchText(query, { filters, cutoff: false, limit: 8 });
        const exact = await session.searchText(query, { filters, cutoff: false, limit: 8, exact: true });
        expect(fast.hits.map((h) => h.score)).toEqual(exact.hits.map((h) => h.score));
        // Same contents wherever the score is not tied with a neighbour (ties may come in either order).
        exact.hits.forEach((h, i) => {
          const tied = exact.hits.some((o, j) => j !== i && o.score === h.score);
          if (!tied) expect(fast.hits[i].contentId).toBe(h.contentId);
        });
      }
    }
  });

  it('finds similar images to an indexed photo, leaving the photo (and its copies) out', async () => {
    const r = await session.searchSimilar(path.join(photos, 'viagem/vermelho-b.png'));
    expect(r.source).toBe('library');
    expect(rels(r.hits).sort()).toEqual(['trabalho/vermelho-c.jpg', COPY].sort());
    expect(r.hits[0].score).toBeGreaterThan(0.9);
  });

  it('finds similar images to a file outside the library without adding it', async () => {
    const before = dbCounts(library);
    const outside = path.join(root, 'fora', 'consulta.jpg');
    await writeImage(outside, colour('blue'), { seed: 999, width: 64, height: 48 });
    const r = await session.searchSimilar(outside, { cutoff: false, limit: 3 });
    expect(r.source).toBe('file');
    expect(rel(r.hits[0])).toBe('viagem/azul.jpg');
    expect(r.hits[0].score).toBeGreaterThan(0.9);
    expect(dbCounts(library)).toEqual(before);
    expect(library.fileByPath(outside)).toBeUndefined();
    await expect(session.searchSimilar(path.join(root, 'fora', 'nao-existe.jpg'))).rejects.toThrow(/nao-existe\.jpg: cannot read/);
  });

  it('rejects queries that say nothing to look for', async () => {
    await expect(session.searchText('   ')).rejects.toThrow(/empty/);
    await expect(session.searchText('-red')).rejects.toThrow(/at least one term/);
    await expect(session.searchText('red -red')).rejects.toThrow(/cancel/);
  });

  describe('CLI', () => {
    const common = () => ['--library', libFile, '--model', modelDir];

    it('search --json carries path, score and sha256; the table shows score and path', async () => {
      const r = await run(['search', 'vermelho', ...common(), '--json']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.out) as { results: { path: string; score: number; sha256: string; paths: string[] }[]; cutoff: { threshold: number } };
      expect(json.results).toHaveLength(3);
      expect(json.results[0].path).toMatch(/vermelho/);
      for (const hit of json.results) {
        expect(hit.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(hit.score).toBeGreaterThanOrEqual(json.cutoff.threshold);
      }
      const table = await run(['search', 'azul', ...common()]);
      expect(table.code).toBe(0);
      expect(table.out.split('\n')[0]).toMatch(/^score\s+path$/);
      expect(table.out).toMatch(/^\s*0\.\d{3}\s+.*azul\.jpg$/m);
      expect(table.err).toMatch(/1 result of 12 images/);
    });

    it('search filters from flags', async () => {
      const r = await run(['search', 'red', ...common(), '--json', '--folder', path.join(photos, 'viagem'), '--type', 'png', '--from', '2023-05-02', '--to', '2023-05-02', '--label', 'vermelho', '--tag', 'urgente']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.out) as { results: { path: string }[] };
      expect(json.results.map((h) => path.relative(photos, h.path))).toEqual(['viagem/vermelho-b.png']);
      const all = await run(['search', 'red', ...common(), '--json', '--all', '--limit', '4']);
      expect((JSON.parse(all.out) as { results: unknown[] }).results).toHaveLength(4);
    });

    it('usage errors exit 2 before anything is opened', async () => {
      for (const argv of [
        ['search', ...common()],
        ['search', 'red', ...common(), '--from', '2023-02-30'],
        ['search', 'red', ...common(), '--limit', '0'],
        ['search', 'red', ...common(), '--min-score', 'alto'],
        ['search', '-red', ...common()],
        ['similar', ...common()],
        ['search', 'red', ...common(), '--run', '1'],
      ]) {
        const r = await run(argv);
        expect(r.code, argv.join(' ')).toBe(2);
        expect(r.err).toMatch(/Usage: triagem/);
      }
      const missing = await run(['search', 'red', '--library', path.join(root, 'nenhuma.sqlite'), '--model', modelDir]);
      expect(missing.code).toBe(1);
      expect(missing.err).toMatch(/no library here yet/);
      expect(fs.existsSync(path.join(root, 'nenhuma.sqlite'))).toBe(false);
    });

    it('tag add/list/remove, then search --tag', async () => {
      const file = path.join(photos, 'outros/amarelo.jpg');
      const add = await run(['tag', 'add', 'ponte', file, path.join(root, 'nao-indexada.jpg'), '--library', libFile]);
      expect(add.code).toBe(1);
      expect(add.out).toMatch(/tagged 1 file/);
      expect(add.err).toMatch(/nao-indexada\.jpg: not in the library/);
      const list = await run(['tag', 'list', '--library', libFile, '--json']);
      expect(JSON.parse(list.out)).toEqual({ tags: [{ tag: 'ponte', contents: 1 }, { tag: 'urgente', contents: 2 }] });
      const files = await run(['tag', 'list', 'ponte', '--library', libFile]);
      expect(files.out.trim()).toBe(file);
      const hit = await run(['search', 'yellow', ...common(), '--tag', 'ponte', '--json']);
      expect((JSON.parse(hit.out) as { results: { path: string }[] }).results.map((h) => h.path)).toEqual([file]);
      const remove = await run(['tag', 'remove', 'ponte', file, '--library', libFile]);
      expect(remove.code).toBe(0);
      const after = await run(['search', 'yellow', ...common(), '--tag', 'ponte', '--json']);
      expect((JSON.parse(after.out) as { results: unknown[] }).results).toEqual([]);
      expect((await run(['tag', 'frobnicate', '--library', libFile])).code).toBe(2);
    });

    it('similar with a file outside the library, through the real binary', () => {
      const outside = path.join(root, 'fora', 'consulta.jpg');
      const child = spawnSync(process.execPath, [path.join(repoRoot, 'bin/triagem.js'), 'similar', outside, ...common(), '--json', '--limit', '2', '--all'], {
        encoding: 'utf8',
        cwd: root,
        timeout: 120_000,
      });
      expect(child.status, child.stderr).toBe(0);
      const json = JSON.parse(child.stdout) as { source: string; results: { path: string; score: number; sha256: string }[] };
      expect(json.source).toBe('file');
      expect(json.results).toHaveLength(2);
      expect(path.relative(photos, json.results[0].path)).toBe('viagem/azul.jpg');
      expect(json.results[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});
