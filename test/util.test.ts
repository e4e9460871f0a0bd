// The engine's shared helpers: one rate meter, one sha256, one exists/isInside, one format for sizes and durations.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from '../src/shared/format.js';
import { exists, isErrno, isInside, isInsideReal, realPathOrAncestor } from '../src/engine/util/fs.js';
import { hashFileInto, OFF_THREAD_HASH_BYTES, sha256Bytes, sha256File, sha256Handle, sha256Hex } from '../src/engine/util/hash.js';
import { RateMeter } from '../src/engine/util/rate.js';

const roots: string[] = [];
function tmp(): string {
  // Real path: macOS and some CI put tmpdir behind a link, which would blur the link tests.
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-util-')));
  roots.push(dir);
  return dir;
}
afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

describe('RateMeter', () => {
  it('gives units per second over its window, from a running total or increments', () => {
    let t = 0;
    const m = new RateMeter({ windowMs: 10_000, now: () => t });
    expect(m.rate()).toBe(0);
    expect(m.eta(100)).toBeNull();
    m.record(0);
    t = 2000;
    m.record(10);
    expect(m.rate()).toBe(5);
    expect(m.eta(100)).toBe(20);
    t = 4000;
    m.add(30);
    expect(m.total).toBe(40);
    expect(m.rate()).toBe(10);
    expect(m.eta(-5)).toBe(0);
  });

  it('follows the current pace once old samples leave the window, keeping one baseline sample', () => {
    let t = 0;
    const m = new RateMeter({ windowMs: 5000, now: () => t });
    // 100/s for 10 s, then 10/s.
    for (let s = 0; s <= 10; s++) {
      t = s * 1000;
      m.record(s * 100);
    }
    expect(m.rate()).toBeCloseTo(100, 6);
    for (let s = 11; s <= 30; s++) {
      t = s * 1000;
      m.record(1000 + (s - 10) * 10);
    }
    // The baseline is the newest sample at or just past the window's start: at most one step older.
    expect(m.rate()).toBeCloseTo(10, 6);
  });

  it('is 0 when no time has passed between samples', () => {
    const m = new RateMeter({ now: () => 7 });
    m.record(1);
    m.record(5);
    expect(m.rate()).toBe(0);
  });
});

describe('isInside', () => {
  it.each([
    ['/a/b', '/a/b', true],
    ['/a/b/c/d.jpg', '/a/b', true],
    ['/a/b/', '/a/b', true],
    ['/a/bc', '/a/b', false],
    ['/a/bc/d', '/a/b', false],
    ['/a', '/a/b', false],
    ['/a/b/../c', '/a/b', false],
    ['/a/b/./c/../d', '/a/b', true],
    ['/a/b/..foo', '/a/b', true],
    ['/x/y', '/', true],
  ])('%s inside %s → %s', (inner, outer, expected) => {
    expect(isInside(inner, outer)).toBe(expected);
  });

  it('resolves relative paths against the working folder', () => {
    expect(isInside('sub/file', '.')).toBe(true);
    expect(isInside('..', '.')).toBe(false);
  });
});

describe('isInsideReal and realPathOrAncestor', () => {
  it('follows links: a link under the folder that points outside is outside, and one from outside that points in is inside', async () => {
    const root = tmp();
    const src = path.join(root, 'src');
    const elsewhere = path.join(root, 'private');
    fs.mkdirSync(src);
    fs.mkdirSync(elsewhere);
    fs.writeFileSync(path.join(elsewhere, 'secret.jpg'), 'x');
    fs.symlinkSync(elsewhere, path.join(src, 'link-out'));
    fs.symlinkSync(src, path.join(root, 'alias-of-src'));

    const viaLink = path.join(src, 'link-out', 'secret.jpg');
    expect(isInside(viaLink, src)).toBe(true);
    expect(await isInsideReal(viaLink, src)).toBe(false);
    expect(await isInsideReal(path.join(root, 'alias-of-src', 'a.jpg'), src)).toBe(true);
    expect(await isInsideReal(path.join(src, 'new', 'deeper', 'file.jpg'), path.join(root, 'alias-of-src'))).toBe(true);
    // A sibling whose name merely starts with the folder's name.
    fs.mkdirSync(path.join(root, 'srcx'));
    expect(await isInsideReal(path.join(root, 'srcx', 'f'), src)).toBe(false);
  });

  it('places a path that does not exist yet under the real path of its deepest existing folder', async () => {
    const root = tmp();
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync(path.join(root, 'real'), path.join(root, 'link'));
    expect(await realPathOrAncestor(path.join(root, 'link', 'a', 'b.jpg'))).toBe(path.join(root, 'real', 'a', 'b.jpg'));
    expect(await realPathOrAncestor(path.join(root, 'link'))).toBe(path.join(root, 'real'));
  });
});

describe('exists', () => {
  it('sees files, folders and dangling links; says false only when nothing is there', async () => {
    const root = tmp();
    fs.writeFileSync(path.join(root, 'f'), '');
    fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'dangling'));
    expect(await exists(path.join(root, 'f'))).toBe(true);
    expect(await exists(root)).toBe(true);
    expect(await exists(path.join(root, 'dangling'))).toBe(true);
    expect(await exists(path.join(root, 'missing'))).toBe(false);
    // A path "through" a file is not there either (ENOTDIR).
    expect(await exists(path.join(root, 'f', 'child'))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)('throws instead of answering false when it cannot look', async () => {
    const root = tmp();
    const locked = path.join(root, 'locked');
    fs.mkdirSync(locked);
    fs.chmodSync(locked, 0o000);
    try {
      await expect(exists(path.join(locked, 'x'))).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });

  it('isErrno matches system error codes only', () => {
    expect(isErrno(Object.assign(new Error('x'), { code: 'ENOENT' }), 'EEXIST', 'ENOENT')).toBe(true);
    expect(isErrno(new Error('ENOENT'), 'ENOENT')).toBe(false);
    expect(isErrno(undefined, 'ENOENT')).toBe(false);
  });
});

describe('sha256', () => {
  it('agrees on a known vector, for bytes, a file (larger than one read) and an open handle', async () => {
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const root = tmp();
    const file = path.join(root, 'big.bin');
    const data = Buffer.alloc(3 * (1 << 20) + 12345);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    fs.writeFileSync(file, data);
    const expected = createHash('sha256').update(data).digest('hex');
    expect(sha256Hex(data)).toBe(expected);
    expect(await sha256File(file)).toBe(expected);
    const handle = await fsp.open(file, 'r');
    try {
      await handle.read(Buffer.alloc(10), 0, 10, null); // moves the handle's own position
      expect(await sha256Handle(handle)).toBe(expected);
    } finally {
      await handle.close();
    }
  });

  it('hashFileInto continues a hash, as a resumed download does', async () => {
    const root = tmp();
    const head = path.join(root, 'head');
    fs.writeFileSync(head, 'hello ');
    const hash = await hashFileInto(head, createHash('sha256'));
    hash.update('world');
    expect(hash.digest('hex')).toBe(sha256Hex(Buffer.from('hello world')));
  });

  it('an unreadable or missing file is an error, not a hash', async () => {
    await expect(sha256File(path.join(tmp(), 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sha256Bytes hashes large buffers on a worker thread, lending the memory and giving the same bytes back', async () => {
    // A view into a buffer of its own, as the indexer's reads are (one spare byte past the end).
    const own = Buffer.allocUnsafe(OFF_THREAD_HASH_BYTES + 4097);
    for (let i = 0; i < own.length; i++) own[i] = (i * 31 + 7) & 0xff;
    const data = own.subarray(1, own.length - 1);
    const copy = Buffer.from(data);
    const pending = sha256Bytes(data);
    // Transferred, not copied: the caller's view is detached while the worker has it.
    expect(data.length).toBe(0);
    const out = await pending;
    expect(out.sha256).toBe(sha256Hex(copy));
    expect(out.data.equals(copy)).toBe(true);
    expect(out.data.byteOffset).toBe(1);

    // Many at once come back to their own callers.
    const inputs = Array.from({ length: 6 }, (_, k) => Buffer.alloc(OFF_THREAD_HASH_BYTES + k, k + 1));
    const expected = inputs.map((b) => sha256Hex(b));
    const outs = await Promise.all(inputs.map((b) => sha256Bytes(b)));
    expect(outs.map((o) => o.sha256)).toEqual(expected);
    expect(outs.map((o) => o.data.length)).toEqual(inputs.map((_, k) => OFF_THREAD_HASH_BYTES + k));
  });

  it('sha256Bytes hashes small and shared buffers in place, leaving them usable', async () => {
    const small = Buffer.from('hello world');
    const a = await sha256Bytes(small);
    expect(a).toEqual({ sha256: sha256Hex(Buffer.from('hello world')), data: small });
    expect(small.toString()).toBe('hello world');
    const shared = Buffer.from(new SharedArrayBuffer(OFF_THREAD_HASH_BYTES + 1));
    shared.fill(9);
    const pending = sha256Bytes(shared);
    expect(shared.length).toBe(OFF_THREAD_HASH_BYTES + 1);
    expect((await pending).sha256).toBe(sha256Hex(Buffer.alloc(OFF_THREAD_HASH_BYTES + 1, 9)));
  });
});

describe('formatBytes and formatDuration', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [512.4, '512 B'],
    [1536, '1.5 KB'],
    [350.2 * 2 ** 20, '350.2 MB'],
    [1.25 * 2 ** 30, '1.25 GB'],
    [Number.NaN, '?'],
  ])('%s bytes → %s', (n, s) => expect(formatBytes(n)).toBe(s));

  it.each([
    [0, '0s'],
    [12.4, '12s'],
    [59.6, '1m 00s'],
    [185, '3m 05s'],
    [3600, '1h 00m'],
    [3960, '1h 06m'],
    [-3, '0s'],
    [Number.POSITIVE_INFINITY, '?'],
  ])('%s s → %s', (n, s) => expect(formatDuration(n)).toBe(s));
});
