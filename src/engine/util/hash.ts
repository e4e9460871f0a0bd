import { createHash, type Hash } from 'node:crypto';
import fsp from 'node:fs/promises';

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
