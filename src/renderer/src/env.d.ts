import type { TriagemTransport } from '../../shared/client.js';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser talking to `triagem serve`. */
    triagem?: TriagemTransport;
  }
}
