// The bridge's gates and wire details one by one, on raw sockets where a client library would
// tidy the request up: body limit, Host allow-list, where the token may ride, security headers,
// the SSE frame format and stream lifetime, and the "not built" page.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { startBridge, type Bridge } from '../src/bridge/server.js';
import type { EventName, EventPayload, OpName, OpResult } from '../src/shared/contract.js';
import type { EngineEndpoint, EventListener } from '../src/shared/rpc.js';

const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

function request(port: number, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer[]; agent?: http.Agent }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    if (Array.isArray(opts.body)) {
      // No Content-Length: Node sends these as chunks, so the limit is checked while reading.
      for (const chunk of opts.body) req.write(chunk);
      req.end();
    } else req.end(opts.body);
  });
}

/** Bytes exactly as written, for requests no HTTP client would send (no Host, odd targets). */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0);
}

function jsonBodyOf(raw: string): unknown {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

/** The real engine service, counting what reaches it: a refused request must never get there. */
function counted(service: EngineService): { endpoint: EngineEndpoint; calls: OpName[] } {
  const calls: OpName[] = [];
  return {
    calls,
    endpoint: {
      invoke<K extends OpName>(op: K, raw: unknown): Promise<OpResult<K>> {
        calls.push(op);
        return service.invoke(op, raw);
      },
      onEvent: (listener) => service.onEvent(listener),
    },
  };
}

describe('bridge gates', () => {
  let root: string;
  let service: EngineService;
  let calls: OpName[];
  let bridge: Bridge;
  const LIMIT = 4096;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bridge-gates-'));
    const rendererDir = path.join(root, 'renderer');
    fs.mkdirSync(rendererDir);
    fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>gates</title>');
    service = createEngineService({ libraryPath: path.join(root, 'library.sqlite'), modelsDir: path.join(root, 'models'), device: 'cpu', threads: 1 });
    const c = counted(service);
    calls = c.calls;
    bridge = await startBridge({ engine: c.endpoint, port: 0, rendererDir, maxBodyBytes: LIMIT });
  });

  afterAll(async () => {
    await bridge?.close();
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const auth = (): Record<string, string> => ({ Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' });

  it('answers a body over the limit with a 413 naming the limit, never reaching the engine, and keeps the connection usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = calls.length;
      const big = JSON.stringify({ path: 'x'.repeat(LIMIT * 4) });
      const tooLarge = await request(bridge.port, { method: 'POST', path: '/api/library.open', headers: auth(), body: big, agent });
      expect(tooLarge.status).toBe(413);
      expect(JSON.parse(tooLarge.body)).toEqual({ ok: false, error: { code: 'too-large', message: `request body is larger than ${LIMIT} bytes` } });
      expect(tooLarge.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(calls.length).toBe(before);
      // The same socket carries the next request: the refused body was read and dropped.
      const next = await request(bridge.port, { method: 'POST', path: '/api/models.list', headers: auth(), body: '{}', agent });
      expect(next.reusedSocket).toBe(true);
      expect(next.status).toBe(200);
      expect(calls.at(-1)).toBe('models.list');

      // Exactly at the limit is accepted (and answered by the engine's own validation).
      const atLimit = JSON.stringify({ path: 'y'.repeat(LIMIT - 11) });
      expect(Buffer.byteLength(atLimit)).toBe(LIMIT);
      expect((await request(bridge.port, { method: 'POST', path: '/api/library.open', headers: auth(), body: atLimit, agent })).status).not.toBe(413);
    } finally {
      agent.destroy();
    }
  });

  it('refuses a chunked body once it grows past the limit', async () => {
    const before = calls.length;
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(LIMIT, 0x20));
    const res = await request(bridge.port, { method: 'POST', path: '/api/library.open', headers: auth(), body: chunks });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ ok: false, error: { code: 'too-large', message: expect.stringContaining(String(LIMIT)) } });
    expect(calls.length).toBe(before);
  });

  it('refuses any Host but this loopback address and port with 421, before the token is even looked at', async () => {
    const hosts = [`evil.example:${bridge.port}`, `127.0.0.1:${bridge.port + 1}`, '127.0.0.1', `127.0.0.2:${bridge.port}`, `localhost.evil.example:${bridge.port}`];
    for (const host of hosts) {
      const res = await request(bridge.port, { method: 'POST', path: '/api/models.list', headers: { ...auth(), Host: host }, body: '{}' });
      expect(res.status, host).toBe(421);
      expect(JSON.parse(res.body), host).toEqual({ ok: false, error: { code: 'bad-host', message: 'unexpected Host header' } });
      expect(res.headers['x-content-type-options'], host).toBe('nosniff');
    }
    for (const host of [`127.0.0.1:${bridge.port}`, `localhost:${bridge.port}`, `LOCALHOST:${bridge.port}`]) {
      expect((await request(bridge.port, { path: '/', headers: { Host: host } })).status, host).toBe(200);
    }
    // A page, too, is refused under a rebound name: the token in its URL must not be readable.
    expect((await request(bridge.port, { path: '/', headers: { Host: `evil.example:${bridge.port}` } })).status).toBe(421);
    // No Host at all (HTTP/1.0) and a Host that is not a host.
    const noHost = await rawExchange(bridge.port, 'GET / HTTP/1.0\r\n\r\n');
    expect(statusOf(noHost)).toBe(421);
    expect(jsonBodyOf(noHost)).toMatchObject({ ok: false, error: { code: 'bad-host' } });
    const badHost = await rawExchange(bridge.port, `GET /api/events HTTP/1.1\r\nHost: [zz]:${bridge.port}\r\nConnection: close\r\n\r\n`);
    expect(statusOf(badHost)).toBe(421);
  });

  it('takes the token from a Bearer header or ?token= only, and refuses it anywhere else', async () => {
    const t = bridge.token;
    const post = (p: string, headers: Record<string, string>) => request(bridge.port, { method: 'POST', path: p, headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });
    const before = calls.length;
    const refused: [string, Record<string, string>][] = [
      ['/api/models.list', { Cookie: `token=${t}` }],
      ['/api/models.list', { 'X-Token': t }],
      ['/api/models.list', { Authorization: t }],
      ['/api/models.list', { Authorization: `Basic ${t}` }],
      ['/api/models.list', { Authorization: `bearer ${t}` }],
      ['/api/models.list', { Authorization: `Bearer ${t.slice(0, -1)}` }],
      [`/api/models.list/${t}`, {}],
      [`/api/models.list?tok=${t}`, {}],
      [`/api/models.list?token=${t.toUpperCase()}`, {}],
      // A Bearer header wins over the query, even when only the query is right.
      [`/api/models.list?token=${t}`, { Authorization: `Bearer ${'0'.repeat(64)}` }],
    ];
    for (const [p, headers] of refused) {
      const res = await post(p, headers);
      expect(res.status, `${p} ${JSON.stringify(headers)}`).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    }
    expect(calls.length).toBe(before);
    expect((await post('/api/models.list', { Authorization: `Bearer ${t}` })).status).toBe(200);
    // <img> and EventSource cannot set headers: the query is accepted where the token guards.
    expect((await post(`/api/models.list?token=${t}`, {})).status).toBe(200);
    const thumb = await request(bridge.port, { path: `/thumbs/${'0'.repeat(64)}?token=${t}` });
    // Past the gate: the engine answers (this library has no such image), not the token check.
    expect(thumb.status).not.toBe(401);
    expect(calls.at(-1)).toBe('thumbnail.get');
  });

  it('guards /api/…, /thumbs/… and /previews/… but not look-alike static paths', async () => {
    for (const p of ['/api/', '/api/a/b', '/thumbs/', '/previews/x']) expect((await request(bridge.port, { path: p })).status, p).toBe(401);
    for (const p of ['/api', '/apix', '/thumbs']) expect((await request(bridge.port, { path: p })).status, p).toBe(404);
    const deep = await request(bridge.port, { method: 'POST', path: '/api/a/b', headers: auth(), body: '{}' });
    expect(deep.status).toBe(404);
    expect(JSON.parse(deep.body)).toMatchObject({ error: { code: 'unknown-op', message: 'no operation named "a/b"' } });
  });

  it('answers wrong methods with 405 JSON on every route', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/api/events', 'use GET for /api/events'],
      ['HEAD', '/api/events', ''],
      ['GET', '/api/models.list', 'use POST for /api/models.list'],
      ['DELETE', `/thumbs/${'0'.repeat(64)}`, 'use GET for images'],
      ['PUT', `/previews/${'0'.repeat(64)}`, 'use GET for images'],
      ['POST', '/', 'use GET'],
    ];
    for (const [method, p, message] of cases) {
      const res = await request(bridge.port, { method, path: p, headers: auth() });
      expect(res.status, `${method} ${p}`).toBe(405);
      if (method !== 'HEAD') expect(JSON.parse(res.body)).toEqual({ ok: false, error: { code: 'method-not-allowed', message } });
    }
  });

  it('sends the security headers on every answer and the page CSP on the page', async () => {
    const answers = [
      await request(bridge.port, { path: '/' }),
      await request(bridge.port, { path: '/missing.js' }),
      await request(bridge.port, { path: '/api/models.list' }),
      await request(bridge.port, { method: 'POST', path: '/api/models.list', headers: auth(), body: '{}' }),
    ];
    for (const res of answers) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
    expect(answers[0].headers['content-security-policy']).toBe(PAGE_CSP);
    expect(answers[0].headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answers[0].headers['cache-control']).toBe('no-cache');
    expect(answers[3].headers['cache-control']).toBe('no-store');
    const head = await request(bridge.port, { method: 'HEAD', path: '/' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });
});

/** An engine that only emits: the SSE tests need events on demand, not a library. */
function emitter(): { endpoint: EngineEndpoint; emit<E extends EventName>(event: E, payload: EventPayload<E>): void; listeners: Set<EventListener> } {
  const listeners = new Set<EventListener>();
  return {
    listeners,
    endpoint: {
      invoke: () => Promise.reject(new Error('not used by these tests')),
      onEvent(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    emit(event, payload) {
      for (const l of listeners) l(event, payload);
    },
  };
}

function textReader(res: Response): ReadableStreamDefaultReader<string> {
  if (!res.body) throw new Error(`no body (${res.status})`);
  return res.body.pipeThrough(new TextDecoderStream()).getReader();
}

async function readUntil(reader: ReadableStreamDefaultReader<string>, seen: { text: string }, pattern: RegExp): Promise<void> {
  while (!pattern.test(seen.text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${pattern}; got ${JSON.stringify(seen.text)}`);
    seen.text += value;
  }
}

describe('bridge event stream', () => {
  it('writes each engine event as one `event:`/`data:` frame, and ends open streams on close', async () => {
    const e = emitter();
    const bridge = await startBridge({ engine: e.endpoint, port: 0 });
    try {
      const res = await fetch(`${bridge.origin}/api/events`, { headers: { Authorization: `Bearer ${bridge.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const reader = textReader(res);
      const seen = { text: '' };
      await readUntil(reader, seen, /^: connected\n\n/);
      const payload = { jobId: 'j1', phase: 'index', done: 1, total: 2, currentPath: '/fotos/a\nb.jpg' } as unknown as EventPayload<'index.progress'>;
      e.emit('index.progress', payload);
      await readUntil(reader, seen, /\n\n.*\n\n$/s);
      expect(seen.text).toBe(`: connected\n\nevent: index.progress\ndata: ${JSON.stringify(payload)}\n\n`);
      await bridge.close();
      // The client sees the end of the stream, not a hang.
      for (;;) if ((await reader.read()).done) break;
      expect(e.listeners.size).toBe(0);
    } finally {
      await bridge.close();
    }
  });

  it('a client that goes away does not disturb the other streams', async () => {
    const e = emitter();
    const bridge = await startBridge({ engine: e.endpoint, port: 0 });
    try {
      const open = async () => {
        const controller = new AbortController();
        const res = await fetch(`${bridge.origin}/api/events?token=${bridge.token}`, { signal: controller.signal });
        const reader = textReader(res);
        const seen = { text: '' };
        await readUntil(reader, seen, /: connected\n\n/);
        return { controller, reader, seen };
      };
      const a = await open();
      const b = await open();
      a.controller.abort();
      await a.reader.cancel().catch(() => undefined);
      for (let i = 0; i < 20; i++) e.emit('index.progress', { jobId: 'j', phase: 'index', done: i, total: 20 } as unknown as EventPayload<'index.progress'>);
      await readUntil(b.reader, b.seen, /"done":19/);
      expect(b.seen.text.match(/^event: index\.progress$/gm)).toHaveLength(20);
      await b.reader.cancel();
    } finally {
      await bridge.close();
    }
  });
});

describe('bridge without a built renderer', () => {
  it('serves the how-to-build page at / only', async () => {
    const e = emitter();
    const bridge = await startBridge({ engine: e.endpoint, port: 0, rendererDir: path.join(os.tmpdir(), 'triagem-no-such-renderer') });
    try {
      for (const p of ['/', '/index.html']) {
        const page = await fetch(`${bridge.origin}${p}`);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain('npm run build');
        expect(page.headers.get('content-security-policy')).toBe(PAGE_CSP);
        expect(page.headers.get('cache-control')).toBe('no-store');
      }
      const missing = await fetch(`${bridge.origin}/assets/app.js`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ ok: false, error: { code: 'not-found', message: 'not found' } });
    } finally {
      await bridge.close();
    }
  });
});
