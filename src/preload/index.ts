// Sandboxed preload: exposes `window.triagem`, the typed transport generated from the contract, and
// `window.triagemShell`, the few desktop-only abilities (dropped-file paths, folder dialog, show in
// folder). It only names channels; main validates every input before anything acts on it.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { TriagemTransport } from '../shared/client.js';
import type { EventName, EventPayload } from '../shared/contract.js';
import { EVENT_CHANNEL, opChannel } from '../shared/ipc.js';
import { SHELL_CHANNELS, type TriagemShell } from '../shared/shell.js';

const transport: TriagemTransport = {
  async invoke(op, input) {
    try {
      return await ipcRenderer.invoke(opChannel(op), input);
    } catch (err) {
      return { ok: false, error: { code: 'ipc-failed', message: err instanceof Error ? err.message : String(err) } };
    }
  },
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
    const handler = (_e: IpcRendererEvent, name: unknown, payload: unknown): void => {
      // Main only sends payloads the engine built from the same contract.
      if (name === event) listener(payload as EventPayload<E>);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

const shellApi: TriagemShell = {
  // Since Electron 32 a File no longer carries its path; webUtils is the sanctioned way to ask.
  pathsForFiles: (files) => files.map((f) => webUtils.getPathForFile(f)).filter((p) => p.length > 0),
  pickFolders: () => ipcRenderer.invoke(SHELL_CHANNELS.pickFolders) as Promise<string[]>,
  showInFolder: (target) => ipcRenderer.invoke(SHELL_CHANNELS.showInFolder, target) as Promise<void>,
  onMenu(listener) {
    const handler = (_e: IpcRendererEvent, action: unknown): void => {
      if (typeof action === 'string') listener(action);
    };
    ipcRenderer.on(SHELL_CHANNELS.menu, handler);
    return () => {
      ipcRenderer.removeListener(SHELL_CHANNELS.menu, handler);
    };
  },
};

contextBridge.exposeInMainWorld('triagem', transport);
contextBridge.exposeInMainWorld('triagemShell', shellApi);
