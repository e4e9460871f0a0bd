// Every screen of the window in both languages: photographed into test-output/screenshots/
// (<language>-<nn>-<screen>.png) and scanned with axe-core, which must report no serious or
// critical violation. The library is prepared through the same contract the window uses, so the
// screens show a session in progress: sorted, partly reviewed, tagged.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type TriagemClient } from '../../src/shared/client.js';
import { colourModelDir } from '../support/models.js';
import { startModelHub, type ModelHub } from '../support/model-hub.js';
import { optionalChromium } from '../support/optional.js';
import { tempDir } from '../support/sort-fixtures.js';
import { axeScan, buildRenderer, dropPaths, openBrowser, screenshot, serve, type AxeViolation, type Browser, type Served } from './support/harness.js';
import { LABELS_PT, writeNewsroom, type Newsroom } from './support/newsroom.js';

const chromiumPath = optionalChromium('window screenshots and accessibility scans (test/e2e/screens.test.ts)');
const LANGUAGES = ['pt-BR', 'en'] as const;

function localClient(served: Served): TriagemClient {
  return createClient({
    invoke: (op, input) => served.service.invoke(op, input),
    on: (event, listener) => served.service.onEvent((name, payload) => name === event && listener(payload as never)),
  });
}

describe.skipIf(!chromiumPath)('every screen, in pt-BR and English', () => {
  let root: string;
  let news: Newsroom;
  let rendererDir: string;
  let hub: ModelHub;
  let served: Served;
  let fresh: Served;
  const found: Record<string, AxeViolation[]> = {};
  const saved = { catalog: process.env.TRIAGEM_CATALOG, endpoint: process.env.TRIAGEM_HF_ENDPOINT };

  async function capture(page: Page, name: string): Promise<void> {
    found[name] = await axeScan(page);
    await screenshot(page, name);
  }

  beforeAll(async () => {
    root = tempDir('window-screens');
    rendererDir = await buildRenderer();
    news = await writeNewsroom(path.join(root, 'material'));
    hub = await startModelHub(path.join(root, 'hub'));
    process.env.TRIAGEM_CATALOG = hub.catalogFile;
    process.env.TRIAGEM_HF_ENDPOINT = hub.hub.endpoint;

    // A session in progress: indexed, sorted (with a threshold), partly reviewed, tagged.
    const models = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(models, 'colour'), { recursive: true });
    served = await serve({ libraryPath: path.join(root, 'library.sqlite'), modelsDir: models, rendererDir });
    const client = localClient(served);
    await client.invoke('index.start', { folders: [news.root] });
    const run = await client.invoke('sort.run', { labels: LABELS_PT, limit: 0 });
    const summary = (await client.invoke('review.summary', {})).summary;
    // A 0.3 threshold on the label holding the most low scores (the orange photos no label fits).
    const low = (bins: number[]) => bins.slice(0, 300).reduce((a, b) => a + b, 0);
    const orange = [...(summary?.perLabel ?? [])].sort((a, b) => low(b.histogram) - low(a.histogram))[0];
    if (orange) await client.invoke('review.thresholds', { runId: run.runId, thresholds: { [orange.label]: 0.3 } });
    const reds = (await client.invoke('library.query', { sort: 'score', filters: { label: 'vermelho', onePerContent: true } })).fileIds;
    await client.invoke('review.mark', { fileIds: reds.slice(0, 4), action: 'accept' });
    await client.invoke('review.mark', { fileIds: [reds[4]], action: 'reject' });
    await client.invoke('review.mark', { fileIds: [reds[5]], action: 'label', label: 'amarelo' });
    await client.invoke('review.mark', { fileIds: [reds[6]], action: 'keep' });
    await client.invoke('tags.change', { action: 'add', tag: 'capa', fileIds: reds.slice(0, 3) });
    await client.invoke('tags.change', { action: 'add', tag: 'verificar origem', fileIds: reds.slice(3, 5) });

    // A fresh install, for the first-run screens.
    fresh = await serve({ libraryPath: path.join(root, 'nova', 'library.sqlite'), modelsDir: path.join(root, 'models-vazio'), rendererDir });
  });

  afterAll(async () => {
    await served?.close();
    await fresh?.close();
    await hub?.close();
    for (const [k, v] of [['TRIAGEM_CATALOG', saved.catalog], ['TRIAGEM_HF_ENDPOINT', saved.endpoint]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  for (const lang of LANGUAGES) {
    it(`first run and empty library (${lang})`, async () => {
      let browser: Browser | undefined;
      try {
        browser = await openBrowser(chromiumPath as string, fresh.bridge.url, { locale: lang });
        const page = browser.page;
        await page.getByTestId('download').waitFor();
        await capture(page, `${lang}-01-first-run-model`);
        await page.getByTestId('import-model').click();
        await page.getByTestId('folder-picker').waitFor();
        // The picker fills the field with the folder it opens on; type once that has arrived.
        await expect.poll(() => page.getByTestId('picker-path').inputValue()).not.toBe('');
        await page.getByTestId('picker-path').fill(await colourModelDir());
        await page.getByTestId('picker-path').press('Enter');
        await expect.poll(() => page.getByTestId('picker-path').inputValue()).toBe(await colourModelDir());
        await capture(page, `${lang}-02-folder-picker`);
        await page.getByTestId('picker-choose').click();
        await page.getByTestId('model-message').waitFor({ timeout: 30_000 });
        await page.getByTestId('model-next').click();
        await page.getByTestId('start').waitFor();
        await capture(page, `${lang}-03-first-run-library`);
        await page.getByTestId('start').click();
        await page.getByTestId('empty-library').waitFor();
        await capture(page, `${lang}-04-empty-library`);
        await page.evaluate(() => {
          const data = new DataTransfer();
          data.setData('text/uri-list', 'file:///tmp');
          document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true }));
        });
        await page.getByTestId('drop-overlay').waitFor();
        await capture(page, `${lang}-05-drop`);
        expect(browser.errors).toEqual([]);
      } finally {
        await browser?.close();
        // The next language starts from a fresh install again.
        fs.rmSync(path.join(root, 'models-vazio'), { recursive: true, force: true });
        fs.rmSync(path.join(root, 'nova'), { recursive: true, force: true });
        await fresh.close();
        fresh = await serve({ libraryPath: path.join(root, 'nova', 'library.sqlite'), modelsDir: path.join(root, 'models-vazio'), rendererDir });
      }
    });

    it(`a session in progress, every view and dialog (${lang})`, async () => {
      const browser = await openBrowser(chromiumPath as string, served.bridge.url, { locale: lang });
      const page = browser.page;
      try {
        await page.getByTestId('grid').waitFor();
        await page.getByTestId('tile').nth(5).click();
        await capture(page, `${lang}-10-library`);
        await page.keyboard.press('KeyE');
        await page.getByTestId('loupe-image').waitFor();
        await page.waitForFunction(() => document.querySelector('.preview-img.loaded') !== null);
        await capture(page, `${lang}-11-loupe`);
        await page.keyboard.press('KeyC');
        await page.getByTestId('compare').waitFor();
        await page.waitForFunction(() => document.querySelectorAll('.preview-img.loaded').length === 2);
        await capture(page, `${lang}-12-compare`);
        await page.keyboard.press('KeyG');

        await page.getByTestId('nav-sort').click();
        await page.getByTestId('sort-results').waitFor();
        await capture(page, `${lang}-13-sort`);

        await page.getByTestId('review-vermelho').click();
        await page.getByTestId('review-progress').waitFor();
        await page.getByTestId('grid').focus();
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('ArrowRight');
        await capture(page, `${lang}-14-review`);
        await page.keyboard.press('Shift+ArrowRight');
        await page.keyboard.press('KeyK');
        await page.getByTestId('tag-dialog').waitFor();
        await capture(page, `${lang}-15-tags`);
        await page.keyboard.press('Escape');
        await page.keyboard.press('Shift+Slash');
        await page.getByTestId('help').waitFor();
        await capture(page, `${lang}-16-help`);
        await page.keyboard.press('Escape');

        await page.getByTestId('search-input').fill('vermelho');
        await page.getByTestId('search-input').press('Enter');
        await page.getByTestId('search-count').waitFor();
        await page.locator('.cutoff-note summary').click();
        await capture(page, `${lang}-17-search`);

        await page.getByTestId('nav-duplicates').click();
        await page.getByTestId('dup-group').waitFor({ timeout: 30_000 });
        await capture(page, `${lang}-18-duplicates`);

        const dest = path.join(root, `entrega-${lang}`);
        fs.mkdirSync(path.join(dest, 'vermelho'), { recursive: true });
        fs.writeFileSync(path.join(dest, 'vermelho', 'IMG_4103.jpg'), 'already there');
        await page.getByTestId('nav-export').click();
        await page.getByTestId('export-destination').fill(dest);
        await page.getByTestId('export-preview').click();
        await page.getByTestId('export-plan').waitFor();
        await capture(page, `${lang}-19-export-preview`);
        await page.getByTestId('export-run').click();
        await page.getByTestId('export-done').waitFor();
        await capture(page, `${lang}-20-export-done`);
        await page.getByTestId('export-undo').click();
        await page.getByTestId('export-undone').waitFor();

        await page.getByTestId('nav-browse').click();
        await page.getByTestId('grid').waitFor();
        await page.getByTestId('add-folders').click();
        await page.getByTestId('folder-picker').waitFor();
        // The picker fills the field with the folder it opens on; type once that has arrived.
        await expect.poll(() => page.getByTestId('picker-path').inputValue()).not.toBe('');
        await page.getByTestId('picker-path').fill(news.root);
        await page.getByTestId('picker-path').press('Enter');
        await expect.poll(() => page.getByTestId('picker-path').inputValue()).toBe(news.root);
        await capture(page, `${lang}-21-folder-picker`);
        await page.keyboard.press('Escape');
        // Indexing the same folder again: nothing new, and the details list the file that fails.
        await dropPaths(page, [news.root]);
        await page.getByTestId('index-details').click();
        await page.getByTestId('failures').waitFor();
        await capture(page, `${lang}-22-index-details`);
        await page.keyboard.press('Escape');
        expect(browser.errors).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  }

  it('axe-core finds no serious or critical violation on any screen', () => {
    expect(Object.keys(found).length).toBeGreaterThanOrEqual(30);
    const bad = Object.entries(found).filter(([, v]) => v.length > 0);
    expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
  });
});
