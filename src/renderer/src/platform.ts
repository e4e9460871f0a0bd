// Picks how this page reaches the engine: Electron's preload bridge when present, else the
// loopback HTTP bridge that served the page. Both give the same typed client.
import { createClient, type TriagemClient } from '../../shared/client.js';
import { httpTransport } from '../../shared/http-transport.js';
import { THUMB_SCHEME } from '../../shared/ipc.js';

export interface Platform {
  mode: 'electron' | 'browser';
  client: TriagemClient;
  thumbnailUrl(sha256: string): string;
  /** Browser mode opened without the session token: nothing will work until it is. */
  missingToken: boolean;
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

export function pickPlatform(): Platform {
  if (window.triagem) {
    return {
      mode: 'electron',
      client: createClient(window.triagem),
      thumbnailUrl: (sha256) => `${THUMB_SCHEME}://${sha256}`,
      missingToken: false,
    };
  }
  const token = sessionToken();
  const transport = httpTransport({ baseUrl: window.location.origin, token: token ?? '' });
  return { mode: 'browser', client: createClient(transport), thumbnailUrl: transport.thumbnailUrl, missingToken: !token };
}
