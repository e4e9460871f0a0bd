import type { MessagePortMain } from 'electron';
import type { PortLike } from '../shared/rpc.js';

/** Electron's MessagePortMain as the generic port the RPC layer speaks over. */
export function mainPort(port: MessagePortMain): PortLike {
  return {
    post: (message) => port.postMessage(message),
    subscribe(listener) {
      const handler = (event: Electron.MessageEvent): void => listener(event.data);
      port.on('message', handler);
      return () => {
        port.off('message', handler);
      };
    },
  };
}
