// The window end to end, in browser mode: Debian's Chromium driving the built renderer through the
// real bridge and app layer, with the synthetic colour model standing in for CLIP. One reporter's
// session, in order: first run (download with cancel/resume, import from a folder), a folder
// dropped on the window, sorting into Portuguese labels, ten photos reviewed with the keyboard,
// tags, search and "similar", a duplicate group, an export with a name clash and its undo. After the
// drop, every step uses the keyboard only. Each screen is scanned with axe-core and photographed in
// pt-BR and English (test-output/screenshots/).
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourModelDir } from '../support/models.js';
import { MULTILINGUAL_ID, startModelHub, type ModelHub } from '../support/model-hub.js';
import { optionalChromium } from '../support/optional.js';
import { writeScenePhoto } from '../support/scene-photos.js';
import { tempDir } from '../support/sort-fixtures.js';
import { axeScan, buildRenderer, dropPaths, openBrowser, recordProgressLines, screenshot, serve, tabTo, type AxeViolation, type Browser, type Served } from './support/harness.js';
import { LABELS_PT, writeNewsroom, type Newsroom } from './support/newsroom.js';

const chromiumPath = optionalChromium('window end-to-end tests (test/e2e/window.test.ts)');
/** Photos in the second batch: enough large ones that its progress stays on screen for a while. */
const LOTE = 60;

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().innerText()).replace(/\s+/g, ' ').trim();
}

async function activeTestId(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
}

/** Keyboard only: Tab to a control, then Enter. */
async function press(page: Page, selector: string): Promise<void> {
  await tabTo(page, selector);
  await page.keyboard.press('Enter');
}

/** Keyboard only: Tab to a field, replace its text by typing, then Enter. */
async function typeInto(page: Page, selector: string, value: string): Promise<void> {
  // The picker fills the field with the folder it opens on; type once that has arrived.
  await expect.poll(() => page.locator(selector).inputValue()).not.toBe('');
  await tabTo(page, selector);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
  await page.keyboard.press('Enter');
}

describe.skipIf(!chromiumPath)('the window, end to end (browser mode)', () => {
  let root: string;
  let news: Newsroom;
  let lote: string;
  let outside: string;
  let hub: ModelHub;
  let served: Served;
  let browser: Browser;
  let page: Page;
  const axe: Record<string, AxeViolation[]> = {};
  const saved = { catalog: process.env.TRIAGEM_CATALOG, endpoint: process.env.TRIAGEM_HF_ENDPOINT };

  async function scan(name: string): Promise<void> {
    axe[name] = await axeScan(page);
    expect(axe[name], `${name}: ${JSON.stringify(axe[name], null, 1)}`).toEqual([]);
  }

  beforeAll(async () => {
    root = tempDir('window-e2e');
    const rendererDir = await buildRenderer();
    news = await writeNewsroom(path.join(root, 'material'));
    // A second batch, added while browsing the first (large enough that its progress is visible).
    lote = path.join(root, 'lote-2');
    const colours: [number, number, number][] = [
      [30, 170, 50],
      [25, 60, 230],
      [250, 240, 30],
    ];
    for (let i = 0; i < LOTE; i++) await writeScenePhoto(path.join(lote, `DSC_${9000 + i}.jpg`), { seed: 500 + i, colour: colours[i % 3], width: 2400, height: 1600 });
    outside = path.join(root, 'fora', 'recebida.jpg');
    await writeScenePhoto(outside, { seed: 900, colour: [25, 60, 230], width: 640, height: 427 });
    hub = await startModelHub(path.join(root, 'hub'));
    process.env.TRIAGEM_CATALOG = hub.catalogFile;
    process.env.TRIAGEM_HF_ENDPOINT = hub.hub.endpoint;
    served = await serve({ libraryPath: path.join(root, 'biblioteca', 'library.sqlite'), modelsDir: path.join(root, 'models'), rendererDir });
    browser = await openBrowser(chromiumPath as string, served.bridge.url, { locale: 'pt-BR' });
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    await hub?.close();
    for (const [k, v] of [['TRIAGEM_CATALOG', saved.catalog], ['TRIAGEM_HF_ENDPOINT', saved.endpoint]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('first run: multilingual preselected for pt-BR; download with progress, cancel and resume; import from a folder', async () => {
    await page.getByRole('heading', { name: 'Bem-vindo ao Triagem' }).waitFor();
    expect(await page.getByTestId(`model-${MULTILINGUAL_ID}`).locator('input').isChecked()).toBe(true);
    expect(await text(page, `model-${MULTILINGUAL_ID}`)).toMatch(/Recomendado para português/);
    await scan('first-run');
    await screenshot(page, 'journey-01-first-run');

    // A stalled connection: progress shows, then the reporter cancels and later resumes.
    hub.hub.setMode('onnx/text_model_quantized.onnx', { kind: 'stall', afterBytes: 200_000, times: 1 });
    await press(page, '[data-testid=download]');
    await expect.poll(() => text(page, 'download-text'), { timeout: 20_000 }).toMatch(/ de .*MB/);
    await screenshot(page, 'journey-02-first-run-downloading');
    await scan('first-run-downloading');
    await press(page, '[data-testid=download-cancel]');
    await page.getByRole('button', { name: 'Retomar download' }).waitFor();
    hub.hub.resetModes();
    await press(page, '[data-testid=download]');
    await expect.poll(() => text(page, 'model-message'), { timeout: 30_000 }).toMatch(/Modelo pronto/);

    // Offline laptops: import a model folder through the folder picker, keyboard only.
    await press(page, '[data-testid=import-model]');
    await page.getByTestId('folder-picker').waitFor();
    await typeInto(page, '[data-testid=picker-path]', await colourModelDir());
    await expect.poll(() => page.getByTestId('picker-path').inputValue()).toBe(await colourModelDir());
    await scan('folder-picker');
    await screenshot(page, 'journey-03-folder-picker');
    await press(page, '[data-testid=picker-choose]');
    await expect.poll(() => text(page, 'model-message'), { timeout: 30_000 }).toMatch(/importado: \d+ arquivos conferidos/);

    await press(page, '[data-testid=model-next]');
    await page.getByTestId('start').waitFor();
    await scan('first-run-library');
    await screenshot(page, 'journey-04-first-run-library');
    await press(page, '[data-testid=start]');
    await page.getByTestId('empty-library').waitFor();
    await scan('empty-library');
    await screenshot(page, 'journey-05-empty-library');
  });

  it('indexes a folder dropped on the window, progress to the end, and lists the file that failed', async () => {
    const progressLines = await recordProgressLines(page);
    await dropPaths(page, [news.root]);
    await expect.poll(() => text(page, 'library-count'), { timeout: 60_000 }).toBe(`${news.images} fotos na biblioteca`);
    await page.getByTestId('index-progress').waitFor({ state: 'detached', timeout: 60_000 });
    const seen = await progressLines();
    expect(seen.some((s) => s.startsWith(`Indexando ${news.images + 1} de ${news.images + 1}`)), seen.join('\n')).toBe(true);
    await expect.poll(() => text(page, 'browse-count')).toBe(`${news.images} fotos`);
    expect(await page.getByTestId('tile').count()).toBeGreaterThan(8);

    await press(page, '[data-testid=index-details]');
    await page.getByTestId('failures').waitFor();
    expect(await text(page, 'failures')).toContain(news.corrupt);
    await scan('index-failures');
    await screenshot(page, 'journey-07-index-failures');
    await page.keyboard.press('Escape');
    await page.getByTestId('index-dialog').waitFor({ state: 'detached' });
  });

  it('adds a second folder with the keyboard and keeps browsing while it indexes', async () => {
    // Record the grid's count while the job runs: new photos must join it before the job ends.
    await page.evaluate(() => {
      const w = window as unknown as { countsWhileIndexing: string[] };
      w.countsWhileIndexing = [];
      new MutationObserver(() => {
        const count = document.querySelector('[data-testid="browse-count"]')?.textContent;
        if (count && document.querySelector('[data-testid="index-progress"]')) w.countsWhileIndexing.push(count);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await press(page, '[data-testid=add-folders]');
    await page.getByTestId('folder-picker').waitFor();
    await typeInto(page, '[data-testid=picker-path]', lote);
    await expect.poll(() => page.getByTestId('picker-path').inputValue()).toBe(lote);
    await press(page, '[data-testid=picker-choose]');
    await page.getByTestId('index-progress').waitFor();
    await expect.poll(() => text(page, 'index-text'), { timeout: 30_000, interval: 50 }).toMatch(new RegExp(`^Indexando \\d+ de ${LOTE}`));
    await screenshot(page, 'journey-06-indexing');
    // Browsing goes on: the grid takes focus and answers the arrows while the batch indexes.
    await tabTo(page, '[data-testid=grid]');
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('index-progress').waitFor({ state: 'detached', timeout: 90_000 });
    await expect.poll(() => text(page, 'browse-count'), { timeout: 10_000 }).toBe(`${news.images + LOTE} fotos`);
    const counts = await page.evaluate(() => (window as unknown as { countsWhileIndexing: string[] }).countsWhileIndexing);
    expect(counts.some((c) => Number(c.split(' ')[0]) > news.images), counts.join(', ')).toBe(true);
  });

  it('sorts into Portuguese labels, with live counts of what a threshold sends to "unsure"', async () => {
    await press(page, '[data-testid=nav-sort]');
    await tabTo(page, '[data-testid=label-input]');
    await page.keyboard.type(LABELS_PT.join(', '));
    await page.keyboard.press('Enter');
    expect((await page.getByTestId('label-list').locator('li').allInnerTexts()).map((l) => l.replace(/[\s×]+/g, ''))).toEqual(LABELS_PT.map((l, i) => `${i + 1}${l}`));
    await press(page, '[data-testid=run-sort]');
    await page.getByTestId('sort-results').waitFor();
    await expect.poll(() => text(page, 'column-vermelho')).toMatch(/^1 vermelho 13 fotos/);
    // The three orange photos fit no label (scores ~0.2): a 0.3 threshold on the label they went to
    // moves them to "unsure"; the count under the slider says so before anything is saved.
    let moved = false;
    for (const label of LABELS_PT) {
      await tabTo(page, `[data-testid="threshold-${label}"]`);
      for (let i = 0; i < 60; i++) await page.keyboard.press('ArrowRight');
      const would = await text(page, `would-go-${label}`);
      if (/^3 abaixo do limite/.test(would)) {
        moved = true;
        break;
      }
      for (let i = 0; i < 60; i++) await page.keyboard.press('ArrowLeft');
    }
    expect(moved).toBe(true);
    await expect.poll(() => text(page, 'column-unsure'), { timeout: 10_000 }).toMatch(/3 fotos/);
    await scan('sort');
    await screenshot(page, 'journey-08-sort');
  });

  it('reviews ten photos with the keyboard only: assign, accept, reject, keep, advance, loupe, undo', async () => {
    await press(page, '[data-testid=review-vermelho]');
    await page.getByTestId('review-progress').waitFor();
    expect(await text(page, 'review-progress')).toBe('0 de 13 revisadas');
    await tabTo(page, '[data-testid=grid]');
    const focusedLabel = async () => {
      const id = await page.evaluate(() => document.querySelector('[role="grid"]')?.getAttribute('aria-activedescendant'));
      return page.evaluate((cell) => document.getElementById(cell ?? '')?.querySelector('[data-testid="tile-label"]')?.textContent ?? null, id);
    };
    // 1: assign label 2 and advance (Shift on ABNT2 types "@" here: matched by key position).
    await page.keyboard.press('Shift+Digit2');
    // 2-3: accept the suggestion and advance.
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Shift+Enter');
    // 4: reject and advance.
    await page.keyboard.press('Shift+KeyX');
    // 5: keep and advance.
    await page.keyboard.press('Shift+KeyP');
    // 6: assign label 1 without advancing, then move on with the arrow.
    await page.keyboard.press('Digit1');
    await expect.poll(focusedLabel).toBe('1vermelho');
    await page.keyboard.press('ArrowRight');
    // 7-8: in the loupe a mark applies to the photo shown.
    await page.keyboard.press('KeyE');
    await page.getByTestId('loupe').waitFor();
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'loupe-label')).toBe('1 vermelho');
    await scan('loupe');
    await screenshot(page, 'journey-10-loupe');
    await page.keyboard.press('ArrowRight');
    // 9: compare mode, mark the focused (A) photo.
    await page.keyboard.press('KeyC');
    await page.getByTestId('compare').waitFor();
    await page.keyboard.press('Shift+Digit1');
    await scan('compare');
    await screenshot(page, 'journey-11-compare');
    // 10: back to the grid, accept.
    await page.keyboard.press('KeyG');
    await page.getByTestId('grid').waitFor();
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'review-progress')).toBe('10 de 13 revisadas');
    // Undo the last mark.
    await page.keyboard.press('Control+KeyZ');
    await expect.poll(() => text(page, 'review-progress')).toBe('9 de 13 revisadas');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'review-progress')).toBe('10 de 13 revisadas');
    // The first photo went to "verde"; least confident first means its score is the lowest shown.
    const chips = await page.locator('[data-testid="tile-label"]').allInnerTexts();
    expect(chips[0]).toMatch(/^2\s*verde$/);
    await expect.poll(() => text(page, 'info-label')).toBe('vermelho');
    await scan('review');
    await screenshot(page, 'journey-09-review');
    // "?" shows the whole key map.
    await page.keyboard.press('Shift+Slash');
    await page.getByTestId('help').waitFor();
    await scan('help');
    await screenshot(page, 'journey-12-help');
    await page.keyboard.press('Escape');
  });

  it('tags the selection with autocomplete, and filters by tag', async () => {
    await tabTo(page, '[data-testid=grid]');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('Shift+ArrowRight');
    expect(await text(page, 'selection-count')).toBe('3 selecionadas');
    await page.keyboard.press('KeyK');
    await page.getByTestId('tag-dialog').waitFor();
    await page.keyboard.type('capa');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'tag-dialog')).toMatch(/#capa/);
    await scan('tags');
    await screenshot(page, 'journey-13-tags');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('nav-tag').first().innerText()).toMatch(/#capa\s+3/);
    await press(page, '[data-testid=nav-tag]');
    await expect.poll(() => text(page, 'browse-count')).toBe('3 fotos');
  });

  it('searches in Portuguese with the cut-off explained, then finds similar from a tile and from a dropped file', async () => {
    await tabTo(page, '[data-testid=search-input]');
    await page.keyboard.type('vermelho -azul');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'search-title')).toBe('Resultados para “vermelho -azul”');
    await expect.poll(() => text(page, 'search-count')).toMatch(/^\d+ resultados? em \d+ ms$/);
    expect(await text(page, 'cutoff-note')).toMatch(/corte adaptativo em −?-?\d+,\d{3}\)/);
    const withCutoff = Number((await text(page, 'search-count')).split(' ')[0]);
    await scan('search');
    await screenshot(page, 'journey-14-search');
    await press(page, '[data-testid=show-all]');
    await expect.poll(async () => Number((await text(page, 'search-count')).split(' ')[0])).toBeGreaterThan(withCutoff);

    await tabTo(page, '[data-testid=grid]');
    // V acts on the focused photo: wait until the re-run search has drawn its tiles and one has focus.
    await expect.poll(() => page.getByTestId('grid').getAttribute('aria-activedescendant')).toBeTruthy();
    await page.getByTestId('tile').first().waitFor();
    await page.keyboard.press('KeyV');
    await expect.poll(() => text(page, 'search-title')).toMatch(/^Semelhantes a /);

    await dropPaths(page, [outside], 'similar');
    await expect.poll(() => text(page, 'search-title')).toBe('Semelhantes a recebida.jpg');
    await expect.poll(() => text(page, 'search-count')).toMatch(/^\d+ resultados?/);
  });

  it('resolves a duplicate group, and "not duplicates" is remembered', async () => {
    await press(page, '[data-testid=nav-duplicates]');
    await page.getByTestId('dup-group').waitFor({ timeout: 30_000 });
    const first = await text(page, 'dup-position');
    const total = Number(/de (\d+)/.exec(first)?.[1]);
    expect(total).toBeGreaterThan(1);
    await scan('duplicates');
    await screenshot(page, 'journey-15-duplicates');
    // Shift+C keeps the suggested copy and sets the rest aside; the next group comes up.
    await page.keyboard.press('Shift+KeyC');
    await expect.poll(() => text(page, 'dup-position')).toBe(`Grupo 1 de ${total - 1}`);
    await page.keyboard.press('KeyN');
    await expect.poll(() => text(page, 'dup-position')).toBe(`Grupo 1 de ${total - 2}`);
    // Leave and come back: neither group returns.
    await press(page, '[data-testid=nav-browse]');
    await press(page, '[data-testid=nav-duplicates]');
    await expect.poll(() => text(page, 'dup-position'), { timeout: 30_000 }).toBe(`Grupo 1 de ${total - 2}`);
  });

  it('exports a label with a name clash shown before anything is written, then undoes it', async () => {
    const dest = path.join(root, 'entrega');
    fs.mkdirSync(path.join(dest, 'vermelho'), { recursive: true });
    fs.writeFileSync(path.join(dest, 'vermelho', 'IMG_4101.jpg'), 'a file the reporter already had');
    await press(page, '[data-testid=nav-export]');
    await tabTo(page, '[data-testid=export-destination]');
    await page.keyboard.type(dest);
    await press(page, '[data-testid=export-preview]');
    await page.getByTestId('export-plan').waitFor();
    expect(await text(page, 'export-clashes')).toMatch(/^\d+ nomes? já usados?/);
    const clashRows = await page.getByTestId('clash-row').allInnerTexts();
    expect(clashRows.some((r) => r.includes('IMG_4101.jpg') && r.includes('IMG_4101 (1).jpg') && r.includes('já existe no destino'))).toBe(true);
    expect(fs.readdirSync(path.join(dest, 'vermelho'))).toEqual(['IMG_4101.jpg']);
    await scan('export-preview');
    await screenshot(page, 'journey-16-export-preview');
    await press(page, '[data-testid=export-run]');
    await page.getByTestId('export-done').waitFor();
    const written = fs.readdirSync(path.join(dest, 'vermelho')).sort();
    expect(written).toContain('IMG_4101 (1).jpg');
    expect(fs.readFileSync(path.join(dest, 'vermelho', 'IMG_4101.jpg'), 'utf8')).toBe('a file the reporter already had');
    expect(fs.existsSync(path.join(dest, 'triagem-results.csv'))).toBe(true);
    await scan('export-done');
    await screenshot(page, 'journey-17-export-done');
    await press(page, '[data-testid=export-undo]');
    await page.getByTestId('export-undone').waitFor();
    expect(fs.readdirSync(path.join(dest, 'vermelho'))).toEqual(['IMG_4101.jpg']);
    expect(fs.existsSync(path.join(dest, 'triagem-results.csv'))).toBe(false);
  });

  it('raised no page errors', () => {
    expect(browser.errors).toEqual([]);
  });
});
