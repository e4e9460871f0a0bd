import fs from 'node:fs/promises';

export interface FileBytes {
  data: Buffer;
  /** Bytes actually read; mtime from the scan, or from the open handle when the file grew since. */
  size: number;
  mtimeMs: number;
}

// Files are opened read-only and never written: indexing must leave a user's originals untouched.

/**
 * The whole file in one buffer, in two round trips through libuv (open, one read of the size the
 * scan saw; the close is not waited for). Each round trip waits for the event loop, which ONNX
 * Runtime holds while it runs a batch, so fewer hops keep files flowing to the decoders during
 * inference. One extra byte is asked for to notice a file that grew since the scan.
 */
export async function readWholeFile(filePath: string, expectedSize: number, mtimeMs: number, maxBytes: number): Promise<FileBytes> {
  const tooBig = () => Object.assign(new Error(`file is larger than ${Math.round(maxBytes / 2 ** 20)} MiB`), { code: 'ETOOBIG' });
  if (expectedSize > maxBytes) throw tooBig();
  const fh = await fs.open(filePath, 'r');
  try {
    let data = Buffer.allocUnsafe(expectedSize + 1);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(data, size, data.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
      if (size < data.length) continue;
      // Grew since the scan: size it again from the open handle.
      const st = await fh.stat();
      if (st.size > maxBytes) throw tooBig();
      const bigger = Buffer.allocUnsafe(Math.max(st.size, size) + 1);
      data.copy(bigger, 0, 0, size);
      data = bigger;
      mtimeMs = Math.trunc(st.mtimeMs);
    }
    return { data: data.subarray(0, size), size, mtimeMs };
  } finally {
    fh.close().catch(() => undefined);
  }
}

/** The first `n` bytes (fewer if the file is shorter), to recognise a format without reading it all. */
export async function readHead(filePath: string, n: number): Promise<Buffer> {
  const fh = await fs.open(filePath, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    fh.close().catch(() => undefined);
  }
}
