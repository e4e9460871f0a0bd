import sharp from 'sharp';
import { sniffFormat, type SniffedFormat } from './open.js';

export type ImageFormat = Exclude<SniffedFormat, 'unknown'>;

/** Extensions a user expects to be treated as images; the file's bytes still decide the format. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, ImageFormat>> = {
  jpg: 'jpeg',
  jpeg: 'jpeg',
  jpe: 'jpeg',
  jfif: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  bmp: 'bmp',
  dib: 'bmp',
  tif: 'tiff',
  tiff: 'tiff',
  avif: 'avif',
  heic: 'heic',
  heif: 'heic',
  hif: 'heic',
};

// Camera RAW files are TIFF containers: libtiff would happily "decode" their tiny embedded preview
// or the undemosaiced sensor data, and either would give a misleading embedding.
const RAW_EXTENSIONS = new Set(['dng', 'cr2', 'cr3', 'crw', 'nef', 'nrw', 'arw', 'srf', 'sr2', 'orf', 'rw2', 'raf', 'pef', 'srw', 'x3f', '3fr', 'erf', 'kdc', 'mrw', 'iiq', 'rwl', 'raw']);

/** Bytes needed to recognise any supported format. */
export const SNIFF_BYTES = 64;

export const HEIC_SUPPORTED: boolean = (() => {
  const heif = sharp.format.heif as { input?: { fileSuffix?: string[] } };
  return Boolean(heif.input?.fileSuffix?.some((s) => s === '.heic' || s === '.heif'));
})();

export type FileVerdict =
  | { kind: 'image'; format: ImageFormat }
  | { kind: 'skip'; reason: string }
  | { kind: 'fail'; reason: string };

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

export function isImageExtension(ext: string): boolean {
  return Object.hasOwn(IMAGE_EXTENSIONS, ext);
}

// "BM" alone starts plenty of text files; a real BMP has a known DIB header size at byte 14.
function plausibleBmp(head: Uint8Array): boolean {
  if (head.length < 18) return false;
  const dib = head[14] | (head[15] << 8) | (head[16] << 16) | (head[17] << 24);
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(dib);
}

/**
 * Whether a file is an image we index, decided by its first bytes; the extension only decides
 * whether unrecognised bytes are an error (a broken ".jpg") or simply not an image (a ".txt").
 */
export function classifyFile(ext: string, head: Uint8Array): FileVerdict {
  if (RAW_EXTENSIONS.has(ext)) return { kind: 'skip', reason: 'camera RAW files are not supported' };
  const claimed = isImageExtension(ext);
  let format = sniffFormat(head);
  if (format === 'bmp' && !claimed && !plausibleBmp(head)) format = 'unknown';
  if (format === 'unknown') {
    if (!claimed) return { kind: 'skip', reason: 'not an image' };
    if (head.length === 0) return { kind: 'fail', reason: 'empty file (0 bytes)' };
    return { kind: 'fail', reason: `not a valid image: the content is not ${ext.toUpperCase()} or any supported format` };
  }
  if (format === 'heic' && !HEIC_SUPPORTED) {
    return { kind: 'fail', reason: 'HEIC is not supported by this build (convert it to JPEG first)' };
  }
  return { kind: 'image', format };
}

/** Why a file could not be read, in words a user can act on. */
export function readErrorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'file not found (moved or deleted while indexing)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    case 'EIO':
      return 'input/output error while reading (damaged disk or disconnected drive?)';
    case 'ETOOBIG':
      return e.message;
    case 'ELOOP':
      return 'too many levels of symbolic links';
    default:
      return `cannot read file: ${e?.message ?? String(err)}`;
  }
}
