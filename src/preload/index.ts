// Sandboxed preload: exposes `window.triagem`, the typed transport generated from the contract.
// It only names channels; main validates every input against the contract before the engine sees it.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { TriagemTransport } from '../shared/client.js';
import type { EventName, EventPayload } from '../shared/contract.js';
import { EVENT_CHANNEL, opChannel } from '../shared/ipc.js';

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

contextBridge.exposeInMainWorld('triagem', transport);
