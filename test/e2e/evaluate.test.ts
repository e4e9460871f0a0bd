// The Evaluate screen and few-shot from review, in the window: photos are marked in review with the
// keyboard, Evaluate grades the sort on them (the numbers on the page are the engine's), a truth
// CSV typed in grades it on held-out photos, and a re-sort says how many confirmed photos each
// label learnt from. Screens in both languages go to test-output/screenshots/ and through axe-core.
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type TriagemClient } from '../../src/shared/client.js';
import type { OpOutput } from '../../src/shared/contract.js';
import { writeDayNightTree } from '../support/eval-fixtures.js';
import { colourModelDir } from '../support/models.js';
import { optionalChromium } from '../support/optional.js';
import { tempDir } from '../support/sort-fixtures.js';
import { axeScan, buildRenderer, openBrowser, screenshot, serve, tabTo, type AxeViolation, type Served } from './support/harness.js';

const chromiumPath = optionalChromium('Evaluate screen end-to-end tests (test/e2e/evaluate.test.ts)');
const LABELS = ['dia', 'noite'];
const PER_LABEL = 5;

function localClient(served: Served): TriagemClient {
  return createClient({
    invoke: (op, input) => served.service.invoke(op, input),
    on: (event, listener) => served.service.onEvent((name, payload) => name === event && listener(payload as never)),
  });
}

async function text(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).innerText()).trim();
}

const pct = (lang: string, x: number) => new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(x);
const fixed3 = (lang: string, x: number) => new Intl.NumberFormat(lang, { minimumFractionDigits: 3, maximumFractionDigits: 3 }).format(x);

/** The page shows what the engine answers: headline, per-label F1 and every confusion cell. */
async function expectPageShows(page: Page, lang: string, out: OpOutput<'eval.run'>): Promise<void> {
  expect(await text(page, 'metric-accuracy-top')).toBe(pct(lang, out.accuracy));
  expect(await text(page, 'metric-macro-f1-top')).toBe(fixed3(lang, out.macroF1));
  if (out.zeroShot) expect(await text(page, 'metric-accuracy-zero')).toBe(pct(lang, out.zeroShot.accuracy));
  for (const label of out.labels) expect(await text(page, `f1-${label}`)).toBe(fixed3(lang, out.perLabel[label].f1));
  let total = 0;
  for (const row of out.labels) {
    for (const col of out.columns) {
      const shown = Number(await text(page, `cell-${row}-${col}`));
      expect(shown, `${row} → ${col}`).toBe(out.confusion[row][col]);
      total += shown;
    }
  }
  expect(total).toBe(out.n);
}

describe.skipIf(!chromiumPath)('Evaluate screen and few-shot from review', () => {
  let root: string;
  let served: Served;
  let client: TriagemClient;
  let heldOut: string;
  let truthCsv: string;
  let marked = 0;
  const found: Record<string, AxeViolation[]> = {};

  async function capture(page: Page, name: string): Promise<void> {
    found[name] = await axeScan(page);
    await screenshot(page, name);
  }

  beforeAll(async () => {
    root = tempDir('window-evaluate');
    const rendererDir = await buildRenderer();
    heldOut = path.join(root, 'material', 'pauta');
    await writeDayNightTree(heldOut, 12, 7);
    await writeDayNightTree(path.join(root, 'material', 'arquivo'), 8, 8);
    truthCsv = path.join(root, 'gabarito.csv');
    const rows = LABELS.flatMap((label) => fs.readdirSync(path.join(heldOut, label)).map((n) => `${path.join(heldOut, label, n)},${label}`));
    fs.writeFileSync(truthCsv, ['path,label', ...rows].join('\n'));
    const models = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(models, 'colour'), { recursive: true });
    served = await serve({ libraryPath: path.join(root, 'library.sqlite'), modelsDir: models, rendererDir });
    client = localClient(served);
    await client.invoke('index.start', { folders: [path.join(root, 'material')] });
    await client.invoke('sort.run', { labels: LABELS, limit: 0 });
  });

  afterAll(async () => {
    await served?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('pt-BR: marks photos in review by keyboard, evaluates on them and on a typed CSV, re-sorts with them', async () => {
    const lang = 'pt-BR';
    const browser = await openBrowser(chromiumPath as string, served.bridge.url, { locale: lang });
    const page = browser.page;
    try {
      await page.getByTestId('grid').waitFor();
      // Before any mark: Evaluate says what to do instead of failing.
      await page.getByTestId('nav-evaluate').click();
      await page.getByTestId('eval-empty').waitFor();

      // Review each label's queue (zero-shot may have put every photo in one) and give photos their
      // true label, which their file name says, until each label has PER_LABEL confirmed.
      await page.getByTestId('nav-sort').click();
      await page.getByTestId('sort-results').waitFor();
      const needs: Record<string, number> = { dia: PER_LABEL, noite: PER_LABEL };
      let firstQueue = true;
      for (const label of LABELS) {
        const open = page.getByTestId(`review-${label}`);
        if (await open.isDisabled()) continue;
        await open.click();
        await page.getByTestId('review-progress').waitFor();
        await page.locator('[data-testid=tile]').first().waitFor();
        // The grid mounts only the rows in view: the queue's length is in its progress line.
        const size = Number(/de (\d+) revisadas/.exec(await text(page, 'review-progress'))?.[1] ?? 0);
        await tabTo(page, '[data-testid=grid]');
        for (let k = 0; k < size && needs.dia + needs.noite > 0; k++) {
          const name = await page.evaluate(() => {
            const id = document.querySelector('[role="grid"]')?.getAttribute('aria-activedescendant');
            return document.getElementById(id ?? '')?.querySelector('.name')?.textContent ?? '';
          });
          const truth = name.startsWith('dia-') ? 'dia' : name.startsWith('noite-') ? 'noite' : null;
          expect(truth, name).not.toBeNull();
          if (needs[truth!] > 0) {
            // Shift: mark and move on; 1 and 2 are the sort's labels in order.
            await page.keyboard.press(truth === 'dia' ? 'Shift+Digit1' : 'Shift+Digit2');
            needs[truth!]--;
            marked++;
            await expect.poll(async () => (await client.invoke('library.query', { filters: { confirmed: true } })).total).toBe(marked);
          } else await page.keyboard.press('ArrowRight');
        }
        if (firstQueue) await capture(page, `${lang}-29-review-marked`);
        firstQueue = false;
        await page.getByTestId('nav-sort').click();
      }
      expect(marked).toBe(2 * PER_LABEL);

      // Evaluate grades the sort on the confirmed photos as soon as it opens.
      await page.getByTestId('nav-evaluate').click();
      await page.getByTestId('eval-result').waitFor({ timeout: 30_000 });
      const onMarks = await client.invoke('eval.run', { truth: { kind: 'confirmed' } });
      expect(onMarks.n).toBe(marked);
      expect(await text(page, 'eval-scope')).toContain(`${marked} fotos avaliadas`);
      await expectPageShows(page, lang, onMarks);
      expect(await page.getByTestId('eval-curves').getAttribute('aria-label')).toMatch(/precisão média/);
      await capture(page, `${lang}-30-evaluate-review`);

      // A truth CSV typed in: the held-out photos, the confirmed ones as examples beside the text alone.
      await page.getByTestId('truth-csv').check();
      await page.getByTestId('truth-path').fill(truthCsv);
      await page.getByTestId('eval-run').click();
      await expect.poll(() => text(page, 'eval-scope')).toMatch(/^\d+ fotos avaliadas/);
      const onCsv = await client.invoke('eval.run', { truth: { kind: 'csv', path: truthCsv } });
      await expect.poll(() => text(page, 'eval-scope')).toContain(`${onCsv.n} fotos avaliadas`);
      expect(onCsv.n + onCsv.excludedExamples).toBe(24);
      expect(onCsv.zeroShot).not.toBeNull();
      await expectPageShows(page, lang, onCsv);
      await page.getByTestId('show-zero').click();
      await expect.poll(() => page.getByTestId('show-zero').getAttribute('aria-pressed')).toBe('true');
      // The text alone's confusion matrix now: every cell still the engine's.
      for (const row of onCsv.labels) for (const col of onCsv.columns) expect(Number(await text(page, `cell-${row}-${col}`))).toBe(onCsv.zeroShot!.confusion[row][col]);
      await page.getByTestId('eval-curves').scrollIntoViewIfNeeded();
      await capture(page, `${lang}-31-evaluate-csv`);

      // A re-sort learns from the marks and says so, per label.
      await page.getByTestId('nav-sort').click();
      await page.getByTestId('run-sort').click();
      await page.getByTestId('sort-few-shot').waitFor({ timeout: 30_000 });
      expect(await text(page, 'sort-few-shot')).toMatch(new RegExp(`^(Separado com ${marked} fotos confirmadas|${marked} fotos confirmadas foram testadas)`));
      const { summary } = await client.invoke('review.summary', {});
      for (const label of LABELS) {
        const n = summary?.fewShot?.shots[label] ?? 0;
        if (n > 0) expect(await text(page, `shots-${label}`)).toBe(`${n} ${n === 1 ? 'exemplo confirmado' : 'exemplos confirmados'}`);
      }
      await capture(page, `${lang}-32-sort-few-shot`);
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('English: the same screens', async () => {
    const lang = 'en';
    const browser = await openBrowser(chromiumPath as string, served.bridge.url, { locale: lang });
    const page = browser.page;
    try {
      await page.getByTestId('nav-evaluate').click();
      await page.getByTestId('eval-result').waitFor({ timeout: 30_000 });
      const onMarks = await client.invoke('eval.run', { truth: { kind: 'confirmed' } });
      expect(await text(page, 'eval-scope')).toContain(`${onMarks.n} photos evaluated`);
      await expectPageShows(page, lang, onMarks);
      await capture(page, `${lang}-30-evaluate-review`);
      await page.getByTestId('truth-csv').check();
      await page.getByTestId('truth-path').fill(truthCsv);
      await page.getByTestId('eval-run').click();
      const onCsv = await client.invoke('eval.run', { truth: { kind: 'csv', path: truthCsv } });
      await expect.poll(() => text(page, 'eval-scope')).toContain(`${onCsv.n} photos evaluated`);
      await expectPageShows(page, lang, onCsv);
      await page.getByTestId('eval-curves').scrollIntoViewIfNeeded();
      await capture(page, `${lang}-31-evaluate-csv`);
      await page.getByTestId('nav-sort').click();
      await page.getByTestId('sort-few-shot').waitFor();
      await capture(page, `${lang}-32-sort-few-shot`);
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('axe-core finds no serious or critical violation on these screens', () => {
    expect(Object.keys(found).length).toBeGreaterThanOrEqual(7);
    const bad = Object.entries(found).filter(([, v]) => v.length > 0);
    expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
  });
});
