// Browser mode: the engine behind a loopback HTTP server, for reporters who cannot install the
// desktop app. Every /api request is checked against the same contract as Electron IPC. A random
// per-session token keeps other pages open in the same browser from driving it: they can send
// requests to 127.0.0.1 but cannot read the token from our URL.
//
// Written on node:http by hand on purpose. A port to Hono + @hono/node-server (issue H.5) was built
// and measured: 303 lines of code against these 254 (the adapter needed workarounds: SSE frames
// written to the socket so answers cannot overtake events, a drained body after a 413 so the
// keep-alive socket survives, the Host gate before the adapter parses), and a small RPC took 1.5×
// as long (1.11 vs 0.74 ms median, `bodyLimit` builds a web Request per POST). Nothing it added was
// missing here, so the hand-written server stayed; test/bridge-gates.test.ts came from that work.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { isInside } from '../engine/util/fs.js';
import { INVALID_INPUT, isOpName, sha256 as sha256Schema, type WireError } from '../shared/contract.js';
import type { EngineEndpoint } from '../shared/rpc.js';

export interface BridgeOptions {
  engine: EngineEndpoint;
  /** Default 127.0.0.1. Anything else exposes the engine to the network (the token still applies). */
  host?: string;
  /** Default 4317; 0 picks a free port. */
  port?: number;
  /** Default: 32 random bytes, hex. */
  token?: string;
  /** Built renderer (`out/renderer`); when missing, `/` explains how to build it. */
  rendererDir?: string;
  /** Largest accepted request body. */
  maxBodyBytes?: number;
}

export interface Bridge {
  /** Open this in a browser: it carries the token. */
  url: string;
  origin: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

const PAGE_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** HTTP status for an engine error code; user-fixable errors are 4xx, our bugs 500. */
function statusFor(error: WireError): number {
  if (error.code === INVALID_INPUT) return 400;
  if (error.code === 'not-found') return 404;
  if (error.code === 'busy') return 409;
  if (error.code === 'internal') return 500;
  return 422;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { ok: false, error: { code, message } });
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        // Answer now; the rest of the body is read and dropped so the client sees the 413.
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>Triagem</title>
<h1>Triagem</h1><p>A interface ainda não foi compilada. Rode <code>npm run build</code> e reinicie <code>triagem serve</code>.</p>
<p>The interface has not been built yet. Run <code>npm run build</code> and restart <code>triagem serve</code>.</p>`;

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? randomBytes(32).toString('hex');
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const rendererDir = opts.rendererDir && fs.existsSync(path.join(opts.rendererDir, 'index.html')) ? path.resolve(opts.rendererDir) : undefined;
  const loopbackOnly = LOOPBACK.has(host);
  const streams = new Set<http.ServerResponse>();
  let port = 0;

  const offEvents = opts.engine.onEvent((event, payload) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of streams) res.write(frame);
  });
  const heartbeat = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  /**
   * A page on another site can make the browser resolve its own host name to 127.0.0.1 (DNS
   * rebinding) and then read our answers as same-origin; the Host header gives that away.
   */
  function hostAllowed(req: http.IncomingMessage): boolean {
    if (!loopbackOnly) return true;
    const header = req.headers.host;
    if (!header) return false;
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
    return allowed.includes(header.toLowerCase());
  }

  function authorized(req: http.IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : url.searchParams.get('token');
    return given !== null && given !== undefined && sameSecret(given, token);
  }

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, op: string): Promise<void> {
    if (op === 'events') {
      if (req.method !== 'GET') return sendError(res, 405, 'method-not-allowed', 'use GET for /api/events');
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    if (!isOpName(op)) return sendError(res, 404, 'unknown-op', `no operation named "${op}"`);
    if (req.method !== 'POST') return sendError(res, 405, 'method-not-allowed', `use POST for /api/${op}`);
    // Requiring JSON also forces a CORS preflight on any cross-site attempt, which we never answer.
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
      return sendError(res, 415, 'unsupported-media-type', 'send the input as application/json');
    }
    let text: string;
    try {
      text = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLarge) return sendError(res, 413, 'too-large', `request body is larger than ${maxBody} bytes`);
      throw err;
    }
    let input: unknown;
    try {
      input = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      return sendError(res, 400, 'bad-json', `request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    const result = await opts.engine.invoke(op, input);
    if (result.ok) sendJson(res, 200, result);
    else sendJson(res, statusFor(result.error), result);
  }

  /** `/thumbs/<sha256>` (256 px) and `/previews/<sha256>` (the loupe's ~1440 px). */
  async function handleImage(req: http.IncomingMessage, res: http.ServerResponse, id: string, op: 'thumbnail.get' | 'preview.get'): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method-not-allowed', 'use GET for images');
    const name = id.replace(/\.(webp|jpe?g|png)$/, '');
    if (!sha256Schema.safeParse(name).success) return sendError(res, 400, 'bad-thumbnail-id', 'an image is named by its 64-hex sha256');
    // The engine answers only for contents the library knows, with a path inside its own cache folders.
    const result = await opts.engine.invoke(op, { sha256: name });
    if (!result.ok) return sendJson(res, statusFor(result.error), result);
    const file = result.value.path;
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(file);
    } catch {
      return sendError(res, 404, 'not-found', 'thumbnail file is missing');
    }
    res.writeHead(200, {
      'Content-Type': result.value.mime,
      'Content-Length': stat.size,
      'Cache-Control': 'private, max-age=3600',
      // Other sites may not embed thumbnails even if the token leaked into a URL they saw.
      'Cross-Origin-Resource-Policy': 'same-origin',
    });
    if (req.method === 'HEAD') return void res.end();
    fs.createReadStream(file).pipe(res);
  }

  async function handleStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method-not-allowed', 'use GET');
    if (!rendererDir) {
      if (pathname !== '/' && pathname !== '/index.html') return sendError(res, 404, 'not-found', 'not found');
      res.writeHead(200, { 'Content-Type': MIME['.html'], 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store' });
      return void res.end(req.method === 'HEAD' ? undefined : NOT_BUILT_PAGE);
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return sendError(res, 400, 'bad-path', 'malformed path');
    }
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) {
      return sendError(res, 400, 'bad-path', 'path escapes the app folder');
    }
    const target = path.resolve(rendererDir, `.${decoded === '/' ? '/index.html' : decoded}`);
    if (!isInside(target, rendererDir)) return sendError(res, 400, 'bad-path', 'path escapes the app folder');
    let stat: fs.Stats;
    try {
      stat = await fs.promises.stat(target);
    } catch {
      return sendError(res, 404, 'not-found', 'not found');
    }
    if (!stat.isFile()) return sendError(res, 404, 'not-found', 'not found');
    const type = MIME[path.extname(target).toLowerCase()] ?? 'application/octet-stream';
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': type, 'Content-Length': stat.size, 'Cache-Control': 'no-cache' };
    if (type.startsWith('text/html')) headers['Content-Security-Policy'] = PAGE_CSP;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') return void res.end();
    fs.createReadStream(target).pipe(res);
  }

  const server = http.createServer((req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // The token rides in the page URL: never hand it to anything the page links to.
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (!hostAllowed(req)) return sendError(res, 421, 'bad-host', 'unexpected Host header');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://bridge.invalid');
    } catch {
      return sendError(res, 400, 'bad-path', 'malformed URL');
    }
    const pathname = url.pathname;
    const isApi = pathname.startsWith('/api/');
    const isThumb = pathname.startsWith('/thumbs/');
    const isPreview = pathname.startsWith('/previews/');
    if ((isApi || isThumb || isPreview) && !authorized(req, url)) {
      return sendError(res, 401, 'unauthorized', 'missing or wrong session token (open the URL `triagem serve` printed)');
    }
    const work = isApi
      ? handleApi(req, res, pathname.slice('/api/'.length))
      : isThumb
        ? handleImage(req, res, pathname.slice('/thumbs/'.length), 'thumbnail.get')
        : isPreview
          ? handleImage(req, res, pathname.slice('/previews/'.length), 'preview.get')
          : handleStatic(req, res, pathname);
    work.catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      sendError(res, 500, 'internal', err instanceof Error ? err.message : String(err));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 4317, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : (opts.port ?? 4317);
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const origin = `http://${urlHost}:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    host,
    port,
    token,
    close() {
      clearInterval(heartbeat);
      offEvents();
      for (const res of streams) res.end();
      streams.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
