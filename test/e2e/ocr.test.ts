// Reading text in images, in the window (browser mode, Debian's Chromium, the real bridge and app
// layer, the synthetic colour model): the OCR switch on the empty library, a folder dropped with
// it on, the OCR phase in the indexing bar, the recognised text of a photo in the info panel (and
// copied from it), a search of the images' text with the matched words highlighted on the tile, and
// a damaged image marked on its tile, in the panel and in the indexing details. Screens photographed
// in pt-BR and English into test-output/screenshots/ and scanned with axe-core.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type TriagemClient } from '../../src/shared/client.js';
import { damagedJpeg } from '../support/damaged-images.js';
import { colourModelDir } from '../support/models.js';
import { optionalChromium } from '../support/optional.js';
import { tempDir, writePhoto } from '../support/sort-fixtures.js';
import { photoLike, renderTextImage, screenshotLike, SENTENCES_PT } from '../support/text-images.js';
import { axeScan, buildRenderer, dropPaths, openBrowser, recordProgressLines, screenshot, serve, type AxeViolation, type Browser, type Served } from './support/harness.js';

const chromiumPath = optionalChromium('OCR in the window (test/e2e/ocr.test.ts)');

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().innerText()).replace(/\s+/g, ' ').trim();
}

function tile(page: Page, name: string) {
  return page.getByTestId('tile').filter({ hasText: name });
}

describe.skipIf(!chromiumPath)('OCR and damaged images in the window', () => {
  let root: string;
  let material: string;
  let served: Served;
  let client: TriagemClient;
  let browser: Browser;
  let page: Page;
  const axe: Record<string, AxeViolation[]> = {};
  const savedDataDir = process.env.TRIAGEM_DATA_DIR;

  async function capture(name: string): Promise<void> {
    axe[name] = await axeScan(page);
    expect(axe[name], `${name}: ${JSON.stringify(axe[name], null, 1)}`).toEqual([]);
    await screenshot(page, name);
  }

  /** The same screen in English, then back to Portuguese. */
  async function captureBoth(name: string, ready: () => Promise<unknown>): Promise<void> {
    await capture(`pt-BR-${name}`);
    await page.getByTestId('language').selectOption('en');
    await ready();
    await capture(`en-${name}`);
    await page.getByTestId('language').selectOption('pt-BR');
    await ready();
  }

  beforeAll(async () => {
    root = tempDir('ocr-e2e');
    // The OCR engine's language data is gathered under the user's data folder: a temporary one.
    process.env.TRIAGEM_DATA_DIR = path.join(root, 'data');
    const rendererDir = await buildRenderer();
    material = path.join(root, 'material');
    fs.mkdirSync(path.join(material, 'prints'), { recursive: true });
    fs.writeFileSync(path.join(material, 'protesto.png'), (await renderTextImage({ text: SENTENCES_PT[0], size: 26, width: 700 })).image);
    const post = 'Moradores do bairro Jaguaribe relatam falta de água há cinco dias.';
    fs.writeFileSync(path.join(material, 'prints', 'post.png'), (await screenshotLike({ post, name: 'Rádio Comunitária', width: 560 })).image);
    fs.writeFileSync(path.join(material, 'paisagem.jpg'), await photoLike({ seed: 4, width: 480, height: 320 }));
    fs.writeFileSync(path.join(material, 'danificada.jpg'), await damagedJpeg(480, 320));
    await writePhoto(path.join(material, 'verde.jpg'), 'green', 3);
    const models = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(models, 'colour'), { recursive: true });
    served = await serve({ libraryPath: path.join(root, 'biblioteca', 'library.sqlite'), modelsDir: models, rendererDir });
    client = createClient({
      invoke: (op, input) => served.service.invoke(op, input),
      on: (event, listener) => served.service.onEvent((name, payload) => name === event && listener(payload as never)),
    });
    // An installed model and an (empty) library: the window opens on the empty library.
    await client.invoke('library.open', {});
    browser = await openBrowser(chromiumPath as string, served.bridge.url, { locale: 'pt-BR' });
    page = browser.page;
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: served.bridge.url });
  });

  afterAll(async () => {
    await browser?.close();
    await served?.close();
    if (savedDataDir === undefined) delete process.env.TRIAGEM_DATA_DIR;
    else process.env.TRIAGEM_DATA_DIR = savedDataDir;
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('the empty library offers the OCR switch, off, with its cost said; turning it on is remembered by the library', async () => {
    await page.getByTestId('empty-library').waitFor();
    const toggle = page.getByTestId('ocr-switch');
    await expect.poll(() => toggle.isEnabled()).toBe(true);
    expect(await toggle.isChecked()).toBe(false);
    expect(await text(page, 'ocr-toggle')).toMatch(/Ler texto nas imagens \(OCR\).*Mais lento.*sem internet.*português e inglês/);
    await captureBoth('40-ocr-switch', () => page.getByTestId('ocr-toggle').waitFor());
    await toggle.check();
    await expect.poll(async () => (await client.invoke('library.ocr', {})).enabled).toBe(true);
    expect(await toggle.isChecked()).toBe(true);
  });

  it('a dropped folder is indexed, then its text read, the OCR phase shown in the indexing bar', async () => {
    const progressLines = await recordProgressLines(page);
    await dropPaths(page, [material]);
    await expect.poll(() => text(page, 'index-text'), { timeout: 60_000, interval: 50 }).toMatch(/^Lendo o texto \d+ de 5/);
    await screenshot(page, 'pt-BR-41-ocr-progress');
    await page.getByTestId('index-progress').waitFor({ state: 'detached', timeout: 180_000 });
    const seen = await progressLines();
    expect(seen.some((s) => s.startsWith('Indexando 5 de 5')), seen.join('\n')).toBe(true);
    // The OCR phase counted up after embedding (its very last event may come after the job's answer,
    // when the bar is already gone).
    const reading = seen.filter((s) => /^Lendo o texto \d+ de 5/.test(s));
    expect(reading.length, seen.join('\n')).toBeGreaterThan(0);
    expect(seen.indexOf(reading[0]), seen.join('\n')).toBeGreaterThan(seen.findIndex((s) => s.startsWith('Indexando 5 de 5')));
    // The outcome, said once it ends: the damaged image among it.
    await expect.poll(() => page.locator('.toast').allInnerTexts().then((t) => t.join(' '))).toMatch(/Texto lido: \d+ image.* com texto/);
    expect(await page.locator('.toast').allInnerTexts().then((t) => t.join(' '))).toMatch(/1 imagem danificada, indexada com aviso/);
  });

  it('the info panel shows the recognised text of the photo in focus, with language and confidence, and copies it', async () => {
    await expect.poll(() => text(page, 'browse-count')).toBe('5 fotos');
    await tile(page, 'protesto.png').click();
    await page.getByTestId('ocr-text').waitFor();
    const recognised = await text(page, 'ocr-text');
    expect(recognised).toMatch(/manifesta..o reuniu milhares/i);
    expect(recognised).toMatch(/Paulista/);
    expect(await text(page, 'ocr-meta')).toMatch(/Lido em português \+ inglês · confiança \d+\s?%/);
    await page.getByTestId('ocr-copy').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(await page.getByTestId('ocr-text').innerText());
    await page.getByTestId('ocr-text').scrollIntoViewIfNeeded();
    await captureBoth('42-ocr-info-panel', () => page.getByTestId('ocr-text').waitFor());

    // A text-free photo says so plainly.
    await tile(page, 'paisagem.jpg').click();
    await expect.poll(() => text(page, 'ocr-status')).toMatch(/^(Posta de lado como foto sem texto|Nenhum texto encontrado)/);

    // The loupe keeps the panel beside the photo.
    await tile(page, 'protesto.png').dblclick();
    await page.getByTestId('loupe-image').waitFor();
    await page.waitForFunction(() => document.querySelector('.preview-img.loaded') !== null);
    await expect.poll(() => text(page, 'ocr-text')).toMatch(/Paulista/);
    await capture('pt-BR-43-ocr-loupe');
    await page.keyboard.press('KeyG');
    await page.getByTestId('grid').waitFor();
  });

  it('a damaged image carries a badge on its tile, its reason in the panel and a line in the indexing details', async () => {
    const damaged = tile(page, 'danificada.jpg');
    await damaged.getByTestId('tile-damaged').waitFor();
    expect(await page.getByTestId('tile-damaged').count()).toBe(1);
    await damaged.click();
    await expect.poll(() => text(page, 'info-warning')).toMatch(/^Imagem danificada\. Indexada mesmo assim\. O que a decodificação disse: damaged image data, decoded with errors/);
    await captureBoth('44-damaged-tile', () => page.getByTestId('info-warning').waitFor());
    await page.getByTestId('index-details').click();
    await page.getByTestId('warnings').waitFor();
    expect(await text(page, 'warnings')).toContain(path.join(material, 'danificada.jpg'));
    expect(await text(page, 'warnings')).toMatch(/danificada.jpg damaged image data, decoded with errors/);
    expect(await page.getByTestId('ocr-switch').isChecked()).toBe(true);
    expect(await text(page, 'ocr-counts')).toMatch(/Já lidas: \d+ com texto/);
    await captureBoth('45-index-details-warnings', () => page.getByTestId('warnings').waitFor());
    await page.keyboard.press('Escape');
    await page.getByTestId('index-dialog').waitFor({ state: 'detached' });
  });

  it('the search box finds a word written in an image, the snippet highlighting it', async () => {
    await page.getByTestId('search-input').fill('jaguaribe');
    await page.getByTestId('search-input').press('Enter');
    await page.getByTestId('search-count').waitFor();
    // Alongside the search by meaning, the switch counts the images whose text holds the word.
    await expect.poll(() => text(page, 'search-words')).toBe('Texto escrito nas imagens (1)');
    await page.getByTestId('search-words').click();
    await expect.poll(() => page.getByTestId('search-words').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => text(page, 'search-count')).toMatch(/^1 /);
    const hit = tile(page, 'post.png');
    await hit.getByTestId('snippet').waitFor();
    expect((await hit.locator('mark').allInnerTexts()).map((m) => m.toLowerCase())).toEqual(['jaguaribe']);
    await hit.click();
    await expect.poll(() => text(page, 'ocr-text')).toMatch(/Jaguaribe/);
    await captureBoth('46-ocr-search', () => page.getByTestId('snippet').first().waitFor());

    // Accent- and case-free words find the accented sentence.
    await page.getByTestId('search-input').fill('MANIFESTACAO');
    await page.getByTestId('search-input').press('Enter');
    await tile(page, 'protesto.png').getByTestId('snippet').waitFor();
    expect((await tile(page, 'protesto.png').locator('mark').allInnerTexts()).map((m) => m.toLowerCase())).toEqual([expect.stringMatching(/^manifesta/)]);
    expect(browser.errors).toEqual([]);
  });
});
