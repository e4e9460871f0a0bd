import fs from 'node:fs/promises';
import type { Sharp } from 'sharp';
import { describeDecodeError, openImage } from '../images/open.js';
import { TriagemError, errorMessage } from '../errors.js';
import type { ImageSource, ImageSpec } from './types.js';

/** What a photo viewer shows behind transparent pixels; dropping alpha instead would expose arbitrary RGB. */
const ALPHA_BACKGROUND = { r: 255, g: 255, b: 255 };

/**
 * The model's square RGB input as interleaved bytes (HWC, size×size×3). Resizing happens inside the
 * decode pipeline so JPEG/WebP shrink-on-load decodes a 12-MP photo at 1/8 scale instead of in full.
 */
export async function modelPixelsFromSharp(img: Sharp, spec: ImageSpec): Promise<Buffer> {
  const { data, info } = await img
    .flatten({ background: ALPHA_BACKGROUND })
    .toColourspace('srgb')
    .resize(spec.size, spec.size, {
      fit: spec.resizeMode === 'squash' ? 'fill' : 'cover',
      position: 'centre',
      kernel: spec.interpolation === 'bilinear' ? 'linear' : 'cubic',
    })
    .removeAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== spec.size || info.height !== spec.size) {
    throw new Error(`unexpected decoded shape ${info.width}×${info.height}×${info.channels}`);
  }
  return data;
}

/** HWC bytes → normalized channel-first float32 [3,size,size]. */
export function pixelsToTensor(pixels: Uint8Array, spec: ImageSpec): Float32Array {
  const plane = spec.size * spec.size;
  const out = new Float32Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const scale = spec.rescaleFactor / spec.std[c];
    const shift = spec.mean[c] / spec.std[c];
    const base = c * plane;
    for (let i = 0, j = c; i < plane; i++, j += 3) out[base + i] = pixels[j] * scale - shift;
  }
  return out;
}

export async function modelInputFromSharp(img: Sharp, spec: ImageSpec): Promise<Float32Array> {
  return pixelsToTensor(await modelPixelsFromSharp(img, spec), spec);
}

/** Reads a file (or takes bytes) and returns the model's vision input, with errors naming the file. */
export async function preprocessImage(source: ImageSource, spec: ImageSpec, label = typeof source === 'string' ? source : '(image bytes)'): Promise<Float32Array> {
  let data: Buffer;
  if (typeof source === 'string') {
    try {
      data = await fs.readFile(source);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a folder, not an image' : errorMessage(err);
      throw new TriagemError(reason, 'unreadable', label);
    }
  } else {
    data = source;
  }
  try {
    return await modelInputFromSharp(openImage(data, label), spec);
  } catch (err) {
    throw describeDecodeError(err, label);
  }
}
