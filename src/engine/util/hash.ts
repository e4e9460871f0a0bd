import { createHash, type Hash } from 'node:crypto';
import fsp from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

// Content identity everywhere in Triagem (library contents, model manifests, export journals) is the
// lowercase hex sha256 of the bytes. These are the only places that compute it.

/** 1 MiB reads: few libuv round trips per file without holding much memory. */
const CHUNK = 1 << 20;

/** sha256 of bytes already in memory. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Feeds an open file, from its first byte, into `hash` and returns it (undigested). */
export async function hashHandleInto<H extends Hash>(handle: fsp.FileHandle, hash: H): Promise<H> {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let pos = 0; ; ) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash;
}

/** Feeds a whole file into `hash` and returns it (undigested), e.g. to continue hashing a resumed download. */
export async function hashFileInto<H extends Hash>(file: string, hash: H): Promise<H> {
  const handle = await fsp.open(file, 'r');
  try {
    return await hashHandleInto(handle, hash);
  } finally {
    await handle.close();
  }
}

/** sha256 of an open file's bytes (read from position 0, whatever the handle's current offset). */
export async function sha256Handle(handle: fsp.FileHandle): Promise<string> {
  return (await hashHandleInto(handle, createHash('sha256'))).digest('hex');
}

/** sha256 of a file's bytes. */
export async function sha256File(file: string): Promise<string> {
  return (await hashFileInto(file, createHash('sha256'))).digest('hex');
}

/**
 * From this size up, `sha256Bytes` hashes on a worker thread. onnxruntime-node runs a whole batch of
 * inference on the JS thread, so a hash there delays the next batch by its full cost: 2.8 core-ms for a
 * 4.4 MB 12-MP JPEG (bench index, stage profile). Below 1 MiB the hash costs under 0.5 ms, less than a
 * second trip through the event loop, which waits out a batch of inference when one is running.
 * (`crypto.subtle.digest` is no substitute: Node copies the input on the JS thread first, which cost
 * as much as hashing it, measured on Node 20.)
 */
export const OFF_THREAD_HASH_BYTES = 1 << 20;

// A script, not a module file, so the same code runs under tsx, in the bundled CLI and in Electron
// without a second entry point to ship. The buffer comes in transferred and goes back the same way.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  let sha256 = null;
  let error = null;
  try {
    sha256 = createHash('sha256').update(new Uint8Array(m.buffer, m.offset, m.length)).digest('hex');
  } catch (err) {
    error = String(err && err.message || err);
  }
  parentPort.postMessage({ id: m.id, sha256, error, buffer: m.buffer }, [m.buffer]);
});
`;

interface HashReply {
  id: number;
  sha256: string | null;
  error: string | null;
  buffer: ArrayBuffer;
}

interface PendingHash {
  offset: number;
  length: number;
  resolve: (r: { sha256: string; data: Buffer }) => void;
  reject: (err: Error) => void;
}

/** One worker thread for the process, made on first use; it never keeps the process alive. */
class HashThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingHash>();
  private nextId = 0;
  dead = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: HashReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      const data = Buffer.from(m.buffer, p.offset, p.length);
      if (m.sha256 === null) p.reject(new Error(`sha256 worker: ${m.error}`));
      else p.resolve({ sha256: m.sha256, data });
    });
    const fail = (err: Error) => {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`sha256 worker exited with code ${code}`)));
  }

  digest(data: Buffer): Promise<{ sha256: string; data: Buffer }> {
    const id = this.nextId++;
    const buffer = data.buffer as ArrayBuffer;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { offset: data.byteOffset, length: data.length, resolve, reject });
      // Referenced while a hash is out, so a job's last await cannot be dropped by an idle exit.
      this.worker.ref();
      this.worker.postMessage({ id, buffer, offset: data.byteOffset, length: data.length }, [buffer]);
    });
  }
}

let hashThread: HashThread | undefined;

/**
 * sha256 of bytes in memory, off the JS thread when they are large (OFF_THREAD_HASH_BYTES). The
 * memory is lent to a worker thread and given back, not copied: `data` is unusable (detached) until
 * this settles, and the bytes come back as the returned `data`. The caller must own `data.buffer`
 * outright (a buffer of its own, not a slice of someone else's), as a file read into a fresh buffer is.
 * Small buffers, shared memory, or a worker that cannot start are hashed in place, on this thread.
 */
export async function sha256Bytes(data: Buffer): Promise<{ sha256: string; data: Buffer }> {
  if (data.length < OFF_THREAD_HASH_BYTES || !(data.buffer instanceof ArrayBuffer)) return { sha256: sha256Hex(data), data };
  if (!hashThread || hashThread.dead) {
    try {
      hashThread = new HashThread();
    } catch {
      return { sha256: sha256Hex(data), data };
    }
  }
  return hashThread.digest(data);
}
