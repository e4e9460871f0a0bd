// Main-process side of the engine: a utility process that owns ONNX sessions and the SQLite
// library, so a slow batch or a long query never freezes window handling. Main only relays.
import { MessageChannelMain, utilityProcess, type UtilityProcess } from 'electron';
import type { Unsubscribe } from '../shared/client.js';
import type { OpName, OpParsedInput, OpResult } from '../shared/contract.js';
import { portTransport, type EventListener, type PortTransport } from '../shared/rpc.js';
import type { EngineConfig, EngineInit } from './engine-config.js';
import { mainPort } from './ports.js';

export class EngineHost {
  private child: UtilityProcess | undefined;
  private transport: PortTransport | undefined;
  private readonly listeners = new Set<EventListener>();
  private stopping = false;

  constructor(
    private readonly entry: string,
    /** Read at first start (after app ready: the locale is known then). */
    private readonly config: () => EngineConfig,
  ) {}

  /** Spawns the utility process on first use, and again after a crash. */
  private ensureStarted(): PortTransport {
    if (this.transport) return this.transport;
    const child = utilityProcess.fork(this.entry, [], { serviceName: 'Triagem engine', stdio: 'inherit' });
    const { port1, port2 } = new MessageChannelMain();
    const init: EngineInit = { kind: 'init', config: this.config() };
    child.postMessage(init, [port1]);
    const transport = portTransport(mainPort(port2));
    transport.onAny((event, payload) => {
      for (const l of this.listeners) l(event, payload);
    });
    port2.start();
    child.once('exit', (code) => {
      transport.failAll({
        code: 'engine-exited',
        message: this.stopping ? 'the engine was shut down' : `the engine process stopped unexpectedly (exit code ${code}); the next request restarts it`,
      });
      transport.close();
      port2.close();
      if (this.child === child) {
        this.child = undefined;
        this.transport = undefined;
      }
    });
    this.child = child;
    this.transport = transport;
    return transport;
  }

  /** Input must already have passed the contract's schema (the engine checks it again). */
  invoke<K extends OpName>(op: K, input: OpParsedInput<K>): Promise<OpResult<K>> {
    return this.ensureStarted().invokeRaw(op, input);
  }

  onEvent(listener: EventListener): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopping = true;
    this.child?.kill();
  }
}
