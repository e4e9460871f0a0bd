// Channel names shared by Electron main and preload. Kept free of zod so the sandboxed preload
// bundle stays a few lines of plain code.

/** `ipcMain.handle` channel for one contract op. */
export function opChannel(op: string): string {
  return `triagem:op:${op}`;
}

/** One channel carries every engine event; the event name travels as the first argument. */
export const EVENT_CHANNEL = 'triagem:event';

/** Custom scheme the Electron renderer loads thumbnails from: `triagem-thumb://<sha256>`. */
export const THUMB_SCHEME = 'triagem-thumb';
