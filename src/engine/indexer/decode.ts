import sharp, { type Sharp } from 'sharp';
import { decodeCheckingDamage, describeDecodeError, openImage } from '../images/open.js';
import { THUMBNAIL_SIZE, thumbnailFromImage, type RawPixels } from '../images/thumbnail.js';
import { modelInputFromSharp, modelPixelsFromSharp, pixelsToTensor } from '../models/preprocess.js';
import type { ImageSpec } from '../models/types.js';

export interface DecodedImage {
  /** The model's input, identical to what `modelInputFromSharp` makes from the same bytes. */
  tensor: Float32Array;
  /** Displayed size (after EXIF orientation). */
  width: number;
  height: number;
  /**
   * Pixels to make the thumbnail from (thumbnailFromPixels), when one was asked for: the reduced frame
   * the model input was cut from, so the file is decoded once for both.
   */
  frame?: RawPixels;
  /** Set when the file is damaged but decoded leniently (see decodeCheckingDamage). */
  warning?: string;
}

const WHITE = { r: 255, g: 255, b: 255 };

async function orientedSize(img: Sharp): Promise<{ width: number; height: number }> {
  const meta = await img.metadata();
  const size = meta.autoOrient ?? { width: meta.width ?? 0, height: meta.height ?? 0 };
  return { width: size.width, height: size.height };
}

/**
 * `src` (w×h HWC RGB) cropped to its centre size×size, with the same rounding as sharp's centre
 * gravity, so the result equals sharp's own cover crop byte for byte.
 */
function centreCrop(src: Buffer, w: number, h: number, size: number): Buffer {
  const left = Math.ceil((w - size) / 2);
  const top = Math.ceil((h - size) / 2);
  const out = Buffer.allocUnsafe(size * size * 3);
  for (let y = 0; y < size; y++) {
    const from = ((y + top) * w + left) * 3;
    src.copy(out, y * size * 3, from, from + size * 3);
  }
  return out;
}

/**
 * One decode of a CLIP-style (shortest edge, then centre crop) input, serving both the model and
 * the thumbnail: the image is reduced, inside the decode pipeline so JPEG shrink-on-load applies,
 * to shortest edge = model size — exactly the frame `cover` resizing makes before it crops — and the
 * model input is cut from those pixels. The frame is returned whole for the thumbnail, which the
 * indexer encodes later, off the hot path.
 */
async function decodeShared(img: Sharp, spec: ImageSpec): Promise<{ tensor: Float32Array; frame: RawPixels }> {
  const { data, info } = await img
    .flatten({ background: WHITE })
    .toColourspace('srgb')
    .resize(spec.size, spec.size, { fit: 'outside', kernel: spec.interpolation === 'bilinear' ? 'linear' : 'cubic' })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const exact = info.channels === 3 && Math.min(info.width, info.height) === spec.size;
  const pixels = exact
    ? centreCrop(data, info.width, info.height, spec.size)
    : await modelPixelsFromSharp(sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }), spec);
  const frame: RawPixels = { data, width: info.width, height: info.height, channels: info.channels as RawPixels['channels'] };
  return { tensor: pixelsToTensor(pixels, spec), frame };
}

/** Thumbnail-sized pixels straight from the bytes (decoded at reduced scale), for inputs that cannot share the model's frame. */
async function thumbnailFrame(bytes: Buffer, filePath: string): Promise<RawPixels> {
  const { data, info } = await openImage(bytes, filePath)
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels as RawPixels['channels'] };
}

/**
 * Model input (and optionally the pixels for a thumbnail) from a file's bytes. Throws a TriagemError naming
 * the file when the bytes cannot be decoded; a file that decodes only leniently comes back with a
 * `warning`.
 */
export async function decodeImage(data: Buffer, filePath: string, spec: ImageSpec, withThumbnail: boolean): Promise<DecodedImage> {
  try {
    const { value, warning } = await decodeCheckingDamage(data, filePath, (img) => decodeOpened(img, data, filePath, spec, withThumbnail));
    return warning ? { ...value, warning } : value;
  } catch (err) {
    throw describeDecodeError(err, filePath);
  }
}

async function decodeOpened(img: Sharp, data: Buffer, filePath: string, spec: ImageSpec, withThumbnail: boolean): Promise<DecodedImage> {
  if (withThumbnail && spec.resizeMode === 'shortest-crop') {
    const [size, shared] = await Promise.all([orientedSize(img), decodeShared(img, spec)]);
    return { ...size, ...shared };
  }
  // Squashed model inputs cannot be reused for an undistorted thumbnail: its pixels come from a
  // second decode of the same bytes, at reduced scale, alongside the first. A thumbnail is a cache,
  // so its failure only leaves the image without one.
  const [size, tensor, frame] = await Promise.all([
    orientedSize(img),
    modelInputFromSharp(img, spec),
    withThumbnail ? thumbnailFrame(data, filePath).catch(() => undefined) : undefined,
  ]);
  return frame ? { ...size, tensor, frame } : { ...size, tensor };
}

/** Only a thumbnail, for content whose embedding already exists. */
export async function decodeThumbnail(data: Buffer, filePath: string): Promise<Buffer> {
  try {
    return await thumbnailFromImage(openImage(data, filePath));
  } catch (err) {
    throw describeDecodeError(err, filePath);
  }
}
