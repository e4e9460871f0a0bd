// Request/response over a message port, numbered so answers can come back out of order (a search
// answers while an index job is still running). Used between Electron main and the engine utility
// process, and in tests between two ends of a node:worker_threads MessageChannel.
import type { TriagemTransport, Unsubscribe } from './client.js';
import {
  isEventName,
  isOpName,
  type EventName,
  type EventPayload,
  type OpName,
  type OpResult,
  type Result,
  type WireError,
} from './contract.js';

export type RpcMessage =
  | { kind: 'request'; id: number; op: OpName; input: unknown }
  | { kind: 'response'; id: number; result: Result<unknown> }
  | { kind: 'event'; event: EventName; payload: unknown };

/** The least a port must do; adapters wrap Electron's MessagePortMain and Node's MessagePort. */
export interface PortLike {
  post(message: RpcMessage): void;
  subscribe(listener: (message: unknown) => void): Unsubscribe;
}

/** Receives every event; narrow on `event` to get its payload type. */
export type EventListener = (event: EventName, payload: EventPayload<EventName>) => void;

/** The engine as every door sees it: raw (unvalidated) input in, envelope out. */
export interface EngineEndpoint {
  invoke<K extends OpName>(op: K, rawInput: unknown): Promise<OpResult<K>>;
  onEvent(listener: EventListener): Unsubscribe;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Narrows what came off a port; anything else is dropped rather than trusted. */
export function asRpcMessage(data: unknown): RpcMessage | undefined {
  if (!isRecord(data) || typeof data.kind !== 'string') return undefined;
  if (data.kind === 'request' && typeof data.id === 'number' && typeof data.op === 'string') {
    if (!isOpName(data.op)) return undefined;
    return { kind: 'request', id: data.id, op: data.op, input: data.input };
  }
  if (data.kind === 'response' && typeof data.id === 'number' && isRecord(data.result) && typeof data.result.ok === 'boolean') {
    return { kind: 'response', id: data.id, result: data.result as Result<unknown> };
  }
  if (data.kind === 'event' && typeof data.event === 'string' && isEventName(data.event)) {
    return { kind: 'event', event: data.event, payload: data.payload };
  }
  return undefined;
}

/** Answers requests arriving on `port` with `engine`, and forwards its events. Returns a detach function. */
export function servePort(engine: EngineEndpoint, port: PortLike): Unsubscribe {
  const offEvents = engine.onEvent((event, payload) => port.post({ kind: 'event', event, payload }));
  const offMessages = port.subscribe((data) => {
    const message = asRpcMessage(data);
    if (!message || message.kind !== 'request') return;
    void engine.invoke(message.op, message.input).then((result) => port.post({ kind: 'response', id: message.id, result }));
  });
  return () => {
    offEvents();
    offMessages();
  };
}

export interface PortTransport extends TriagemTransport {
  /** Raw form for relays (Electron main) that validated the input themselves. */
  invokeRaw<K extends OpName>(op: K, input: unknown): Promise<OpResult<K>>;
  onAny(listener: EventListener): Unsubscribe;
  /** Settles every pending request with `error` (the other end died). */
  failAll(error: WireError): void;
  close(): void;
}

export function portTransport(port: PortLike): PortTransport {
  let nextId = 1;
  const pending = new Map<number, (result: Result<unknown>) => void>();
  const listeners = new Set<EventListener>();

  const off = port.subscribe((data) => {
    const message = asRpcMessage(data);
    if (!message) return;
    if (message.kind === 'response') {
      const settle = pending.get(message.id);
      pending.delete(message.id);
      settle?.(message.result);
    } else if (message.kind === 'event') {
      // Payloads come from the engine, which builds them from the same contract.
      for (const l of listeners) l(message.event, message.payload as EventPayload<EventName>);
    }
  });

  function invokeRaw<K extends OpName>(op: K, input: unknown): Promise<OpResult<K>> {
    const id = nextId++;
    return new Promise<OpResult<K>>((resolve) => {
      // The engine answers op K with op K's output: the pairing is kept by the request id.
      pending.set(id, (result) => resolve(result as OpResult<K>));
      port.post({ kind: 'request', id, op, input });
    });
  }

  return {
    invoke: (op, input) => invokeRaw(op, input),
    invokeRaw,
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      const wrapped: EventListener = (name, payload) => {
        if (name === event) listener(payload as EventPayload<E>);
      };
      listeners.add(wrapped);
      return () => listeners.delete(wrapped);
    },
    onAny(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    failAll(error) {
      const settles = [...pending.values()];
      pending.clear();
      for (const settle of settles) settle({ ok: false, error });
    },
    close() {
      off();
      listeners.clear();
    },
  };
}
