// Folder filters on folders named with emoji, `%` and `_`, next to decoys that a LIKE pattern or a
// UTF-16 prefix length would confuse them with: every place a folder filter exists.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { findDuplicates } from '../src/engine/duplicates/duplicates.js';
import { SearchSession } from '../src/engine/search/search.js';
import { runCli } from './support/cli.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';

// Folder → its files (relative path → colour). Each odd folder has a decoy beside it.
const TREE: Record<string, Record<string, string>> = {
  '📷 viagem': { 'vermelho.jpg': 'red', 'sub/azul.png': 'blue' },
  '📷 viagemX': { 'vermelho.jpg': 'red' },
  '📷 viagem 2': { 'roxo.jpg': 'purple' },
  '100%_feito': { 'verde.jpg': 'green' },
  '100%Xfeito': { 'verde.jpg': 'green' },
  'a_b': { 'amarelo.jpg': 'yellow' },
  'aXb': { 'amarelo.jpg': 'yellow' },
  'a_b-outra': { 'laranja.jpg': 'orange' },
};
const ODD = ['📷 viagem', '100%_feito', 'a_b'];
/** Exact copies placed in other folders, for duplicates: copy → original. */
const COPIES: Record<string, string> = {
  '📷 viagem/cópia de verde.jpg': '100%_feito/verde.jpg',
  'aXb/cópia.jpg': 'a_b/amarelo.jpg',
};

describe('folder filters on folders named with emoji, % and _', () => {
  let root: string;
  let photos: string;
  let libFile: string;
  let modelDir: string;
  let model: ClipModel;
  let library: Library;
  let session: SearchSession;
  const rel = (p: string) => path.relative(photos, p);
  /** Every indexed file inside `folder` (any depth), from the tree itself. */
  const expected = (folder: string) =>
    [...Object.entries(TREE).flatMap(([dir, files]) => Object.keys(files).map((f) => `${dir}/${f}`)), ...Object.keys(COPIES)]
      .filter((p) => p.startsWith(`${folder}/`))
      .sort();

  beforeAll(async () => {
    root = tempDir('folders');
    photos = path.join(root, 'fotos');
    let seed = 1;
    for (const [dir, files] of Object.entries(TREE)) {
      for (const [file, c] of Object.entries(files)) await writeImage(path.join(photos, dir, file), colour(c), { seed: seed++, width: 48, height: 32 });
    }
    for (const [copy, original] of Object.entries(COPIES)) fs.copyFileSync(path.join(photos, original), path.join(photos, copy));
    // A file each folder cannot decode, so failures exist under every folder.
    for (const dir of Object.keys(TREE)) fs.writeFileSync(path.join(photos, dir, 'quebrada.jpg'), Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(64, 7)]));
    modelDir = await colourModelDir();
    model = await loadModel(modelDir, { device: 'cpu' });
    libFile = path.join(root, 'lib.sqlite');
    library = Library.open(libFile);
    const summary = await indexFolders({ library, model, folders: [photos], thumbnails: false });
    expect(summary.failed).toHaveLength(Object.keys(TREE).length);
    session = await SearchSession.open(library, model);
  });

  afterAll(async () => {
    library?.close();
    await model?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('listFiles and listFailures', () => {
    for (const folder of ODD) {
      const dir = path.join(photos, folder);
      expect(library.listFiles({ folders: [dir] }).map((f) => rel(f.path)), folder).toEqual(expected(folder));
      expect(library.listFiles({ folders: [dir + path.sep], present: true }).map((f) => rel(f.path)), folder).toEqual(expected(folder));
      expect(library.listFailures([dir]).map((f) => rel(f.path)), folder).toEqual([`${folder}/quebrada.jpg`]);
    }
    // Several folders at once, and the folder named exactly (a file path is not a folder's content).
    expect(library.listFiles({ folders: ODD.map((f) => path.join(photos, f)) }).length).toBe(ODD.flatMap(expected).length);
    expect(library.listFiles({ folders: [path.join(photos, '📷 viagem', 'vermelho.jpg')] }).map((f) => rel(f.path))).toEqual(['📷 viagem/vermelho.jpg']);
  });

  it('indexing one of them leaves its decoy neighbours alone', async () => {
    for (const folder of ODD) {
      const again = await indexFolders({ library, model, folders: [path.join(photos, folder)], thumbnails: false });
      expect(again.unchanged, folder).toBe(expected(folder).length);
      expect(again.missing ?? 0, folder).toBe(0);
    }
    // Nothing outside was marked gone, and the decoys' failures are still recorded.
    expect(library.listFiles({ present: true }).length).toBe(library.listFiles().length);
    expect(library.listFailures().length).toBe(Object.keys(TREE).length);
  });

  it('search', async () => {
    for (const folder of ODD) {
      const r = await session.searchText('uma foto', { filters: { folders: [path.join(photos, folder)] }, cutoff: false, limit: 50 });
      expect(r.hits.flatMap((h) => h.paths).map(rel).sort(), folder).toEqual(expected(folder));
      expect(r.considered, folder).toBe(new Set(library.listFiles({ folders: [path.join(photos, folder)] }).map((f) => f.contentId)).size);
    }
    // The bug this guards: a folder named with emoji found nothing.
    const red = await session.searchText('vermelho', { filters: { folders: [path.join(photos, '📷 viagem')] } });
    expect(red.hits.map((h) => rel(h.path))).toEqual(['📷 viagem/vermelho.jpg']);
  });

  it('similar', async () => {
    for (const folder of ODD) {
      // The query image sits in the decoy folder; only images inside the chosen folder come back.
      const decoy = library.listFiles({ folders: [path.join(photos, folder.replace('_', 'X').replace(' viagem', ' viagemX'))] })[0];
      const r = await session.searchSimilar(decoy.path, { filters: { folders: [path.join(photos, folder)] }, cutoff: false, limit: 50 });
      expect(r.hits.flatMap((h) => h.paths).map(rel).sort(), folder).toEqual(expected(folder));
    }
  });

  it('duplicates (no folder filter of its own): copies across these folders are grouped with their exact paths', () => {
    const groups = findDuplicates(library, session.modelKey).groups.map((g) => g.files.map((f) => rel(f.path)));
    for (const [copy, original] of Object.entries(COPIES)) expect(groups.some((g) => g.includes(copy) && g.includes(original)), copy).toBe(true);
    // Every path a group lists is a real indexed file.
    for (const p of groups.flat()) expect(fs.existsSync(path.join(photos, p)), p).toBe(true);
  });

  it('CLI: search and similar --folder, duplicates', async () => {
    const common = ['--library', libFile, '--model', modelDir, '--json'];
    for (const folder of ODD) {
      const dir = path.join(photos, folder);
      const search = await runCli(['search', 'uma foto', ...common, '--all', '--limit', '50', '--folder', dir]);
      expect(search.code, search.err).toBe(0);
      const paths = (JSON.parse(search.out) as { results: { paths: string[] }[] }).results.flatMap((h) => h.paths).map(rel).sort();
      expect(paths, folder).toEqual(expected(folder));
      const similar = await runCli(['similar', path.join(photos, 'aXb/amarelo.jpg'), ...common, '--all', '--limit', '50', '--folder', dir]);
      expect(similar.code, similar.err).toBe(0);
      expect((JSON.parse(similar.out) as { results: { paths: string[] }[] }).results.flatMap((h) => h.paths).map(rel).sort(), folder).toEqual(expected(folder));
    }
    const dup = await runCli(['duplicates', ...common]);
    expect(dup.code, dup.err).toBe(0);
    const groups = (JSON.parse(dup.out) as { groups: { files: { path: string }[] }[] }).groups.map((g) => g.files.map((f) => rel(f.path)));
    for (const [copy, original] of Object.entries(COPIES)) expect(groups.some((g) => g.includes(copy) && g.includes(original)), copy).toBe(true);
  });
});
