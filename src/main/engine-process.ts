// Entry of the engine utility process. Only `process.parentPort` is used from Electron here: the
// rest is the plain-Node engine the CLI runs too.
import type { MessagePortMain } from 'electron';
import { createEngineService } from '../app/service.js';
import { servePort } from '../shared/rpc.js';
import { engineInitSchema } from './engine-config.js';
import { mainPort } from './ports.js';

// Electron's types declare parentPort always present; it is only there in a utility process.
if (!(process as { parentPort?: unknown }).parentPort) {
  console.error('triagem engine: this file runs inside Electron as a utility process (see src/main/engine-host.ts)');
  process.exit(1);
}

process.parentPort.once('message', (event) => {
  const init = engineInitSchema.safeParse(event.data);
  const port: MessagePortMain | undefined = event.ports[0];
  if (!init.success || !port) {
    console.error('triagem engine: bad init message from main; exiting');
    process.exit(1);
  }
  const service = createEngineService(init.data.config);
  servePort(service, mainPort(port));
  port.start();
  port.on('close', () => {
    void service.close().finally(() => process.exit(0));
  });
});
