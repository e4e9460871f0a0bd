// What the Electron shell offers the renderer besides the engine contract: the few things only the
// desktop can do (real paths of dropped files, the native folder dialog, "show in folder").
// Declared once here, implemented by the preload; absent in browser mode.

export interface TriagemShell {
  /** Absolute paths of files or folders dropped on the window (Electron's webUtils). */
  pathsForFiles(files: readonly File[]): string[];
  /** The native "choose folders" dialog; empty when cancelled. */
  pickFolders(): Promise<string[]>;
  /** Opens the OS file manager with the file selected. */
  showInFolder(path: string): Promise<void>;
  /** Menu choices: "add-folders", "open-library", "shortcuts". Returns an unsubscribe function. */
  onMenu(listener: (action: string) => void): () => void;
}

/** IPC channels of the shell (kept free of zod and Node so the sandboxed preload stays tiny). */
export const SHELL_CHANNELS = {
  pickFolders: 'triagem:shell:pick-folders',
  showInFolder: 'triagem:shell:show-in-folder',
  /** Main → renderer: a menu item was chosen ("add-folders", "open-library", "shortcuts"). */
  menu: 'triagem:shell:menu',
} as const;
