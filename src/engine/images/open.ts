import sharp, { type Sharp } from 'sharp';
import { decode as decodeBmp } from 'bmp-ts';
import { TriagemError, errorMessage } from '../errors.js';

// One image op at a time per pipeline: parallelism comes from running several pipelines at once in
// libuv's pool, which keeps the cores free for ONNX Runtime instead of oversubscribing them.
sharp.concurrency(1);

/** Formats recognised from the file's first bytes, independent of its extension. */
export type SniffedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp' | 'tiff' | 'avif' | 'heic' | 'unknown';

export function sniffFormat(head: Uint8Array): SniffedFormat {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && ascii(b, 0, 4) === 'GIF8') return 'gif';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'avif';
    // Generic HEIF brands (mif1/msf1) also head AVIF files; their compatible brands tell them apart.
    if ((brand === 'mif1' || brand === 'msf1') && /avi[fs]/.test(ascii(b, 16, Math.min(b.length, 64)))) return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic';
  }
  return 'unknown';
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, to));
}

const heicSupported = (() => {
  const heif = sharp.format.heif as { input?: { fileSuffix?: string[] } };
  return Boolean(heif.input?.fileSuffix?.some((s) => s === '.heic' || s === '.heif'));
})();

/**
 * How much damage a decode tolerates. `lenient` ('error' in libvips terms) refuses truncated and
 * undecodable data but decodes through corrupt stretches, filling them in; `strict` ('warning')
 * also refuses anything the decoder warns about, which is how a damaged-but-decodable file is told
 * apart from a clean one (libvips reports those warnings only at the strict level).
 */
export type DecodeStrictness = 'lenient' | 'strict';

/**
 * A sharp pipeline over one image, already auto-oriented from EXIF and limited to its first frame.
 * Nothing is decoded until the caller adds its resize and output, so JPEG/WebP shrink-on-load still
 * applies. Throws TriagemError naming the file for anything sharp (or the BMP decoder) cannot read.
 */
export function openImage(data: Buffer, filePath: string, strictness: DecodeStrictness = 'lenient'): Sharp {
  if (data.length === 0) throw new TriagemError('empty file (0 bytes)', 'empty-file', filePath);
  const format = sniffFormat(data.subarray(0, 64));
  if (format === 'unknown') throw new TriagemError('not a recognised image format', 'unsupported-format', filePath);
  if (format === 'heic' && !heicSupported) {
    throw new TriagemError('HEIC is not supported by this build (convert it to JPEG first)', 'unsupported-format', filePath);
  }
  if (format === 'bmp') return sharpFromBmp(data, filePath);
  // failOn 'error' rejects truncated files instead of silently returning grey rows.
  return sharp(data, { failOn: strictness === 'strict' ? 'warning' : 'error', pages: 1, limitInputPixels: 1 << 28 }).rotate();
}

export interface CheckedDecode<T> {
  value: T;
  /** Set when the image only decoded leniently: what the decoder found wrong with it. */
  warning?: string;
}

/**
 * Runs `decode` on a strict open of the image; when that fails but a lenient open decodes, keeps
 * the lenient result and says so in `warning`, so a damaged file is indexed and still reported
 * rather than shown as clean. A clean image costs one decode; only damaged ones are decoded twice.
 * Errors of the lenient attempt (the file cannot be decoded at all) are thrown as they are.
 */
export async function decodeCheckingDamage<T>(data: Buffer, filePath: string, decode: (img: Sharp) => Promise<T>): Promise<CheckedDecode<T>> {
  if (sniffFormat(data.subarray(0, 64)) === 'bmp') return { value: await decode(openImage(data, filePath)) };
  let strictError: unknown;
  try {
    return { value: await decode(openImage(data, filePath, 'strict')) };
  } catch (err) {
    if (err instanceof TriagemError) throw err;
    strictError = err;
  }
  const value = await decode(openImage(data, filePath, 'lenient'));
  const detail = errorMessage(strictError).split('\n')[0].trim();
  return { value, warning: `damaged image data, decoded with errors (parts may be missing or garbled): ${detail}` };
}

// libvips as shipped in sharp's prebuilt binaries has no BMP loader, and Smart Image Sorter accepts BMP.
function sharpFromBmp(data: Buffer, filePath: string): Sharp {
  let decoded: { width: number; height: number; data: Buffer };
  try {
    decoded = decodeBmp(data);
  } catch (err) {
    throw new TriagemError(`corrupt BMP: ${errorMessage(err)}`, 'corrupt-image', filePath);
  }
  const { width, height } = decoded;
  if (!(width > 0 && height > 0) || decoded.data.length < width * height * 4) {
    throw new TriagemError('corrupt BMP: pixel data shorter than its header says', 'corrupt-image', filePath);
  }
  // bmp-ts yields ABGR; BMP alpha is almost never meaningful (24-bit files decode with alpha 0), so drop it.
  const rgb = Buffer.allocUnsafe(width * height * 3);
  const src = decoded.data;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = src[i + 3];
    rgb[j + 1] = src[i + 2];
    rgb[j + 2] = src[i + 1];
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } });
}

/** Turns sharp's terse decode errors into a reason a reporter can act on. */
export function describeDecodeError(err: unknown, filePath: string): TriagemError {
  if (err instanceof TriagemError) return err;
  const msg = errorMessage(err);
  let reason = `cannot decode image: ${msg.split('\n')[0]}`;
  if (/premature end|truncated|unexpected end|Corrupt|corrupt|bad|invalid/i.test(msg)) reason = `corrupt or truncated image: ${msg.split('\n')[0]}`;
  if (/unsupported image format|Input buffer contains unsupported/i.test(msg)) reason = 'not a supported image format';
  if (/pixel limit/i.test(msg)) reason = 'image is too large (more than 268 megapixels)';
  return new TriagemError(reason, 'corrupt-image', filePath);
}
