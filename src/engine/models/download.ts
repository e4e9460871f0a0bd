import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { TriagemError, errorMessage } from '../errors.js';
import { hashFileInto } from '../util/hash.js';
import type { CatalogFile } from './catalog.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** `TRIAGEM_HF_ENDPOINT` (tests point it at a loopback mock), else the public Hub. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.TRIAGEM_HF_ENDPOINT || DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
}

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const encodedPath = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
}

/** What the Hub says about a file before its bytes arrive. */
export interface RemoteInfo {
  size?: number;
  /** From X-Linked-Etag (LFS) or a 64-hex ETag. */
  sha256?: string;
  /** Git blob SHA-1 from the ETag of a small non-LFS file. */
  gitSha1?: string;
}

export interface DownloadOptions {
  endpoint: string;
  repo: string;
  revision: string;
  file: CatalogFile;
  /** Where the verified file ends up. */
  dest: string;
  /** Bytes received so far; kept between attempts and between runs so a new run resumes. */
  partPath: string;
  signal?: AbortSignal;
  /** Attempts after the first one, for network errors, 5xx and 429 only. */
  retries?: number;
  retryDelayMs?: number;
  /** An attempt that receives nothing for this long is dropped and retried. */
  idleTimeoutMs?: number;
  /** Called with the file's size once known, and with bytes on disk after every chunk. */
  onProgress?: (fileBytes: number, fileSize: number | undefined, newBytes: number) => void;
}

export interface DownloadedFile {
  path: string;
  size: number;
  sha256: string;
}

/** A failure worth another attempt: the next one resumes from the part file. */
class RetryableError extends Error {
  override name = 'RetryableError';
}

const SHA256_RE = /^[0-9a-f]{64}$/;
const SHA1_RE = /^[0-9a-f]{40}$/;

function unquoteEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

function intHeader(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** Hub headers → size and checksums. LFS answers carry X-Linked-*, small files only a git-blob ETag. */
export function remoteInfoFromHeaders(headers: Headers, fromRedirect: boolean): RemoteInfo {
  const info: RemoteInfo = {};
  const linkedEtag = unquoteEtag(headers.get('x-linked-etag'));
  const etag = unquoteEtag(headers.get('etag'));
  if (linkedEtag && SHA256_RE.test(linkedEtag)) info.sha256 = linkedEtag;
  else if (etag && SHA256_RE.test(etag)) info.sha256 = etag;
  else if (!fromRedirect && etag && SHA1_RE.test(etag)) info.gitSha1 = etag;
  const linkedSize = intHeader(headers.get('x-linked-size'));
  if (linkedSize !== undefined) info.size = linkedSize;
  else if (!fromRedirect) {
    const range = parseContentRange(headers.get('content-range'));
    info.size = range?.total ?? intHeader(headers.get('content-length'));
  }
  return info;
}

function parseContentRange(value: string | null): { start: number; end: number; total?: number } | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (err instanceof Error && err.name === 'AbortError' && !(err instanceof RetryableError));
}

function abortError(file: string): TriagemError {
  return new TriagemError('download interrupted; run the same command again to resume', 'aborted', file);
}

function httpError(status: number, url: string, file: string): Error {
  if (status === 404) return new TriagemError(`not found on the model hub (HTTP 404): ${url}`, 'not-found', file);
  if (status === 401 || status === 403) {
    return new TriagemError(`the model hub refused access (HTTP ${status}); the repository may be gated or private: ${url}`, 'forbidden', file);
  }
  if (status === 429 || status >= 500) return new RetryableError(`HTTP ${status} from ${url}`);
  return new TriagemError(`unexpected HTTP ${status} from ${url}`, 'http-error', file);
}

/** Network-level failures (reset, refused, closed early) are worth retrying; everything else is not. */
function classify(err: unknown): Error {
  if (err instanceof TriagemError || err instanceof RetryableError) return err;
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code ?? ((err.cause as NodeJS.ErrnoException | undefined)?.code ?? '');
    const network =
      err.name === 'TypeError' ||
      /^(ECONN|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR)/.test(code) ||
      /terminated|premature close|socket|other side closed/i.test(err.message);
    if (network) return new RetryableError(`${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The body is not needed; a failure to cancel it changes nothing.
  }
}

/**
 * GETs a resolve URL without following the LFS redirect (its headers carry the checksum). Same-origin
 * redirects without X-Linked-* (a renamed repository) are followed by hand, a few hops at most.
 */
async function fetchResolve(url: string, signal: AbortSignal | undefined, headers: Record<string, string>): Promise<{ res: Response; url: string }> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, { redirect: 'manual', signal, headers });
    if (res.status < 300 || res.status >= 400) return { res, url: current };
    const location = res.headers.get('location');
    const linked = res.headers.has('x-linked-etag') || res.headers.has('x-linked-size');
    if (linked || !location || hop >= 5) return { res, url: current };
    const next = new URL(location, current);
    if (next.origin !== new URL(current).origin) return { res, url: current };
    await discard(res);
    current = next.toString();
  }
}

/**
 * Asks the Hub for a file's size and checksums without downloading LFS content: the resolve URL
 * answers LFS files with a 302 whose headers carry them. Small files answer 200 with the body, which
 * is dropped unread.
 */
export async function probeFile(endpoint: string, repo: string, revision: string, file: string, signal?: AbortSignal): Promise<RemoteInfo> {
  const url = resolveUrl(endpoint, repo, revision, file);
  let res: Response;
  // A probe that hangs would stall the whole download before it starts.
  const probeSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000);
  try {
    ({ res } = await fetchResolve(url, probeSignal, { 'Accept-Encoding': 'identity' }));
  } catch (err) {
    if (signal?.aborted) throw abortError(file);
    throw new TriagemError(`cannot reach the model hub: ${errorMessage(classify(err))}`, 'network', file);
  }
  await discard(res);
  if (res.status >= 300 && res.status < 400) return remoteInfoFromHeaders(res.headers, true);
  if (res.ok) return remoteInfoFromHeaders(res.headers, false);
  const err = httpError(res.status, url, file);
  throw err instanceof TriagemError ? err : new TriagemError(err.message, 'http-error', file);
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await fsp.stat(p)).size;
  } catch {
    return 0;
  }
}

/** The id git gives a blob: SHA-1 over "blob <size>\0" + content. The Hub's ETag for small files. */
export async function gitBlobSha1File(p: string): Promise<string> {
  const size = (await fsp.stat(p)).size;
  const hash = crypto.createHash('sha1').update(`blob ${size}\0`);
  return (await hashFileInto(p, hash)).digest('hex');
}

interface Attempt {
  /** Response whose body is the file (or its tail from `have`). */
  body: Response | null;
  info: RemoteInfo;
  /** Bytes of the part file that the body continues; 0 means the body starts the file afresh. */
  offset: number;
}

/**
 * Resolves the file and opens its body, asking for the missing tail when a part file exists.
 * The 302 is read by hand so its X-Linked-* headers are not lost to the redirect.
 */
async function openBody(opts: DownloadOptions, have: number, expectedSize: number | undefined, signal: AbortSignal): Promise<Attempt> {
  // identity: a compressed body would break byte ranges, sizes and the hash of what lands on disk.
  const rangeHeaders: Record<string, string> = { 'Accept-Encoding': 'identity', ...(have > 0 ? { Range: `bytes=${have}-` } : {}) };
  const resolved = await fetchResolve(resolveUrl(opts.endpoint, opts.repo, opts.revision, opts.file.path), signal, rangeHeaders);
  const { url } = resolved;
  const first = resolved.res;
  let res = first;
  let info: RemoteInfo;
  if (first.status >= 300 && first.status < 400) {
    info = remoteInfoFromHeaders(first.headers, true);
    const location = first.headers.get('location');
    await discard(first);
    // Checked before following the redirect, so a changed repository costs no download.
    checkAgainstPin(opts.file, info);
    if (!location) throw new TriagemError(`redirect without a Location header from ${url}`, 'http-error', opts.file.path);
    const size = expectedSize ?? info.size;
    if (size !== undefined && have === size) return { body: null, info, offset: have };
    res = await fetch(new URL(location, url), { redirect: 'follow', signal, headers: rangeHeaders });
  } else if (first.ok) {
    info = remoteInfoFromHeaders(first.headers, false);
  } else {
    await discard(first);
    throw httpError(first.status, url, opts.file.path);
  }

  if (res.status === 206) {
    const range = parseContentRange(res.headers.get('content-range'));
    if (!range || range.start !== have) {
      // A range we did not ask for cannot be appended; start over.
      await discard(res);
      await fsp.rm(opts.partPath, { force: true });
      throw new RetryableError(`unexpected Content-Range "${res.headers.get('content-range')}"`);
    }
    if (info.size === undefined && range.total !== undefined) info.size = range.total;
    return { body: res, info, offset: have };
  }
  if (res.status === 416) {
    await discard(res);
    const size = expectedSize ?? info.size;
    if (size !== undefined && have >= size) return { body: null, info, offset: have };
    throw new RetryableError('server refused the resume range');
  }
  if (res.ok) {
    // Plain 200: the server ignored Range (or there was none), so the part is rewritten from byte 0.
    if (info.size === undefined) info.size = intHeader(res.headers.get('content-length'));
    return { body: res, info, offset: 0 };
  }
  await discard(res);
  throw httpError(res.status, String(res.url || url), opts.file.path);
}

function checkAgainstPin(file: CatalogFile, info: RemoteInfo): void {
  if (file.sha256 && info.sha256 && file.sha256 !== info.sha256) {
    throw new TriagemError(
      `the model hub lists different content than the catalog pins (expected sha256 ${file.sha256}, hub says ${info.sha256})`,
      'checksum-mismatch',
      file.path,
    );
  }
  if (file.size !== undefined && info.size !== undefined && file.size !== info.size) {
    throw new TriagemError(`the model hub lists ${info.size} bytes, the catalog pins ${file.size}`, 'size-mismatch', file.path);
  }
}

async function oneAttempt(opts: DownloadOptions, signal: AbortSignal, idleTimeoutMs: number): Promise<DownloadedFile> {
  const { file, partPath } = opts;
  let have = await fileSize(partPath);
  if (file.size !== undefined && have > file.size) {
    await fsp.rm(partPath, { force: true });
    have = 0;
  }

  const idle = new AbortController();
  const combined = AbortSignal.any([signal, idle.signal]);
  // One watchdog per attempt rather than a timer re-armed per chunk: the stream's hot loop only
  // records a timestamp.
  let lastData = performance.now();
  const armIdle = () => {
    lastData = performance.now();
  };
  const timer = setInterval(() => {
    if (performance.now() - lastData > idleTimeoutMs) idle.abort(new RetryableError(`no data for ${Math.round(idleTimeoutMs / 1000)} s`));
  }, Math.min(1000, idleTimeoutMs));
  timer.unref();

  try {
    // The kept bytes are hashed before the connection opens, so a slow disk cannot stall the stream.
    let hash = have > 0 ? await hashFileInto(partPath, crypto.createHash('sha256')) : crypto.createHash('sha256');
    armIdle();
    const attempt = await openBody(opts, have, file.size, combined);
    checkAgainstPin(file, attempt.info);
    const size = file.size ?? attempt.info.size;
    if (attempt.offset === 0 && have > 0) hash = crypto.createHash('sha256');
    let onDisk = attempt.offset;
    opts.onProgress?.(onDisk, size, 0);

    if (attempt.body && !attempt.body.body) {
      await fsp.writeFile(partPath, new Uint8Array(0), { flag: attempt.offset > 0 ? 'a' : 'w' });
    } else if (attempt.body?.body) {
      const source = Readable.fromWeb(attempt.body.body as unknown as NodeReadableStream<Uint8Array>);
      const sink = fs.createWriteStream(partPath, { flags: attempt.offset > 0 ? 'a' : 'w' });
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            armIdle();
            hash.update(chunk);
            onDisk += chunk.length;
            if (size !== undefined && onDisk > size) {
              throw new TriagemError(`the model hub sent more than the expected ${size} bytes`, 'size-mismatch', file.path);
            }
            opts.onProgress?.(onDisk, size, chunk.length);
            yield chunk;
          }
        },
        sink,
        { signal: combined },
      );
    }
    clearInterval(timer);

    if (size !== undefined && onDisk < size) {
      // The body ended cleanly but short: treat it as a dropped connection and resume.
      throw new RetryableError(`connection closed after ${onDisk} of ${size} bytes`);
    }
    const actualSha256 = hash.digest('hex');
    await verifyPart(opts, attempt.info, onDisk, actualSha256);
    await fsp.mkdir(path.dirname(opts.dest), { recursive: true });
    await fsp.rename(partPath, opts.dest);
    return { path: file.path, size: onDisk, sha256: actualSha256 };
  } catch (err) {
    if (idle.signal.aborted && !signal.aborted) throw idle.signal.reason as Error;
    // Too many bytes means the part is not a prefix of the file: it cannot be resumed.
    if (err instanceof TriagemError && err.code === 'size-mismatch') await fsp.rm(partPath, { force: true });
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** Size and content checks: the catalog pin wins, else the Hub's headers. A bad part is deleted. */
async function verifyPart(opts: DownloadOptions, info: RemoteInfo, size: number, sha256: string): Promise<void> {
  const { file, partPath } = opts;
  const fail = async (what: string, expected: string, actual: string): Promise<never> => {
    await fsp.rm(partPath, { force: true });
    throw new TriagemError(`${what} mismatch after download: expected ${expected}, got ${actual}; the partial file was deleted`, 'checksum-mismatch', file.path);
  };
  const expectedSize = file.size ?? info.size;
  if (expectedSize !== undefined && size !== expectedSize) await fail('size', `${expectedSize} bytes`, `${size} bytes`);
  const expectedSha256 = file.sha256 ?? info.sha256;
  if (expectedSha256) {
    if (sha256 !== expectedSha256) await fail('sha256', expectedSha256, sha256);
    return;
  }
  if (info.gitSha1) {
    const actual = await gitBlobSha1File(partPath);
    if (actual !== info.gitSha1) await fail('git blob SHA-1', info.gitSha1, actual);
    return;
  }
  await fsp.rm(partPath, { force: true });
  throw new TriagemError('neither the catalog nor the model hub gives a checksum, so the download cannot be verified', 'unverifiable', file.path);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Downloads one file of a pinned repository revision to `dest`, resuming from `partPath`, hashing
 * while it streams, and verifying size and checksum before the file takes its final name.
 */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadedFile> {
  const retries = opts.retries ?? 4;
  const baseDelay = opts.retryDelayMs ?? 1000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
  const signal = opts.signal ?? new AbortController().signal;
  await fsp.mkdir(path.dirname(opts.partPath), { recursive: true });
  let lastError: Error | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (signal.aborted) throw abortError(opts.file.path);
    try {
      return await oneAttempt(opts, signal, idleTimeoutMs);
    } catch (err) {
      if (isAbort(err, signal)) throw abortError(opts.file.path);
      const classified = classify(err);
      if (!(classified instanceof RetryableError)) throw classified;
      lastError = classified;
      if (attempt < retries) {
        try {
          await sleep(Math.min(baseDelay * 2 ** attempt, 30_000), signal);
        } catch {
          throw abortError(opts.file.path);
        }
      }
    }
  }
  throw new TriagemError(
    `download failed after ${retries + 1} attempt${retries === 0 ? '' : 's'}: ${lastError?.message ?? 'unknown error'}; run the same command again to resume`,
    'network',
    opts.file.path,
  );
}
