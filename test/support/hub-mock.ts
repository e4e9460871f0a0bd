// A loopback stand-in for the Hugging Face Hub's `resolve` endpoint and its CDN, speaking the same
// headers the real one does: LFS files answer 302 + X-Linked-Etag/X-Linked-Size and are served from a
// second URL; small files answer 200 + ETag (git blob SHA-1). Both honour `Range: bytes=N-` with 206.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubMockFile {
  path: string;
  content: Buffer;
  /** Served through a 302 to the CDN, like Git LFS / Xet files on the Hub. */
  lfs: boolean;
}

export type HubFileMode =
  | { kind: 'ok' }
  /** The resolve URL answers 404 (entry not found). */
  | { kind: 'missing' }
  /** Same length, some bytes flipped, while the headers still announce the true checksum. */
  | { kind: 'corrupt' }
  /** The next `times` content responses send `afterBytes` bytes of the body, then drop the connection. */
  | { kind: 'drop'; afterBytes: number; times: number }
  /** The next `times` content responses send `afterBytes` bytes, then go silent with the connection open. */
  | { kind: 'stall'; afterBytes: number; times: number }
  /** Range headers are ignored: every content response is a full 200. */
  | { kind: 'no-range' };

export interface HubRequestLog {
  method: string;
  /** `resolve` for the Hub URL, `cdn` for the redirect target. */
  route: 'resolve' | 'cdn' | 'other';
  path: string;
  range?: string;
  status: number;
}

export interface HubMock {
  /** Base URL to use as TRIAGEM_HF_ENDPOINT. */
  endpoint: string;
  requests: HubRequestLog[];
  setMode(path: string, mode: HubFileMode): void;
  resetModes(): void;
  close(): Promise<void>;
}

export function sha256(content: Buffer): string {
  return crypto.createHash('sha256').update(content).digest('hex');
}

export function gitBlobSha1(content: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

export async function startHubMock(opts: { repo: string; revision: string; files: HubMockFile[] }): Promise<HubMock> {
  const byPath = new Map(opts.files.map((f) => [f.path, f]));
  const bySha = new Map(opts.files.map((f) => [sha256(f.content), f]));
  const modes = new Map<string, HubFileMode>();
  const requests: HubRequestLog[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const resolvePrefix = `/${opts.repo}/resolve/`;

  const modeOf = (p: string): HubFileMode => modes.get(p) ?? { kind: 'ok' };

  function serveContent(req: http.IncomingMessage, res: http.ServerResponse, file: HubMockFile, headers: Record<string, string>, log: HubRequestLog): void {
    const mode = modeOf(file.path);
    let body = file.content;
    if (mode.kind === 'corrupt') {
      body = Buffer.from(file.content);
      for (let i = Math.floor(body.length / 2); i < Math.min(body.length, Math.floor(body.length / 2) + 16); i++) body[i] ^= 0xff;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    let status = 200;
    const out: Record<string, string> = { ...headers, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (range && mode.kind !== 'no-range') {
      start = Number(range[1]);
      if (start >= body.length) {
        log.status = 416;
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      status = 206;
      out['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const slice = body.subarray(start);
    out['Content-Length'] = String(slice.length);
    log.status = status;
    res.writeHead(status, out);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (mode.kind === 'drop' && mode.times > 0) {
      mode.times -= 1;
      res.write(slice.subarray(0, Math.min(mode.afterBytes, slice.length)), () => {
        // Give the client the bytes, then cut the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 20);
      });
      return;
    }
    if (mode.kind === 'stall' && mode.times > 0) {
      mode.times -= 1;
      res.write(slice.subarray(0, Math.min(mode.afterBytes, slice.length)));
      return;
    }
    res.end(slice);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const pathname = decodeURIComponent(url.pathname);
    const log: HubRequestLog = { method: req.method ?? 'GET', route: 'other', path: pathname, range: req.headers.range, status: 0 };
    requests.push(log);

    if (pathname.startsWith(resolvePrefix)) {
      log.route = 'resolve';
      const rest = pathname.slice(resolvePrefix.length);
      const slash = rest.indexOf('/');
      const revision = rest.slice(0, slash);
      const filePath = rest.slice(slash + 1);
      log.path = filePath;
      const file = byPath.get(filePath);
      if (revision !== opts.revision || !file || modeOf(filePath).kind === 'missing') {
        log.status = 404;
        res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': 'EntryNotFound' }).end('{"error":"Entry not found"}');
        return;
      }
      if (file.lfs) {
        const sha = sha256(file.content);
        log.status = 302;
        res
          .writeHead(302, {
            Location: `${endpoint}/cdn/${sha}?expires=${Date.now() + 3_600_000}&signature=mock`,
            'X-Linked-Etag': `"${sha}"`,
            'X-Linked-Size': String(file.content.length),
            'X-Repo-Commit': opts.revision,
            'Content-Length': '0',
          })
          .end();
        return;
      }
      serveContent(req, res, file, { ETag: `"${gitBlobSha1(file.content)}"`, 'X-Repo-Commit': opts.revision }, log);
      return;
    }

    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(pathname);
    const file = cdn ? bySha.get(cdn[1]) : undefined;
    if (cdn && file) {
      log.route = 'cdn';
      log.path = file.path;
      serveContent(req, res, file, {}, log);
      return;
    }
    log.status = 404;
    res.writeHead(404).end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    setMode(p, mode) {
      modes.set(p, mode);
    },
    resetModes() {
      modes.clear();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
