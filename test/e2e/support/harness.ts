// The window under test: the built renderer served by the real bridge in front of the real app
// layer, driven in Debian's Chromium through playwright-core. Screenshots go to
// test-output/screenshots/ (gitignored); axe-core scans run inside the page.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createEngineService, type EngineService } from '../../../src/app/service.js';
import { startBridge, type Bridge } from '../../../src/bridge/server.js';
import { repoRoot } from '../../support/synthetic/paths.js';

export const SCREENSHOTS = path.join(repoRoot(), 'test-output', 'screenshots');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function sourceStamp(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else hash.update(p).update(fs.readFileSync(p));
    }
  };
  for (const dir of ['src/renderer', 'src/shared']) walk(path.join(repoRoot(), dir));
  // The config and the CSP plugin it imports shape the built page too.
  for (const file of ['electron.vite.config.ts', 'src/main/security.ts']) hash.update(fs.readFileSync(path.join(repoRoot(), file)));
  return hash.digest('hex');
}

/**
 * The renderer exactly as `electron-vite build` makes it (its config's renderer section), built
 * once per source change into .cache/e2e-renderer: only the renderer, so tests skip the main and
 * preload bundles they do not load.
 */
export async function buildRenderer(): Promise<string> {
  const out = path.join(repoRoot(), '.cache', 'e2e-renderer');
  const stampFile = path.join(out, '.stamp');
  const stamp = sourceStamp();
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return out;
  const { build } = await import('vite');
  const { loadConfigFromFile } = await import('electron-vite');
  const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, 'electron.vite.config.ts', repoRoot(), 'warn');
  const renderer = loaded.config.renderer as import('vite').UserConfig | undefined;
  if (!renderer) throw new Error('electron.vite.config.ts has no renderer section');
  await build({ ...renderer, configFile: false, logLevel: 'warn', build: { ...renderer.build, outDir: out, emptyOutDir: true } });
  fs.writeFileSync(stampFile, stamp);
  return out;
}

export interface Served {
  service: EngineService;
  bridge: Bridge;
  close(): Promise<void>;
}

export async function serve(opts: { libraryPath: string; modelsDir: string; rendererDir: string; locale?: string }): Promise<Served> {
  const service = createEngineService({ libraryPath: opts.libraryPath, modelsDir: opts.modelsDir, device: 'cpu', threads: 2, locale: opts.locale ?? 'pt-BR', checkOutputs: true });
  const bridge = await startBridge({ engine: service, host: '127.0.0.1', port: 0, rendererDir: opts.rendererDir });
  return {
    service,
    bridge,
    async close() {
      await bridge.close();
      await service.close();
    },
  };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors: a test fails on any. */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(executablePath: string, url: string, opts: { locale?: string; width?: number; height?: number } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    // --lang sets Chromium's own UI locale too (date inputs, built-in messages).
    args: [...CHROMIUM_ARGS, `--lang=${opts.locale ?? 'pt-BR'}`],
    locale: opts.locale ?? 'pt-BR',
    viewport: { width: opts.width ?? 1440, height: opts.height ?? 900 },
    deviceScaleFactor: 1,
    colorScheme: 'dark',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // Thumbnails of rows the 100k test never indexed answer 404 by design.
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  await page.goto(url);
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Let thumbnails finish decoding so the picture is what a person would see.
  await page.waitForFunction(() => [...document.images].every((img) => img.complete), undefined, { timeout: 10_000 }).catch(() => undefined);
  await page.screenshot({ path: file });
  return file;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core run in the page; returns the serious and critical violations. */
export async function axeScan(page: Page): Promise<AxeViolation[]> {
  const source = fs.readFileSync(path.join(repoRoot(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's own CSP (no inline scripts) stays on.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(`${source}\n;void 0`);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)) }));
  });
}

/** A drop of folders from a file manager: `text/uri-list` with file:// URIs, as browsers deliver it. */
/**
 * Records every text the status bar's progress line shows from now on; the returned function reads
 * them back. A poll could miss a line that lasts a few milliseconds; a MutationObserver does not.
 */
export async function recordProgressLines(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const w = window as unknown as { progressSeen: string[] };
    w.progressSeen = [];
    new MutationObserver(() => {
      const el = document.querySelector('[data-testid="index-text"]');
      if (el?.textContent) w.progressSeen.push(el.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { progressSeen: string[] }).progressSeen);
}

export async function dropPaths(page: Page, paths: string[], target: 'index' | 'similar' = 'index'): Promise<void> {
  const uris = paths.map((p) => `file://${p.split('/').map(encodeURIComponent).join('/')}`).join('\r\n');
  await page.evaluate((list) => {
    const data = new DataTransfer();
    data.setData('text/uri-list', list);
    document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: data, bubbles: true, cancelable: true }));
  }, uris);
  await page.getByTestId(`drop-${target}`).waitFor();
  await page.evaluate(
    ({ list, target }) => {
      const data = new DataTransfer();
      data.setData('text/uri-list', list);
      const el = document.querySelector(`[data-testid="drop-${target}"]`);
      if (!el) throw new Error('no drop target');
      el.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { list: uris, target },
  );
}

/** Presses Tab until the focused element matches `selector` (keyboard-only tests reach controls this way). */
export async function tabTo(page: Page, selector: string, max = 120): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}
