import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type Bridge } from '../src/bridge/server.js';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { createClient, TriagemClientError, type TriagemClient } from '../src/shared/client.js';
import { contract, events, type EventPayload, type OpName, type OpOutput } from '../src/shared/contract.js';
import { httpTransport, type HttpTransport } from '../src/shared/http-transport.js';
import { colourModelDir } from './support/models.js';
import { writePhoto, type Colour } from './support/sort-fixtures.js';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

const PHOTOS: Record<string, Colour> = {
  'pauta/vermelha-1.jpg': 'red',
  'pauta/vermelha-2.png': 'red',
  'pauta/verde.jpg': 'green',
  'pauta/sub/azul.webp': 'blue',
  'pauta/sub/amarela.jpg': 'yellow',
  'pauta/roxa.jpg': 'purple',
};

function check<K extends OpName>(op: K, value: OpOutput<K>): OpOutput<K> {
  const parsed = contract[op].output.safeParse(value);
  if (!parsed.success) throw new Error(`${op} output breaks the contract: ${parsed.error.message}`);
  return value;
}

/** A raw request, so paths reach the server exactly as written (fetch would normalize `..`). */
function rawRequest(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('browser bridge', () => {
  let root: string;
  let photos: string;
  let service: EngineService;
  let bridge: Bridge;
  let transport: HttpTransport;
  let client: TriagemClient;
  const progress: EventPayload<'index.progress'>[] = [];

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bridge-'));
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    photos = path.join(root, 'fotos');
    let seed = 1;
    for (const [rel, colour] of Object.entries(PHOTOS)) await writePhoto(path.join(photos, rel), colour, seed++);
    // Same bytes at a second path: one content, an exact duplicate.
    fs.mkdirSync(path.join(photos, 'pauta/copia'));
    fs.copyFileSync(path.join(photos, 'pauta/verde.jpg'), path.join(photos, 'pauta/copia/verde.jpg'));
    const rendererDir = path.join(root, 'renderer');
    fs.mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Triagem test page</title>');
    fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log("app")');
    fs.writeFileSync(path.join(root, 'secret.txt'), 'do not serve me');

    service = createEngineService({ libraryPath: path.join(root, 'library.sqlite'), modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
    bridge = await startBridge({ engine: service, host: '127.0.0.1', port: 0, rendererDir });
    transport = httpTransport({ baseUrl: bridge.origin, token: bridge.token });
    client = createClient(transport);
    client.on('index.progress', (p) => progress.push(p));
    await transport.eventsReady();
  });

  afterAll(async () => {
    transport?.close();
    await bridge?.close();
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('listens on loopback only, with a per-session token in its URL', () => {
    expect(bridge.host).toBe('127.0.0.1');
    expect(bridge.port).toBeGreaterThan(0);
    expect(bridge.token).toMatch(/^[0-9a-f]{64}$/);
    expect(bridge.url).toBe(`http://127.0.0.1:${bridge.port}/?token=${bridge.token}`);
  });

  it('refuses /api, events and thumbnails without the token (401)', async () => {
    const noToken = await fetch(`${bridge.origin}/api/library.open`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    const wrong = await fetch(`${bridge.origin}/api/library.open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${'0'.repeat(64)}` },
      body: '{}',
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${bridge.origin}/api/events`)).status).toBe(401);
    expect((await fetch(`${bridge.origin}/thumbs/${'a'.repeat(64)}`)).status).toBe(401);
    const stranger = createClient(httpTransport({ baseUrl: bridge.origin, token: 'guess' }));
    await expect(stranger.invoke('library.open', {})).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('rejects a Host header that is not loopback (DNS rebinding)', async () => {
    const res = await rawRequest(bridge.port, {
      method: 'POST',
      path: '/api/library.open',
      headers: { Host: `evil.example:${bridge.port}`, Authorization: `Bearer ${bridge.token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(421);
  });

  it('answers bad input with 400 and the zod message, before any engine work', async () => {
    const post = (op: string, body: string, type = 'application/json') =>
      fetch(`${bridge.origin}/api/${op}`, { method: 'POST', headers: { 'Content-Type': type, Authorization: `Bearer ${bridge.token}` }, body });
    const res = await post('index.start', JSON.stringify({ folders: 'fotos' }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { ok: false; error: { code: string; message: string; issues: { path: string }[] } };
    expect(body.error.code).toBe('invalid-input');
    expect(body.error.message).toMatch(/invalid input for index\.start/);
    expect(body.error.message).toMatch(/folders/);
    expect(body.error.issues[0].path).toBe('folders');

    const traversal = await post('search.similar', JSON.stringify({ path: `${photos}/../../../etc/passwd` }));
    expect(traversal.status).toBe(400);
    expect(((await traversal.json()) as { error: { message: string } }).error.message).toMatch(/absolute path without/);

    expect((await post('index.start', '{"folders": [')).status).toBe(400);
    expect((await post('index.start', '{}', 'text/plain')).status).toBe(415);
    expect((await post('no.such.op', '{}')).status).toBe(404);
    expect((await fetch(`${bridge.origin}/api/models.list`, { headers: { Authorization: `Bearer ${bridge.token}` } })).status).toBe(405);
    expect((await post('library.open', JSON.stringify({ path: 'x'.repeat(2 << 20) }))).status).toBe(413);

    await expect(client.invoke('search.text', { query: '' })).rejects.toBeInstanceOf(TriagemClientError);
  });

  it('indexes a folder over HTTP, streaming progress over SSE', async () => {
    const summary = check('index.start', await client.invoke('index.start', { folders: [photos], model: 'colour' }));
    const files = Object.keys(PHOTOS).length + 1;
    expect(summary).toMatchObject({ cancelled: false, indexed: files, reused: 1, failed: [] });
    // Events are written before the answer, but travel on another connection.
    await expect.poll(() => progress.at(-1)?.done).toBe(files);
    for (const p of progress) {
      expect(events['index.progress'].safeParse(p).success).toBe(true);
      expect(p.jobId).toBe(summary.jobId);
    }
    expect(progress.at(-1)).toMatchObject({ phase: 'index', total: files });
    const library = check('library.open', await client.invoke('library.open', {}));
    expect(library.files).toBe(files);
    expect(library.contents).toBe(Object.keys(PHOTOS).length);
    expect(library.models).toEqual([{ key: summary.modelKey, dim: expect.any(Number), embedded: Object.keys(PHOTOS).length }]);
  });

  it('searches "vermelho" and ranks the red photos first', async () => {
    const result = check('search.text', await client.invoke('search.text', { query: 'vermelho', limit: 10, cutoff: false }));
    expect(result.hits.length).toBe(Object.keys(PHOTOS).length);
    const top = result.hits.slice(0, 2).map((h) => path.relative(photos, h.path)).sort();
    expect(top).toEqual(['pauta/vermelha-1.jpg', 'pauta/vermelha-2.png']);
    expect(result.hits[1].score).toBeGreaterThan(result.hits[2].score);
    const azul = check('search.text', await client.invoke('search.text', { query: 'azul', limit: 1 }));
    expect(path.basename(azul.hits[0].path)).toBe('azul.webp');
    const verde = check('search.text', await client.invoke('search.text', { query: 'verde', limit: 1 }));
    expect(verde.hits[0].paths.map((p) => path.relative(photos, p))).toEqual(['pauta/copia/verde.jpg', 'pauta/verde.jpg']);
  });

  it('finds similar images and duplicates', async () => {
    const similar = check('search.similar', await client.invoke('search.similar', { path: path.join(photos, 'pauta/vermelha-1.jpg'), limit: 3, cutoff: false }));
    expect(path.basename(similar.hits[0].path)).toBe('vermelha-2.png');
    const dupes = check('duplicates.find', await client.invoke('duplicates.find', { threshold: 0.99 }));
    const exact = dupes.groups.filter((g) => g.kind === 'exact');
    expect(exact).toHaveLength(1);
    expect(exact[0].files.map((f) => path.relative(photos, f.path)).sort()).toEqual(['pauta/copia/verde.jpg', 'pauta/verde.jpg']);
    await expect(client.invoke('search.similar', { path: path.join(photos, 'nao-existe.jpg') })).rejects.toMatchObject({ code: 'unreadable' });
  });

  it('serves thumbnails of indexed images only, and refuses traversal', async () => {
    const hit = (await client.invoke('search.text', { query: 'verde', limit: 1 })).hits[0];
    const res = await fetch(transport.thumbnailUrl(hit.sha256));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');

    // The loupe's preview has its own route, behind the same token.
    const preview = await fetch(transport.previewUrl(hit.sha256));
    expect(preview.status).toBe(200);
    expect(preview.headers.get('content-type')).toBe('image/webp');
    expect((await fetch(`${bridge.origin}/previews/${hit.sha256}`)).status).toBe(401);
    expect((await rawRequest(bridge.port, { path: `/previews/..%2F..%2Fsecret.txt?token=${bridge.token}` })).status).toBe(400);

    const bytesOut = check('thumbnail.get', await client.invoke('thumbnail.get', { contentId: hit.contentId, bytes: true }));
    expect(Buffer.from(bytesOut.base64 ?? '', 'base64').equals(bytes)).toBe(true);

    const token = `token=${bridge.token}`;
    expect((await rawRequest(bridge.port, { path: `/thumbs/${'0'.repeat(64)}?${token}` })).status).toBe(404);
    for (const evil of ['/thumbs/..%2F..%2Fsecret.txt', '/thumbs/../secret.txt', '/thumbs/%2e%2e%2f%2e%2e%2fetc%2fpasswd', `/thumbs/${hit.sha256}%00.webp`]) {
      const r = await rawRequest(bridge.port, { path: `${evil}?${token}` });
      expect(r.status, evil).toBeGreaterThanOrEqual(400);
      expect(r.body.toString('utf8')).not.toContain('do not serve me');
    }
  });

  it('serves the built renderer and nothing outside it', async () => {
    const page = await fetch(`${bridge.origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Triagem test page');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect((await fetch(`${bridge.origin}/assets/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    for (const evil of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2F..%2Fsecret.txt', '/..%5Csecret.txt', '/assets/%00']) {
      const r = await rawRequest(bridge.port, { path: evil });
      expect(r.status, evil).toBeGreaterThanOrEqual(400);
      expect(r.body.toString('utf8')).not.toContain('do not serve me');
    }
    expect((await fetch(`${bridge.origin}/missing.js`)).status).toBe(404);
  });
});

describe('triagem serve', () => {
  it('prints a tokenized loopback URL, serves the API, and stops on SIGINT', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-serve-'));
    const child = spawn(
      process.execPath,
      ['bin/triagem.js', 'serve', '--port', '0', '--library', path.join(root, 'lib.sqlite'), '--models-dir', path.join(root, 'models')],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      await expect.poll(() => out, { timeout: 60_000, interval: 100 }).toMatch(/http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}/);
      const url = new URL(/http:\/\/\S+/.exec(out)?.[0] ?? '');
      const token = url.searchParams.get('token') ?? '';
      const c = createClient(httpTransport({ baseUrl: url.origin, token }));
      const opened = await c.invoke('library.open', {});
      expect(opened).toMatchObject({ path: path.join(root, 'lib.sqlite'), files: 0 });
      await expect(c.invoke('search.text', { query: 'gato' })).rejects.toMatchObject({ code: 'no-model' });
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exit, err).toBe(0);
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
