import fs from 'node:fs';
import path from 'node:path';
import type { ResolvedConfig } from 'vite';
import { describe, expect, it } from 'vitest';
import { RENDERER_CSP, cspPlugin, isAppUrl, windowOptions } from '../src/main/security.js';
import { DEFAULT_WINDOW_STATE, loadWindowState, saveWindowState } from '../src/main/window-state.js';
import { tempDir } from './support/index-fixtures.js';

function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name, values]));
}

describe('the Electron window is locked down', () => {
  it('runs the page isolated, sandboxed, without Node, webviews or insecure content', () => {
    const prefs = windowOptions('/app/preload/index.cjs', { width: 1200, height: 800 }).webPreferences;
    expect(prefs).toMatchObject({
      preload: '/app/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
    });
  });

  it('the main process builds its window from those options and blocks navigation and new windows', () => {
    const main = fs.readFileSync(path.join('src', 'main', 'index.ts'), 'utf8');
    expect(main).toMatch(/new BrowserWindow\(windowOptions\(/);
    expect(main).toMatch(/setWindowOpenHandler\(\(\) => \(\{ action: 'deny' \}\)\)/);
    expect(main).toMatch(/'will-navigate'[\s\S]*isAppUrl\(/);
    expect(main).not.toMatch(/webSecurity:\s*false|nodeIntegration:\s*true|contextIsolation:\s*false/);
  });

  it('allows navigation only to our own page (or the dev server)', () => {
    const index = '/opt/Triagem/resources/app.asar/out/renderer/index.html';
    expect(isAppUrl(`file://${index}`, undefined, index)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', undefined, index)).toBe(false);
    expect(isAppUrl('https://example.org/', undefined, index)).toBe(false);
    expect(isAppUrl('http://localhost:5173/x', 'http://localhost:5173', index)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173', index)).toBe(false);
    expect(isAppUrl('not a url', undefined, index)).toBe(false);
  });

  it('has a strict Content-Security-Policy: scripts from the app only, no eval, no plugins, no frames', () => {
    const d = directives(RENDERER_CSP);
    expect(d.get('default-src')).toEqual(["'self'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('frame-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('connect-src')).toEqual(["'self'"]);
    expect(RENDERER_CSP).not.toMatch(/unsafe-eval|\*/);
    // Delivered in a meta tag, where browsers ignore frame-ancestors with a console warning.
    expect(d.has('frame-ancestors')).toBe(false);
  });

  it('writes that policy into the built index.html (and relaxes scripts only on the dev server)', () => {
    const html = fs.readFileSync(path.join('src', 'renderer', 'index.html'), 'utf8');
    const build = cspPlugin();
    (build.configResolved as (c: ResolvedConfig) => void)({ command: 'build' } as ResolvedConfig);
    expect(build.transformIndexHtml(html)).toContain(`content="${RENDERER_CSP}"`);
    const dev = cspPlugin();
    (dev.configResolved as (c: ResolvedConfig) => void)({ command: 'serve' } as ResolvedConfig);
    expect(directives(dev.transformIndexHtml(html).match(/content="([^"]*)"/g)?.[1]?.slice(9, -1) ?? '').get('script-src')).toContain("'unsafe-inline'");
    expect(() => build.transformIndexHtml('<html></html>')).toThrow(/placeholder/);
  });
});

describe('window state', () => {
  const dir = tempDir('window-state');
  const file = path.join(dir, 'window-state.json');
  const screen = { x: 0, y: 0, width: 1920, height: 1080 };

  it('remembers size, place and maximized; forgets a place that is off every screen', () => {
    expect(loadWindowState(file, [screen])).toEqual(DEFAULT_WINDOW_STATE);
    saveWindowState(file, { width: 1000, height: 700, x: 100, y: 50, maximized: true });
    expect(loadWindowState(file, [screen])).toEqual({ width: 1000, height: 700, x: 100, y: 50, maximized: true });
    saveWindowState(file, { width: 1000, height: 700, x: 3000, y: 50, maximized: false });
    expect(loadWindowState(file, [screen])).toEqual({ width: 1000, height: 700, maximized: false });
    fs.writeFileSync(file, '{"width": -5}');
    expect(loadWindowState(file, [screen])).toEqual(DEFAULT_WINDOW_STATE);
  });
});

describe('packaging', () => {
  const config = JSON.parse(fs.readFileSync('electron-builder.json', 'utf8')) as { asarUnpack: string[]; npmRebuild: boolean; files: string[] };
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };

  /** Packages holding binaries the OS loads by path (.node addons, shared libraries): they cannot run from inside app.asar. */
  function nativePackages(): string[] {
    const found = new Set<string>();
    const visit = (dir: string, name: string, depth: number): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'node_modules' && depth < 8) visit(full, name, depth + 1);
        else if (entry.isFile() && /\.(node|so|dylib|dll)$|\.so\.\d+$/.test(entry.name)) found.add(name);
      }
    };
    const roots = Object.keys(pkg.dependencies).flatMap((dep) => {
      // Platform binaries often live in sibling packages (sqlite-vec-linux-x64, @img/sharp-linux-x64).
      const scope = dep.startsWith('@') ? dep.split('/')[0] : '';
      const base = scope ? path.join('node_modules', scope) : 'node_modules';
      const stem = dep.startsWith('@') ? dep.split('/')[1] : dep;
      return fs.existsSync(base) ? fs.readdirSync(base).filter((n) => n === stem || n.startsWith(`${stem}-`)).map((n) => (scope ? `${scope}/${n}` : n)) : [];
    });
    for (const name of [...roots, ...fs.readdirSync('node_modules/@img').map((n) => `@img/${n}`)]) visit(path.join('node_modules', name), name, 0);
    return [...found];
  }

  it('unpacks every native addon and shared library from the asar and rebuilds for Electron', () => {
    const globToRegExp = (g: string) =>
      new RegExp(
        `^${g
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '\u0001')
          .replace(/\*\*/g, '\u0002')
          .replace(/\*/g, '[^/]*')
          .replace(/\u0001/g, '(.*/)?')
          .replace(/\u0002/g, '.*')}$`,
      );
    const unpack = config.asarUnpack.map(globToRegExp);
    const natives = nativePackages();
    expect(natives).toEqual(expect.arrayContaining(['onnxruntime-node', 'better-sqlite3']));
    for (const name of natives) {
      const inside = `node_modules/${name}/lib/x.node`;
      expect(unpack.some((re) => re.test(inside)), `${name} holds native binaries but is not in asarUnpack`).toBe(true);
    }
    expect(config.npmRebuild).toBe(true);
    expect(config.files).toContain('resources/**');
  });
});
