// Picks how this page reaches the engine: Electron's preload bridge when present, else the
// loopback HTTP bridge that served the page. Both give the same typed client; what only a desktop
// shell can do (system folder dialog, paths of dropped files) is feature-detected.
import { createClient, type TriagemClient } from '../../shared/client.js';
import { httpTransport } from '../../shared/http-transport.js';
import { THUMB_SCHEME } from '../../shared/ipc.js';
import type { TriagemShell } from './env.js';

export interface Platform {
  mode: 'electron' | 'browser';
  client: TriagemClient;
  thumbnailUrl(sha256: string): string;
  /** A URL for the loupe's ~1440 px preview (in Electron a blob: made from the engine's bytes). */
  previewUrl(sha256: string): Promise<string>;
  /** Browser mode opened without the session token: nothing will work until it is. */
  missingToken: boolean;
  shell: TriagemShell | null;
}

const TOKEN_KEY = 'triagem-token';

/** Reads the token from `?token=` once, keeps it for this tab, and drops it from the address bar. */
function sessionToken(): string | null {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete('token');
    const query = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}${window.location.hash}`);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Blob URLs of previews already fetched in Electron; a handful, since each is ~200 KB. */
function blobPreviews(client: TriagemClient): (sha256: string) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (sha256) => {
    const hit = cache.get(sha256);
    if (hit) return hit;
    const made = client.invoke('preview.get', { sha256, bytes: true }).then((p) => {
      const bytes = Uint8Array.from(atob(p.base64 ?? ''), (c) => c.charCodeAt(0));
      return URL.createObjectURL(new Blob([bytes], { type: p.mime }));
    });
    made.catch(() => cache.delete(sha256));
    cache.set(sha256, made);
    while (cache.size > 24) {
      const oldest = cache.keys().next().value as string;
      void cache.get(oldest)?.then((url) => URL.revokeObjectURL(url), () => undefined);
      cache.delete(oldest);
    }
    return made;
  };
}

export function pickPlatform(): Platform {
  const shell = window.triagemShell ?? null;
  if (window.triagem) {
    const client = createClient(window.triagem);
    return {
      mode: 'electron',
      client,
      thumbnailUrl: (sha256) => `${THUMB_SCHEME}://${sha256}`,
      previewUrl: blobPreviews(client),
      missingToken: false,
      shell,
    };
  }
  const token = sessionToken();
  const transport = httpTransport({ baseUrl: window.location.origin, token: token ?? '' });
  return {
    mode: 'browser',
    client: createClient(transport),
    thumbnailUrl: transport.thumbnailUrl,
    previewUrl: (sha256) => Promise.resolve(transport.previewUrl(sha256)),
    missingToken: !token,
    shell,
  };
}
