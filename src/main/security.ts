// The window's security settings, kept apart from Electron calls so a plain test can check them
// (the Electron binary cannot run in CI).
import type { BrowserWindowConstructorOptions } from 'electron';
import type { Plugin } from 'vite';

/**
 * The renderer's Content-Security-Policy, written into index.html's meta tag (Electron loads the
 * page from a file, so no response header could carry it): scripts only from the app itself, no
 * eval, no plugins, no frames, no network beyond our own origin; images also from the thumbnail and
 * preview schemes. Inline styles stay allowed because React sets style attributes. No
 * frame-ancestors: browsers ignore it in a meta tag (with a console warning); the browser bridge
 * sends it as a header.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: triagem-thumb: triagem-preview:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function windowOptions(preload: string, bounds: { width: number; height: number; x?: number; y?: number }): BrowserWindowConstructorOptions {
  return {
    ...bounds,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Triagem',
    backgroundColor: '#1b1d21',
    webPreferences: {
      preload,
      // The page gets only what the preload exposes, in its own isolated world, with no Node.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

/** The only pages the window may show: our packaged index.html, or the dev server in development. */
export function isAppUrl(url: string, devUrl: string | undefined, rendererIndex: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (devUrl) {
    const dev = new URL(devUrl);
    if (parsed.origin === dev.origin) return true;
  }
  return parsed.protocol === 'file:' && decodeURIComponent(parsed.pathname) === rendererIndex.replaceAll('\\', '/').replace(/^(?=[A-Za-z]:)/, '/');
}

/**
 * A Vite plugin that writes RENDERER_CSP into index.html's meta tag (the `%TRIAGEM_CSP%` placeholder),
 * so the policy is declared once. The dev server's React refresh preamble is an inline script, so
 * only `electron-vite dev` allows inline scripts.
 */
export function cspPlugin(): Plugin & { transformIndexHtml(html: string): string } {
  let dev = false;
  return {
    name: 'triagem-csp',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml(html: string) {
      if (!html.includes('%TRIAGEM_CSP%')) throw new Error('index.html has no %TRIAGEM_CSP% placeholder for the Content-Security-Policy');
      const csp = dev ? RENDERER_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'") : RENDERER_CSP;
      return html.replace('%TRIAGEM_CSP%', csp);
    },
  };
}
