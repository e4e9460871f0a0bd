// Image → what the gate looks at, and image → what the OCR engine reads. Both start from
// `openImage`, so EXIF orientation, first-frame-only and the BMP fallback match the indexer.

import { describeDecodeError, openImage } from '../images/open.js';
import { measureTextLikeness, type TextLikeness } from './gate.js';

/** Long side of the gate's greyscale look: small screenshot text stays ≥ 6 px, a 12-MP photo costs ~40 ms. */
export const GATE_SIZE = 1600;

/**
 * Glyph height (pixels, ascender to baseline) the OCR input is scaled towards. Measured on the dev
 * set's downscaled web page (8 px glyphs): 2 words read at 1×, 28 at 2×, 58 at 2.5×, 44 at 3.5×;
 * rendered text reads perfectly from 7 px up, and every upscale multiplies the time spent on a
 * photo that slipped through the gate (2–4× at 2–3×), so small text goes to ~20 px and no further.
 */
const TARGET_GLYPH_HEIGHT = 20;
const MAX_UPSCALE = 3;
/** Upper bound on the OCR input, in pixels: recognition time grows with area. */
const MAX_OCR_PIXELS = 6_000_000;

// Transparent pixels become paper: text drawn on a transparent PNG is dark-on-white to the OCR.
const WHITE = { r: 255, g: 255, b: 255 };

export interface GateLook extends TextLikeness {
  /** Displayed size of the image (after EXIF orientation). */
  width: number;
  height: number;
  /** Analysed pixels per displayed pixel (≤ 1). */
  scale: number;
}

export interface OcrInput {
  /** Binary PPM (P6): Leptonica reads it directly, with no encode/decode round trip. */
  image: Buffer;
  width: number;
  height: number;
  /** OCR pixels per displayed pixel. */
  scale: number;
}

/** The gate's measurements for an image file's bytes. Throws a TriagemError naming the file. */
export async function gateLook(data: Buffer, filePath: string): Promise<GateLook> {
  try {
    const { data: pixels, info } = await openImage(data, filePath)
      .resize(GATE_SIZE, GATE_SIZE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: WHITE })
      .grayscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const meta = await openImage(data, filePath).metadata();
    const size = meta.autoOrient ?? { width: meta.width ?? info.width, height: meta.height ?? info.height };
    const m = measureTextLikeness({ data: pixels, width: info.width, height: info.height });
    return { ...m, width: size.width, height: size.height, scale: info.width / Math.max(1, size.width) };
  } catch (err) {
    throw describeDecodeError(err, filePath);
  }
}

/** How much to scale an image for OCR, from the glyph height the gate saw (0: unknown). */
export function ocrScale(look: Pick<GateLook, 'charHeight' | 'scale' | 'width' | 'height'>): number {
  const glyph = look.charHeight > 0 ? look.charHeight / look.scale : 0;
  let scale = glyph > 0 ? Math.min(MAX_UPSCALE, Math.max(1, TARGET_GLYPH_HEIGHT / glyph)) : 1;
  const pixels = look.width * look.height * scale * scale;
  if (pixels > MAX_OCR_PIXELS) scale *= Math.sqrt(MAX_OCR_PIXELS / pixels);
  return scale;
}

function ppm(data: Buffer, width: number, height: number): Buffer {
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`, 'ascii'), data]);
}

/**
 * OCR input at `scale` (Lanczos up, Mitchell down), in colour: Tesseract binarises each channel
 * with Otsu and keeps the best, which separates white meme captions from a yellow background that
 * a greyscale conversion flattens into the same grey. Measured on the dev set's memes: colour
 * reads "101 °F … THIS IS FINE", greyscale "o IS FINE".
 */
export async function ocrInput(data: Buffer, filePath: string, look: Pick<GateLook, 'width' | 'height'>, scale: number): Promise<OcrInput> {
  const width = Math.max(1, Math.round(look.width * scale));
  const height = Math.max(1, Math.round(look.height * scale));
  try {
    const { data: pixels, info } = await openImage(data, filePath)
      .flatten({ background: WHITE })
      .toColourspace('srgb')
      .resize(width, height, { fit: 'fill', kernel: scale > 1 ? 'lanczos3' : 'mitchell' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels}-channel pixels`);
    return { image: ppm(pixels, info.width, info.height), width: info.width, height: info.height, scale };
  } catch (err) {
    throw describeDecodeError(err, filePath);
  }
}
