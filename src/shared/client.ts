// The typed client the renderer uses, whatever carries the messages (Electron IPC or the HTTP
// bridge). A transport moves envelopes; the client turns error envelopes back into thrown errors.
import type { EventName, EventPayload, OpInput, OpName, OpOutput, OpResult, WireError } from './contract.js';

export type Unsubscribe = () => void;

/** What `window.triagem` is in Electron and what the bridge client is in a browser. */
export interface TriagemTransport {
  invoke<K extends OpName>(op: K, input: OpInput<K>): Promise<OpResult<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe;
}

export class TriagemClientError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly issues?: WireError['issues'];

  constructor(error: WireError) {
    super(error.message);
    this.name = 'TriagemClientError';
    this.code = error.code;
    this.file = error.file;
    this.issues = error.issues;
  }
}

export interface TriagemClient {
  /** Resolves with the op's output or throws TriagemClientError. */
  invoke<K extends OpName>(op: K, input: OpInput<K>): Promise<OpOutput<K>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe;
}

export function createClient(transport: TriagemTransport): TriagemClient {
  return {
    async invoke(op, input) {
      const result = await transport.invoke(op, input);
      if (!result.ok) throw new TriagemClientError(result.error);
      return result.value;
    },
    on: (event, listener) => transport.on(event, listener),
  };
}
