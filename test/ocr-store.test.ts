// OCR records, the full-text index and the text-in-image search condition, without the OCR engine:
// records are written the way the OCR stage writes them, over a library of real colour images
// indexed by the real indexer and colour model, so the semantic side of combined queries is real.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexFolders } from '../src/engine/indexer/indexer.js';
import { Library } from '../src/engine/library/library.js';
import { ftsQuery, parseSnippet, type OcrResult, type OcrSettings } from '../src/engine/library/ocr.js';
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { ocrEnabledByDefault } from '../src/engine/ocr/stage.js';
import { searchImageText, SearchSession } from '../src/engine/search/search.js';
import { addTag } from '../src/engine/search/tags.js';
import { colour, tempDir, writeImage } from './support/index-fixtures.js';
import { colourModelDir } from './support/models.js';
import { runCli } from './support/cli.js';

const SETTINGS: OcrSettings = { engine: 'tesseract.js test', langs: 'por+eng', pipeline: 1 };

/** Relative path → colour and the text "recognised" in it (undefined: no record yet). */
const TREE: Record<string, { colour: string; text?: string }> = {
  'docs/vermelho-nota.jpg': { colour: 'red', text: 'Nota oficial da PETROBRAS sobre a manifestação\nna refinaria' },
  'docs/azul-oficio.png': { colour: 'blue', text: 'Ofício nº 12: Petrobras confirma redução de preço' },
  'docs/verde-cartaz.jpg': { colour: 'green', text: 'Todos à manifestação!  Praça da Sé, 18h' },
  'fotos/vermelho-rua.jpg': { colour: 'red', text: '' },
  'fotos/amarelo.jpg': { colour: 'yellow' },
};

describe('OCR records and text-in-image search', () => {
  let root: string;
  let photos: string;
  let library: Library;
  let model: ClipModel;
  let libFile: string;
  const id = (rel: string) => library.fileByPath(path.join(photos, rel))!.contentId;
  const put = (rel: string, patch: Partial<OcrResult> = {}) =>
    library.ocr.put({ ...SETTINGS, contentId: id(rel), status: 'text', text: TREE[rel].text ?? '', confidence: 90, path: path.join(photos, rel), error: null, ms: 5, ...patch });
  const relOf = (contentId: number) => path.relative(photos, library.filesByContent(contentId)[0].path);

  beforeAll(async () => {
    root = tempDir('ocr-store');
    photos = path.join(root, 'fotos');
    let seed = 1;
    for (const [file, spec] of Object.entries(TREE)) await writeImage(path.join(photos, file), colour(spec.colour), { seed: seed++ });
    model = await loadModel(await colourModelDir(), { device: 'cpu' });
    libFile = path.join(root, 'lib.sqlite');
    library = Library.open(libFile);
    const summary = await indexFolders({ library, model, folders: [photos], thumbnails: false });
    expect(summary.failed).toEqual([]);
    for (const [rel, spec] of Object.entries(TREE)) {
      if (spec.text === undefined) continue;
      put(rel, { status: spec.text ? 'text' : 'empty', confidence: spec.text ? 90 : null });
    }
  });

  afterAll(async () => {
    library?.close();
    await model?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('matches accent- and case-insensitively, every word required', () => {
    const matches = (q: string) => [...library.ocr.match(q).keys()].map(relOf).sort();
    expect(matches('manifestacao')).toEqual(['docs/verde-cartaz.jpg', 'docs/vermelho-nota.jpg']);
    expect(matches('MANIFESTAÇÃO')).toEqual(['docs/verde-cartaz.jpg', 'docs/vermelho-nota.jpg']);
    expect(matches('petrobras')).toEqual(['docs/azul-oficio.png', 'docs/vermelho-nota.jpg']);
    expect(matches('petrobras manifestacao')).toEqual(['docs/vermelho-nota.jpg']);
    expect(matches('reducao preco')).toEqual(['docs/azul-oficio.png']);
    expect(matches('praca da se')).toEqual(['docs/verde-cartaz.jpg']);
    expect(matches('"praca da se"')).toEqual(['docs/verde-cartaz.jpg']);
    expect(matches('"da praca"')).toEqual([]);
    expect(matches('petro*')).toEqual(['docs/azul-oficio.png', 'docs/vermelho-nota.jpg']);
    expect(matches('petro')).toEqual([]);
    expect(matches('manifestacao protesto')).toEqual([]);
  });

  it('treats every FTS5 operator in the user text as plain words (no query injection)', () => {
    const hostile = [
      'petrobras" OR "sé',
      'petrobras OR sé',
      'NEAR(petrobras sé)',
      'text:petrobras',
      '{text}: petrobras',
      'petrobras -nota',
      '^petrobras',
      '(petrobras',
      'petrobras)',
      '"petrobras',
      'petrobras AND',
      'NOT petrobras',
      "petrobras'; DROP TABLE ocr_text; --",
      '* petrobras',
      'petrobras + sé',
    ];
    for (const q of hostile) {
      expect(() => library.ocr.match(q), q).not.toThrow();
      // Operators are words that must appear too; none of these texts hold "or", "near", "not"...
      // so the ones adding such words match nothing, and none ever widens the match.
      const got = [...library.ocr.match(q).keys()].map(relOf);
      for (const rel of got) expect(['docs/azul-oficio.png', 'docs/vermelho-nota.jpg'], q).toContain(rel);
    }
    expect([...library.ocr.match('petrobras OR sé').keys()]).toEqual([]);
    expect([...library.ocr.match('petrobras -nota').keys()].map(relOf)).toEqual(['docs/vermelho-nota.jpg']);
    expect(library.db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'ocr_text'").pluck().get()).toBe(1);
    expect(ftsQuery('a "b c" d*')).toBe('"a" AND "b c" AND "d"*');
    expect(ftsQuery('say "hi""')).toBe('"say" AND "hi"');
    expect(ftsQuery('*** -- ""')).toBeNull();
    expect(() => library.ocr.match('  ...  ')).toThrow(/at least one word/);
  });

  it('returns highlighted snippets whose offsets point at the matched words', () => {
    const snippets = library.ocr.snippets('manifestacao refinaria', [id('docs/vermelho-nota.jpg')]);
    const s = snippets.get(id('docs/vermelho-nota.jpg'))!;
    expect(s.text).toBe('Nota oficial da PETROBRAS sobre a manifestação na refinaria');
    expect(s.highlights.map(([a, b]) => s.text.slice(a, b))).toEqual(['manifestação', 'refinaria']);
    const cut = parseSnippet('…a \u{F0001}Sé\u{F0002},\n\n 18h');
    expect(cut.text).toBe('…a Sé, 18h');
    expect(cut.highlights.map(([a, b]) => cut.text.slice(a, b))).toEqual(['Sé']);
  });

  it('keeps the full-text index in step with the records (update, delete)', () => {
    const rel = 'fotos/vermelho-rua.jpg';
    expect(library.ocr.match('jaguaribe').size).toBe(0);
    put(rel, { text: 'Rua Jaguaribe, 45' });
    expect([...library.ocr.match('jaguaribe').keys()].map(relOf)).toEqual([rel]);
    put(rel, { text: '', status: 'empty' });
    expect(library.ocr.match('jaguaribe').size).toBe(0);
    library.db.prepare('DELETE FROM ocr_text WHERE content_id = ?').run(id('docs/verde-cartaz.jpg'));
    expect([...library.ocr.match('manifestacao').keys()].map(relOf)).toEqual(['docs/vermelho-nota.jpg']);
    expect(() => library.db.prepare("INSERT INTO ocr_fts(ocr_fts, rank) VALUES ('integrity-check', 1)").run()).not.toThrow();
    put('docs/verde-cartaz.jpg');
  });

  it('lists as pending only present contents without a record for the current settings', () => {
    const pending = () => library.ocr.candidates(SETTINGS).map((c) => relOf(c.contentId));
    expect(pending()).toEqual(['fotos/amarelo.jpg']);
    expect(library.ocr.candidates({ ...SETTINGS, langs: 'por' })).toHaveLength(Object.keys(TREE).length);
    expect(library.ocr.candidates({ ...SETTINGS, pipeline: 2 })).toHaveLength(Object.keys(TREE).length);
    put('fotos/amarelo.jpg', { status: 'gated', text: '' });
    expect(pending()).toEqual([]);
    expect(library.ocr.candidates(SETTINGS, { regate: true }).map((c) => relOf(c.contentId))).toEqual(['fotos/amarelo.jpg']);
    put('fotos/amarelo.jpg', { status: 'failed', text: '', error: 'permission denied' });
    expect(pending()).toEqual(['fotos/amarelo.jpg']);
    const rec = library.ocr.get(id('fotos/amarelo.jpg'))!;
    expect(rec).toMatchObject({ status: 'failed', error: 'permission denied', path: path.join(photos, 'fotos/amarelo.jpg'), engine: SETTINGS.engine });
    expect(library.ocr.counts()).toEqual({ text: 3, empty: 1, gated: 0, failed: 1 });
    put('fotos/amarelo.jpg', { status: 'gated', text: '' });
  });

  it('remembers the OCR switch per library', () => {
    expect(library.ocr.config()).toEqual({ enabled: null, langs: null });
    library.ocr.setConfig({ enabled: true, langs: 'por' });
    expect(library.ocr.config()).toEqual({ enabled: true, langs: 'por' });
    library.ocr.setConfig({ enabled: false });
    expect(library.ocr.config()).toEqual({ enabled: false, langs: 'por' });
    library.ocr.setConfig({ enabled: null, langs: null });
  });

  it('searches the text alone, best match first, with filters and snippets', () => {
    const r = searchImageText(library, 'petrobras');
    expect(r.hits.map((h) => path.relative(photos, h.path))).toHaveLength(2);
    expect(r.matched).toBe(2);
    expect(r.hits[0].score).toBeGreaterThanOrEqual(r.hits[1].score);
    for (const h of r.hits) expect(h.ocrSnippet!.highlights.map(([a, b]) => h.ocrSnippet!.text.slice(a, b).toLowerCase())).toContain('petrobras');
    const filtered = searchImageText(library, 'petrobras', { filters: { exts: ['png'] } });
    expect(filtered.hits.map((h) => path.relative(photos, h.path))).toEqual(['docs/azul-oficio.png']);
    addTag(library, 'verificar', [path.join(photos, 'docs/vermelho-nota.jpg')]);
    expect(searchImageText(library, 'manifestacao', { filters: { tags: ['verificar'] } }).hits.map((h) => path.relative(photos, h.path))).toEqual(['docs/vermelho-nota.jpg']);
    expect(searchImageText(library, 'petrobras', { limit: 1 }).hits).toHaveLength(1);
  });

  it('ranks the text matches by the semantic query, and only them', async () => {
    const session = await SearchSession.open(library, model);
    const plain = await session.searchText('vermelho', { cutoff: false, limit: 10 });
    expect(path.relative(photos, plain.hits[0].path)).toMatch(/vermelho/);
    expect(plain.hits.some((h) => h.ocrSnippet)).toBe(false);

    // "looks red AND mentions Petrobras": the red note first, then the blue letter; the red street
    // photo (no such text) is left out however red it is.
    const both = await session.searchText('vermelho', { text: 'petrobras', cutoff: false, limit: 10 });
    expect(both.hits.map((h) => path.relative(photos, h.path))).toEqual(['docs/vermelho-nota.jpg', 'docs/azul-oficio.png']);
    expect(both.considered).toBe(2);
    expect(both.hits.every((h) => h.ocrSnippet && /petrobras/i.test(h.ocrSnippet.text))).toBe(true);
    const blue = await session.searchText('azul', { text: 'petrobras', cutoff: false, limit: 10 });
    expect(path.relative(photos, blue.hits[0].path)).toBe('docs/azul-oficio.png');
    // Combined with a filter from the other conditions.
    const jpg = await session.searchText('azul', { text: 'petrobras', cutoff: false, filters: { exts: ['jpg'] } });
    expect(jpg.hits.map((h) => path.relative(photos, h.path))).toEqual(['docs/vermelho-nota.jpg']);
    const none = await session.searchText('vermelho', { text: 'inexistente', cutoff: false });
    expect(none.hits).toEqual([]);
    const similar = await session.searchSimilar(path.join(photos, 'fotos/vermelho-rua.jpg'), { text: 'manifestacao', cutoff: false });
    expect(similar.hits.map((h) => path.relative(photos, h.path)).sort()).toEqual(['docs/verde-cartaz.jpg', 'docs/vermelho-nota.jpg']);
  });

  it('CLI: search --text alone and with a query, JSON hits carry ocr_snippet', async () => {
    const alone = await runCli(['search', '--text', 'manifestacao', '--library', libFile, '--json']);
    expect(alone.code).toBe(0);
    const a = JSON.parse(alone.out);
    expect(a.results.map((r: { path: string }) => path.relative(photos, r.path)).sort()).toEqual(['docs/verde-cartaz.jpg', 'docs/vermelho-nota.jpg']);
    for (const r of a.results) {
      expect(r.ocr_snippet).toMatch(/manifestação/);
      expect(r.ocr_highlights.map(([s, e]: [number, number]) => r.ocr_snippet.slice(s, e))).toEqual(['manifestação']);
    }

    const modelDir = await colourModelDir();
    const both = await runCli(['search', 'vermelho', '--text', 'petrobras', '--all', '--library', libFile, '--model', modelDir, '--device', 'cpu', '--json']);
    expect(both.code).toBe(0);
    const b = JSON.parse(both.out);
    expect(b.text).toBe('petrobras');
    expect(b.results.map((r: { path: string }) => path.relative(photos, r.path))).toEqual(['docs/vermelho-nota.jpg', 'docs/azul-oficio.png']);
    expect(b.results[0].ocr_snippet).toMatch(/PETROBRAS/);

    const human = await runCli(['search', '--text', 'praca se', '--library', libFile]);
    expect(human.code).toBe(0);
    expect(human.out).toContain('docs/verde-cartaz.jpg');
    expect(human.out).toContain('[Praça] da [Sé]');

    const usage = await runCli(['search', '--text', '"" ***', '--library', libFile]);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--text needs at least one word/);
  });

  it('turns OCR on by default for text-bearing presets and fast machines only', () => {
    expect(ocrEnabledByDefault(['arma ou veículo militar', 'documento', 'meme'], 2)).toBe(true);
    expect(ocrEnabledByDefault(['photo of people', 'screenshot of a chat'], 2)).toBe(true);
    expect(ocrEnabledByDefault(['multidão em manifestação', 'polícia', 'rua vazia'], 2)).toBe(false);
    expect(ocrEnabledByDefault(['multidão em manifestação', 'polícia', 'rua vazia'], 16)).toBe(true);
  });
});
