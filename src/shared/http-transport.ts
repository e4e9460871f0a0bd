// The browser-mode transport: the same typed interface as Electron's `window.triagem`, carried over
// the loopback bridge (`triagem serve`). Events are read from the SSE stream with fetch rather than
// EventSource so the session token travels in a header, and so Node (tests) can use it unchanged.
import type { TriagemTransport, Unsubscribe } from './client.js';
import { isEventName, type EventName, type EventPayload, type OpResult, type Result } from './contract.js';
import type { EventListener } from './rpc.js';

export interface HttpTransportOptions {
  /** Origin of the bridge, e.g. `http://127.0.0.1:4317`. */
  baseUrl: string;
  token: string;
  fetch?: typeof fetch;
  /** Wait before reconnecting the event stream after it drops. */
  reconnectMs?: number;
}

export interface HttpTransport extends TriagemTransport {
  /** Resolves once the event stream is open, so no event sent after this is missed. */
  eventsReady(): Promise<void>;
  thumbnailUrl(sha256: string): string;
  /** The loupe's ~1440 px image (`/previews/<sha256>`). */
  previewUrl(sha256: string): string;
  close(): void;
}

function isResult(value: unknown): value is Result<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { ok?: unknown }).ok === 'boolean';
}

/** Splits an SSE byte stream into (event, data) pairs. */
export function parseSseBlock(block: string): { event: string; data: string } | undefined {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':') || line === '') continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length > 0 ? { event, data: data.join('\n') } : undefined;
}

export function httpTransport(opts: HttpTransportOptions): HttpTransport {
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const base = opts.baseUrl.replace(/\/+$/, '');
  const auth = { Authorization: `Bearer ${opts.token}` };
  const listeners = new Set<EventListener>();
  let stream: AbortController | undefined;
  let closed = false;
  let readyResolve: (() => void) | undefined;
  let ready: Promise<void> | undefined;

  function dispatch(event: string, data: string): void {
    if (!isEventName(event)) return;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    // The bridge serializes payloads the engine built from the same contract.
    for (const l of listeners) l(event, payload as EventPayload<EventName>);
  }

  async function pump(controller: AbortController): Promise<void> {
    while (!closed && !controller.signal.aborted) {
      try {
        const res = await doFetch(`${base}/api/events`, { headers: auth, signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
        readyResolve?.();
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.search(/\r?\n\r?\n/)) !== -1) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
            const parsed = parseSseBlock(block);
            if (parsed) dispatch(parsed.event, parsed.data);
          }
        }
      } catch {
        // Dropped or refused: fall through to the reconnect wait.
      }
      if (closed || controller.signal.aborted) return;
      await new Promise((r) => setTimeout(r, opts.reconnectMs ?? 1000));
    }
  }

  function ensureStream(): Promise<void> {
    if (!ready) {
      ready = new Promise<void>((resolve) => {
        readyResolve = resolve;
      });
      stream = new AbortController();
      void pump(stream);
    }
    return ready;
  }

  return {
    async invoke(op, input) {
      let res: Response;
      try {
        res = await doFetch(`${base}/api/${op}`, {
          method: 'POST',
          headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
      } catch (err) {
        return { ok: false, error: { code: 'bridge-unreachable', message: `cannot reach the Triagem bridge at ${base}: ${err instanceof Error ? err.message : String(err)}` } };
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        body = undefined;
      }
      // The bridge answers every /api request with the contract's envelope for this op.
      if (isResult(body)) return body as OpResult<typeof op>;
      return { ok: false, error: { code: 'bridge-unreachable', message: `the bridge answered ${res.status} ${res.statusText}` } };
    },
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): Unsubscribe {
      const wrapped: EventListener = (name, payload) => {
        if (name === event) listener(payload as EventPayload<E>);
      };
      listeners.add(wrapped);
      void ensureStream();
      return () => {
        listeners.delete(wrapped);
      };
    },
    eventsReady: ensureStream,
    thumbnailUrl: (sha256) => `${base}/thumbs/${sha256}?token=${encodeURIComponent(opts.token)}`,
    previewUrl: (sha256) => `${base}/previews/${sha256}?token=${encodeURIComponent(opts.token)}`,
    close() {
      closed = true;
      stream?.abort();
      listeners.clear();
    },
  };
}
