import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../../bridge/server.js';
import { createEngineService, resolveConfig } from '../../app/index.js';
import { TriagemError, UsageError } from '../../shared/errors.js';
import { COMMON_OPTIONS, parse, type Command } from '../command.js';
import { parseDevice } from '../options.js';

const OPTIONS = {
  ...COMMON_OPTIONS,
  port: { type: 'string' },
  host: { type: 'string' },
} as const;

const USAGE = `triagem serve [--port 4317] [--host 127.0.0.1] [options]

Runs Triagem in your browser: starts a local server and prints a URL to open. The URL holds a
session token; requests without it are refused, so other web pages cannot use the server.

  --port <n>             port to listen on (default 4317; 0 picks a free one)
  --host <addr>          address to listen on (default 127.0.0.1, this computer only). Any other
                         address lets other machines on the network reach it (they still need the token)
  --library <file>       library file (default: the app's library)
  --models-dir <dir>     where models live
  --device <d>           auto | cpu | cuda | dml | coreml

Stop it with Ctrl+C. Exit codes: 0 stopped, 1 fatal error, 2 usage error.`;

/** `out/renderer` of this checkout, built by `npm run build`. */
function rendererDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../out/renderer');
}

function portOption(value: string | undefined): number {
  if (value === undefined) return 4317;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be a port number (0-65535), got "${value}"`);
  return n;
}

export const serveCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, OPTIONS, false);
    const port = portOption(values.port);
    const host = values.host ?? '127.0.0.1';
    const device = parseDevice(values.device);
    const service = createEngineService(resolveConfig({ library: values.library, modelsDir: values['models-dir'], device }));
    const dir = rendererDir();
    let bridge: Awaited<ReturnType<typeof startBridge>>;
    try {
      bridge = await startBridge({ engine: service, host, port, rendererDir: dir });
    } catch (err) {
      await service.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new TriagemError(`port ${port} on ${host} is already in use; pass --port <n> (0 picks a free one)`, 'port-in-use');
      if (code === 'EADDRNOTAVAIL') throw new TriagemError(`this computer has no address ${host}`, 'bad-host');
      throw err;
    }
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
      io.err(`warning: listening on ${host}: other machines on the network can reach this server (they still need the token)`);
    }
    if (!fs.existsSync(path.join(dir, 'index.html'))) io.err('the interface is not built yet: run `npm run build` first (the API works without it)');
    io.out(`Triagem is running. Open this address in your browser:\n\n  ${bridge.url}\n\nPress Ctrl+C to stop.`);

    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await bridge.close();
    await service.close();
    return 0;
  },
};
