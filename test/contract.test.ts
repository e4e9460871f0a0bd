import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineService, type EngineService } from '../src/app/service.js';
import { createClient, TriagemClientError, type TriagemClient } from '../src/shared/client.js';
import {
  contract,
  events,
  INVALID_INPUT,
  isCanonicalAbsolutePath,
  OP_NAMES,
  parseInput,
  type EventPayload,
  type OpName,
  type OpOutput,
} from '../src/shared/contract.js';
import { portTransport, servePort, type PortLike, type PortTransport } from '../src/shared/rpc.js';
import { colourModelDir } from './support/models.js';
import { writePhoto } from './support/sort-fixtures.js';

function rejects(op: OpName, input: unknown): string {
  const result = parseInput(op, input);
  expect(result.ok, `${op} accepted ${JSON.stringify(input)}`).toBe(false);
  if (result.ok) return '';
  expect(result.error.code).toBe(INVALID_INPUT);
  return result.error.message;
}

function accepts(op: OpName, input: unknown): unknown {
  const result = parseInput(op, input);
  if (!result.ok) throw new Error(`${op} rejected ${JSON.stringify(input)}: ${result.error.message}`);
  return result.value;
}

describe('contract schemas', () => {
  it('declares input and output for every op', () => {
    expect(OP_NAMES.sort()).toEqual(
      [
        'app.status',
        'duplicates.decide',
        'duplicates.find',
        'duplicates.review',
        'eval.run',
        'export.preview',
        'export.run',
        'export.start',
        'export.undo',
        'folders.list',
        'index.cancel',
        'index.failures',
        'index.start',
        'library.facets',
        'library.file',
        'library.items',
        'library.ocr',
        'library.open',
        'library.query',
        'models.cancel',
        'models.download',
        'models.import',
        'models.list',
        'presets.list',
        'preview.get',
        'review.mark',
        'review.summary',
        'review.thresholds',
        'review.undo',
        'search.similar',
        'search.text',
        'sort.run',
        'tags.change',
        'tags.list',
        'thumbnail.get',
      ].sort(),
    );
    for (const op of OP_NAMES) {
      expect(contract[op].input.safeParse, op).toBeTypeOf('function');
      expect(contract[op].output.safeParse, op).toBeTypeOf('function');
    }
  });

  it('tells canonical absolute paths from relative and climbing ones', () => {
    const good = ['/home/ana/Fotos', '/', '/home/ana/Fotos/', 'C:\\Users\\ana\\Fotos', 'D:/fotos', '\\\\server\\share\\fotos', '/a/b..c/...'];
    const bad = ['fotos', './fotos', '../fotos', '/home/ana/../../etc', '/home/./ana', 'C:\\Users\\..\\Windows', 'C:fotos', '', '//double', '/a//b', '~/Fotos'];
    for (const p of good) expect(isCanonicalAbsolutePath(p), p).toBe(true);
    for (const p of bad) expect(isCanonicalAbsolutePath(p), p).toBe(false);
  });

  it('index.start: folders must be a non-empty list of absolute paths without ".."', () => {
    expect(rejects('index.start', {})).toMatch(/folders/);
    expect(rejects('index.start', { folders: '/home/ana' })).toMatch(/folders/);
    expect(rejects('index.start', { folders: [] })).toMatch(/at least one folder/);
    expect(rejects('index.start', { folders: ['Fotos'] })).toMatch(/absolute path/);
    expect(rejects('index.start', { folders: ['/home/ana/../../etc'] })).toMatch(/absolute path without/);
    expect(rejects('index.start', { folders: ['/tmp/a\0b'] })).toMatch(/NUL/);
    expect(rejects('index.start', { folders: [42] })).toMatch(/folders/);
    expect(rejects('index.start', { folders: ['/a'], thumbnails: 'yes' })).toMatch(/thumbnails/);
    expect(rejects('index.start', { folders: ['/a'], device: 'cuda' })).toMatch(/device/);
    expect(accepts('index.start', { folders: ['/home/ana/Fotos'] })).toEqual({ folders: ['/home/ana/Fotos'], thumbnails: true });
  });

  it('model ids are folder names, never paths', () => {
    for (const model of ['../evil', 'a/b', '..', '.hidden', 'a\\b', '', 'x'.repeat(200)]) {
      rejects('search.text', { query: 'gato', model });
    }
    expect(accepts('search.text', { query: 'gato', model: 'clip-vit-b32' })).toMatchObject({ model: 'clip-vit-b32' });
    rejects('search.text', { query: 'gato', precision: 'fp64' });
  });

  it('search inputs: query, limit bounds and defaults, filters', () => {
    expect(rejects('search.text', { query: '' })).toMatch(/query is empty/);
    expect(rejects('search.text', { query: '   ' })).toMatch(/query is empty/);
    rejects('search.text', { query: 'x', limit: 0 });
    rejects('search.text', { query: 'x', limit: 1001 });
    rejects('search.text', { query: 'x', limit: 2.5 });
    rejects('search.text', { query: 'x', limit: '10' });
    rejects('search.text', { query: 'x', filters: { folders: ['relative'] } });
    rejects('search.text', { query: 'x', filters: { exts: ['.jpg'] } });
    rejects('search.text', { query: 'x', filters: { exts: ['jp/g'] } });
    rejects('search.text', { query: 'x', filters: { unknown: 1 } });
    expect(accepts('search.text', { query: '  carro vermelho ' })).toEqual({ query: 'carro vermelho', limit: 50, cutoff: true });
    rejects('search.text', { query: 'x', minScore: 2 });
    expect(rejects('search.similar', { path: '/fotos/../../etc/passwd' })).toMatch(/path/);
    expect(rejects('search.similar', {})).toMatch(/path/);
  });

  it('eval.run: ground truth from review or from an absolute path', () => {
    expect(accepts('eval.run', { truth: { kind: 'confirmed' } })).toEqual({ truth: { kind: 'confirmed' }, targetPrecision: 0.9 });
    expect(accepts('eval.run', { truth: { kind: 'csv', path: '/home/ana/gabarito.csv' }, runId: 3 })).toMatchObject({ truth: { kind: 'csv', path: '/home/ana/gabarito.csv' }, runId: 3 });
    expect(rejects('eval.run', { truth: { kind: 'csv', path: 'gabarito.csv' } })).toMatch(/absolute path/);
    expect(rejects('eval.run', { truth: { kind: 'csv', path: '/home/ana/../../etc/passwd' } })).toMatch(/absolute path without/);
    expect(rejects('eval.run', { truth: { kind: 'csv' } })).toMatch(/path/);
    expect(rejects('eval.run', { truth: { kind: 'confirmed', path: '/x' } })).toMatch(/path|Unrecognized/);
    expect(rejects('eval.run', { truth: { kind: 'guess' } })).toMatch(/kind|truth/);
    expect(rejects('eval.run', { truth: { kind: 'confirmed' }, targetPrecision: 0 })).toMatch(/targetPrecision/);
    expect(rejects('eval.run', {})).toMatch(/truth/);
  });

  it('sort, export and undo inputs', () => {
    expect(rejects('sort.run', { labels: [] })).toMatch(/at least one label/);
    expect(rejects('sort.run', { labels: ['  '] })).toMatch(/label is empty/);
    expect(rejects('sort.run', { labels: ['a'], templates: ['a photo of'] })).toMatch(/\{\}/);
    rejects('sort.run', { labels: ['a'], threshold: 1.5 });
    rejects('sort.run', { labels: 'a, b' });
    expect(accepts('sort.run', { labels: [' gato ', 'cachorro'] })).toEqual({ labels: ['gato', 'cachorro'], limit: 500, confirmed: true });
    expect(accepts('sort.run', { labels: ['gato'], confirmed: false })).toMatchObject({ confirmed: false });
    rejects('sort.run', { labels: ['gato'], confirmed: 'no' });
    expect(rejects('export.run', { destination: '/tmp/out', operation: 'delete' })).toMatch(/operation/);
    expect(rejects('export.run', { destination: 'out', operation: 'copy' })).toMatch(/destination/);
    rejects('export.run', { destination: '/tmp/out' });
    rejects('export.run', { destination: '/tmp/out', operation: 'copy', runId: -1 });
    rejects('export.undo', { journal: '../.triagem-journal.jsonl' });
    rejects('export.undo', {});
    rejects('duplicates.find', { threshold: 1.01 });
    rejects('duplicates.find', { threshold: 0 });
    expect(accepts('duplicates.find', {})).toEqual({ threshold: 0.95 });
  });

  it('thumbnail.get takes exactly one of contentId or a 64-hex sha256', () => {
    expect(rejects('thumbnail.get', {})).toMatch(/exactly one/);
    expect(rejects('thumbnail.get', { contentId: 1, sha256: 'a'.repeat(64) })).toMatch(/exactly one/);
    expect(rejects('thumbnail.get', { sha256: '../../../etc/passwd' })).toMatch(/64 lowercase hex/);
    rejects('thumbnail.get', { sha256: 'A'.repeat(64) });
    rejects('thumbnail.get', { contentId: 0 });
    rejects('thumbnail.get', { contentId: 1.5 });
    expect(accepts('thumbnail.get', { sha256: 'a'.repeat(64) })).toEqual({ sha256: 'a'.repeat(64), bytes: false });
  });

  it('window ops: grid queries, marks, exports and folder names are checked at the door', () => {
    expect(accepts('library.query', {})).toEqual({ sort: 'path', descending: false, filters: {} });
    expect(rejects('library.query', { filters: { folders: ['fotos'] } })).toMatch(/absolute path/);
    expect(rejects('library.query', { filters: { sql: '1=1' } })).toMatch(/sql/);
    expect(rejects('library.items', { fileIds: Array.from({ length: 1001 }, (_, i) => i + 1) })).toMatch(/fileIds/);
    expect(rejects('review.mark', { fileIds: [1], action: 'label' })).toMatch(/needs a label/);
    expect(rejects('review.mark', { fileIds: [], action: 'keep' })).toMatch(/at least one/);
    expect(rejects('review.mark', { fileIds: [1], action: 'delete' })).toMatch(/action/);
    expect(rejects('review.thresholds', { runId: 1, thresholds: { gato: 1.5 } })).toMatch(/thresholds/);
    const scope = { kind: 'selection', fileIds: [1], folder: '../fora' };
    expect(rejects('export.preview', { scope, destination: '/tmp/saida', operation: 'copy' })).toMatch(/folder name, not a path/);
    expect(accepts('export.start', { scope: { kind: 'label', label: ' meme ' }, destination: '/tmp/saida', operation: 'csv' })).toEqual({
      scope: { kind: 'label', label: 'meme' },
      destination: '/tmp/saida',
      operation: 'csv',
      includeSetAside: false,
    });
    rejects('export.start', { scope: { kind: 'label', label: 'meme' }, destination: '/tmp/saida', operation: 'delete' });
    rejects('duplicates.decide', { action: 'resolve', keep: [0], trash: [1] });
    rejects('duplicates.decide', { action: 'not-duplicates', fileIds: [1] });
    expect(accepts('folders.list', {})).toEqual({ showHidden: false });
    rejects('folders.list', { path: '/home/../etc' });
    rejects('models.import', { folder: 'relativo' });
    rejects('preview.get', {});
  });

  it('the error names the op and every bad field', () => {
    const result = parseInput('index.start', { folders: ['rel'], thumbnails: 1 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(/^invalid input for index\.start/);
    expect(result.error.issues?.map((i) => i.path).sort()).toEqual(['folders.0', 'thumbnails']);
  });
});

/** Node's MessagePort as the RPC port (Electron's MessagePortMain gets the same adapter in src/main/ports.ts). */
function nodePort(port: MessagePort): PortLike {
  return {
    post: (message) => port.postMessage(message),
    subscribe(listener) {
      port.on('message', listener);
      return () => {
        port.off('message', listener);
      };
    },
  };
}

function check<K extends OpName>(op: K, value: OpOutput<K>): OpOutput<K> {
  const parsed = contract[op].output.safeParse(value);
  if (!parsed.success) throw new Error(`${op} output breaks the contract: ${parsed.error.message}`);
  return value;
}

describe('client ↔ engine round trip over a message port', () => {
  let root: string;
  let service: EngineService;
  let channel: MessageChannel;
  let transport: PortTransport;
  let client: TriagemClient;
  let photos: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-contract-'));
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    photos = path.join(root, 'fotos');
    await writePhoto(path.join(photos, 'vermelha.jpg'), 'red', 1);
    await writePhoto(path.join(photos, 'verde.png'), 'green', 2);
    await writePhoto(path.join(photos, 'azul.jpg'), 'blue', 3);
    service = createEngineService({ libraryPath: path.join(root, 'lib', 'library.sqlite'), modelsDir, device: 'cpu', threads: 1, checkOutputs: true });
    channel = new MessageChannel();
    servePort(service, nodePort(channel.port1));
    transport = portTransport(nodePort(channel.port2));
    client = createClient(transport);
  });

  afterAll(async () => {
    transport?.close();
    channel?.port1.close();
    channel?.port2.close();
    await service?.close();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('answers with outputs that satisfy the contract', async () => {
    const opened = check('library.open', await client.invoke('library.open', {}));
    expect(opened).toMatchObject({ files: 0, contents: 0, models: [] });
    const models = check('models.list', await client.invoke('models.list', {}));
    const colour = models.models.find((m) => m.id === 'colour');
    expect(colour).toMatchObject({ installed: true, inCatalog: false, family: 'clip' });
    expect(colour?.error).toBeUndefined();
  });

  it('turns bad input into a typed error, never reaching a handler', async () => {
    const err = await client.invoke('index.start', { folders: ['relative/fotos'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TriagemClientError);
    expect((err as TriagemClientError).code).toBe(INVALID_INPUT);
    expect((err as TriagemClientError).issues?.[0].path).toBe('folders.0');
    // The raw form (what Electron main forwards) is validated again on the engine side.
    const raw = await transport.invokeRaw('search.text', { query: 7 });
    expect(raw.ok).toBe(false);
    if (!raw.ok) expect(raw.error.code).toBe(INVALID_INPUT);
  });

  it('streams typed progress events while an index job runs, then answers with its summary', async () => {
    const seen: EventPayload<'index.progress'>[] = [];
    const off = client.on('index.progress', (p) => seen.push(p));
    const summary = check('index.start', await client.invoke('index.start', { folders: [photos], model: 'colour' }));
    off();
    expect(summary).toMatchObject({ cancelled: false, indexed: 3, failed: [] });
    expect(summary.modelKey).toMatch(/^colour:/);
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) {
      expect(events['index.progress'].safeParse(p).success).toBe(true);
      expect(p.jobId).toBe(summary.jobId);
    }
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ phase: 'index', done: 3, total: 3 });
  });

  it('keeps answers paired with their requests when they finish out of order', async () => {
    const [models, sorted, cancelled, missing] = await Promise.allSettled([
      client.invoke('models.list', {}),
      client.invoke('sort.run', { labels: ['vermelho', 'verde', 'azul'] }),
      client.invoke('index.cancel', {}),
      client.invoke('thumbnail.get', { sha256: 'f'.repeat(64) }),
    ]);
    expect(models.status === 'fulfilled' && check('models.list', models.value).modelsDir).toBeTruthy();
    expect(cancelled).toEqual({ status: 'fulfilled', value: { cancelled: false } });
    expect(sorted.status).toBe('fulfilled');
    if (sorted.status === 'fulfilled') {
      check('sort.run', sorted.value);
      expect(sorted.value.counts).toEqual({ vermelho: 1, verde: 1, azul: 1 });
      const red = sorted.value.results.find((r) => r.name === 'vermelha.jpg');
      expect(red?.label).toBe('vermelho');
    }
    expect(missing.status).toBe('rejected');
    if (missing.status === 'rejected') expect((missing.reason as TriagemClientError).code).toBe('not-found');
  });

  it('cancels a running index job', async () => {
    const more = path.join(root, 'mais');
    for (let i = 0; i < 6; i++) await writePhoto(path.join(more, `foto-${i}.jpg`), i % 2 ? 'yellow' : 'purple', 100 + i);
    const started = client.invoke('index.start', { folders: [more], model: 'colour' });
    // Requests are handled in order: the job exists by the time the next ones arrive.
    await expect(client.invoke('index.start', { folders: [more] })).rejects.toMatchObject({ code: 'busy' });
    await expect(client.invoke('library.open', { path: path.join(root, 'outra.sqlite') })).rejects.toMatchObject({ code: 'busy' });
    const cancel = await client.invoke('index.cancel', {});
    expect(cancel).toEqual({ cancelled: true });
    const summary = check('index.start', await started);
    expect(summary.cancelled).toBe(true);
    expect(await client.invoke('index.cancel', { jobId: summary.jobId })).toEqual({ cancelled: false });
  });

  it('exports the last sort run into label folders and undoes it from the journal', async () => {
    await client.invoke('sort.run', { labels: ['vermelho', 'verde', 'azul'] });
    const destination = path.join(root, 'separadas');
    const exported = check('export.run', await client.invoke('export.run', { destination, operation: 'copy' }));
    expect(exported).toMatchObject({ destination, operation: 'copy', done: 3, failed: [] });
    expect(fs.existsSync(path.join(destination, 'vermelho', 'vermelha.jpg'))).toBe(true);
    expect(fs.existsSync(path.join(photos, 'vermelha.jpg'))).toBe(true);
    expect(fs.readFileSync(exported.csv, 'utf8')).toMatch(/^image_name,label,score/);
    expect(exported.journal).not.toBeNull();

    const undone = check('export.undo', await client.invoke('export.undo', { journal: exported.journal ?? '' }));
    expect(undone).toMatchObject({ operation: 'copy', undone: 3, problems: [] });
    expect(fs.existsSync(path.join(destination, 'vermelho', 'vermelha.jpg'))).toBe(false);
    expect(fs.existsSync(path.join(photos, 'vermelha.jpg'))).toBe(true);

    const csvOnly = check('export.run', await client.invoke('export.run', { destination, operation: 'none' }));
    expect(csvOnly).toMatchObject({ journal: null, done: 0 });
    expect(path.basename(csvOnly.csv)).toBe('triagem-results.csv');
  });

  it('switches libraries', async () => {
    const other = check('library.open', await client.invoke('library.open', { path: path.join(root, 'outra', 'biblioteca.sqlite') }));
    expect(other).toMatchObject({ path: path.join(root, 'outra', 'biblioteca.sqlite'), files: 0, models: [] });
    const back = check('library.open', await client.invoke('library.open', { path: path.join(root, 'lib', 'library.sqlite') }));
    expect(back.files).toBeGreaterThanOrEqual(3);
    expect(back.models[0].key).toMatch(/^colour:/);
  });

  it('settles pending requests when the engine side goes away', async () => {
    const lonely = new MessageChannel();
    const orphan = portTransport(nodePort(lonely.port2));
    const pending = orphan.invoke('models.list', {});
    orphan.failAll({ code: 'engine-exited', message: 'gone' });
    await expect(pending).resolves.toEqual({ ok: false, error: { code: 'engine-exited', message: 'gone' } });
    orphan.close();
    lonely.port1.close();
    lonely.port2.close();
  });
});
