import type { TriagemTransport } from '../../shared/client.js';

/**
 * What the Electron preload adds beside `window.triagem` for the things only the shell can do:
 * the system's folder dialog, the real paths of dropped files, and revealing a file. Absent in
 * browser mode; every member is feature-detected.
 */
export interface TriagemShell {
  /** Absolute paths of files/folders dropped on the window (Electron's webUtils.getPathForFile). */
  pathsForFiles(files: File[]): string[];
  /** The system's folder dialog; resolves with [] when cancelled. */
  pickFolders(options?: { multiple?: boolean; title?: string }): Promise<string[]>;
  /** Shows the file selected in the system's file manager. */
  showItemInFolder?(path: string): void;
}

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser talking to `triagem serve`. */
    triagem?: TriagemTransport;
    triagemShell?: TriagemShell;
  }
}
