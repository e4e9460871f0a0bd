// The "likely text" gate: a cheap look at a greyscale downscale that decides whether an image is
// worth a full OCR pass. OCR costs 0.3–10 s per image on one core, and on a photo without text it
// spends most of that producing garbage; this check costs a few milliseconds.
//
// The method is the classic connected-component text detector: threshold against the local mean
// (both polarities: dark text on light and light text on dark), keep components shaped like
// glyphs, chain each to its nearest compatible neighbour on the right, and count the glyphs that
// sit in chains that look like a line of text (similar heights and stroke widths, one colour, tops
// or bottoms aligned). Hand-written because no maintained npm package detects text regions offline
// without model weights; `npm run bench -- ocr` measures what it skips and what that saves.

export interface GrayImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface TextLikeness {
  /** Glyph-like shapes lying in text-like lines. */
  chars: number;
  /** Text-like lines (chains of at least MIN_CHAIN glyphs). */
  lines: number;
  /** Median glyph height in pixels of the analysed image; 0 when no line was found. */
  charHeight: number;
}

/** Glyphs in lines needed to call an image text-bearing: two short words. */
export const MIN_TEXT_CHARS = 8;
/**
 * A CLIP text/screenshot/document probability at or above this lets an image through on its own.
 * Far above one half because the prior splits its mass over as many text as non-text prompts: a
 * model that cannot tell (the synthetic test model gives 0.49–0.51 for everything) must not open
 * the gate. Not calibrated on real CLIP weights, which this project cannot ship in tests.
 */
export const CLIP_TEXT_THRESHOLD = 0.8;

const MIN_CHAIN = 4;
/** Grey levels a pixel must differ from its neighbourhood mean by to count as ink. */
const CONTRAST = 20;
const MIN_GLYPH_HEIGHT = 6;

interface Glyph {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  h: number;
  w: number;
  cy: number;
  polarity: 1 | -1;
  /** Pixels per boundary pixel: about half the stroke width for thin shapes, large for blobs. */
  stroke: number;
  mean: number;
}

/** Marks each pixel +1 (darker than its surroundings), -1 (lighter) or 0, from an integral image. */
function inkMap(img: GrayImage): Int8Array {
  const { data, width: w, height: h } = img;
  const stride = w + 1;
  const integral = new Float64Array(stride * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += data[y * w + x];
      integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + row;
    }
  }
  const r = Math.max(7, Math.round(Math.min(w, h) / 40));
  const ink = new Int8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const sum = integral[y1 * stride + x1] - integral[y0 * stride + x1] - integral[y1 * stride + x0] + integral[y0 * stride + x0];
      const mean = sum / ((y1 - y0) * (x1 - x0));
      const v = data[y * w + x];
      ink[y * w + x] = v < mean - CONTRAST ? 1 : v > mean + CONTRAST ? -1 : 0;
    }
  }
  return ink;
}

function glyphs(img: GrayImage, ink: Int8Array): Glyph[] {
  const { data, width: w, height: h } = img;
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const out: Glyph[] = [];
  const maxHeight = h / 3;
  for (let start = 0; start < w * h; start++) {
    const polarity = ink[start];
    if (polarity === 0 || seen[start]) continue;
    let sp = 0;
    stack[sp++] = start;
    seen[start] = 1;
    let minX = w;
    let maxX = 0;
    let minY = h;
    let maxY = 0;
    let count = 0;
    let edge = 0;
    let sum = 0;
    while (sp > 0) {
      const p = stack[--sp];
      const px = p % w;
      const py = (p - px) / w;
      count++;
      sum += data[p];
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      let boundary = px === 0 || px === w - 1 || py === 0 || py === h - 1;
      if (px > 0) {
        const q = p - 1;
        if (ink[q] === polarity) {
          if (!seen[q]) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        } else boundary = true;
      }
      if (px < w - 1) {
        const q = p + 1;
        if (ink[q] === polarity) {
          if (!seen[q]) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        } else boundary = true;
      }
      if (py > 0) {
        const q = p - w;
        if (ink[q] === polarity) {
          if (!seen[q]) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        } else boundary = true;
      }
      if (py < h - 1) {
        const q = p + w;
        if (ink[q] === polarity) {
          if (!seen[q]) {
            seen[q] = 1;
            stack[sp++] = q;
          }
        } else boundary = true;
      }
      if (boundary) edge++;
    }
    const gw = maxX - minX + 1;
    const gh = maxY - minY + 1;
    if (gh < MIN_GLYPH_HEIGHT || gh > maxHeight || gw > 2.5 * gh) continue;
    const fill = count / (gw * gh);
    // Thin bars (l, I, 1) are solid rectangles; anything else that solid is a blob, not a stroke.
    if (fill < 0.12 || (fill > 0.92 && gw > 0.35 * gh)) continue;
    const stroke = count / edge;
    if (stroke > 0.3 * gh + 1) continue;
    out.push({ x0: minX, x1: maxX, y0: minY, y1: maxY, h: gh, w: gw, cy: (minY + maxY) / 2, polarity: polarity as 1 | -1, stroke, mean: sum / count });
  }
  return out;
}

function compatible(a: Glyph, b: Glyph): boolean {
  if (a.polarity !== b.polarity) return false;
  const ratio = a.h / b.h;
  if (ratio < 0.55 || ratio > 1.8) return false;
  const tol = 0.25 * Math.max(a.h, b.h);
  if (Math.abs(a.y1 - b.y1) > tol && Math.abs(a.cy - b.cy) > tol && Math.abs(a.y0 - b.y0) > tol) return false;
  const strokes = a.stroke / b.stroke;
  if (strokes < 0.5 || strokes > 2) return false;
  return Math.abs(a.mean - b.mean) <= 40;
}

function isTextLine(chain: Glyph[]): boolean {
  if (chain.length < MIN_CHAIN) return false;
  const heights = chain.map((g) => g.h).sort((a, b) => a - b);
  const median = heights[heights.length >> 1];
  const outliers = chain.filter((g) => g.h < 0.6 * median || g.h > 1.6 * median).length;
  if (outliers > chain.length * 0.25) return false;
  const mean = chain.reduce((s, g) => s + g.mean, 0) / chain.length;
  const sd = Math.sqrt(chain.reduce((s, g) => s + (g.mean - mean) ** 2, 0) / chain.length);
  if (sd > 18) return false;
  // Printed glyphs share a baseline or a top line almost to the pixel; texture blobs do not.
  let aligned = 0;
  for (let i = 1; i < chain.length; i++) {
    const a = chain[i - 1];
    const b = chain[i];
    const tol = Math.max(1.5, 0.1 * Math.max(a.h, b.h));
    if (Math.abs(a.y1 - b.y1) <= tol || Math.abs(a.y0 - b.y0) <= tol) aligned++;
  }
  return aligned >= 0.75 * (chain.length - 1);
}

/** How text-like a greyscale image is (best on an image whose long side is about 1000–1600 px). */
export function measureTextLikeness(img: GrayImage): TextLikeness {
  if (img.width < 8 || img.height < 8) return { chars: 0, lines: 0, charHeight: 0 };
  const found = glyphs(img, inkMap(img)).sort((a, b) => a.x0 - b.x0);
  const next = new Int32Array(found.length).fill(-1);
  const hasPrev = new Uint8Array(found.length);
  for (let i = 0; i < found.length; i++) {
    const a = found[i];
    let best = -1;
    let bestGap = Infinity;
    for (let j = i + 1; j < found.length; j++) {
      const b = found[j];
      const gap = b.x0 - a.x1;
      // Sorted by left edge: past a word space from here nothing further right can be a neighbour.
      if (gap > 0.8 * Math.max(a.h, b.h)) {
        if (b.x0 - a.x1 > 0.8 * 1.8 * a.h) break;
        continue;
      }
      if (hasPrev[j] || gap < -0.2 * Math.min(a.w, b.w) || !compatible(a, b)) continue;
      if (gap < bestGap) {
        bestGap = gap;
        best = j;
      }
    }
    if (best >= 0) {
      next[i] = best;
      hasPrev[best] = 1;
    }
  }
  let chars = 0;
  let lines = 0;
  const heights: number[] = [];
  for (let i = 0; i < found.length; i++) {
    if (hasPrev[i]) continue;
    const chain: Glyph[] = [];
    for (let k = i; k >= 0; k = next[k]) chain.push(found[k]);
    if (!isTextLine(chain)) continue;
    lines++;
    chars += chain.length;
    for (const g of chain) heights.push(g.h);
  }
  heights.sort((a, b) => a - b);
  return { chars, lines, charHeight: heights.length ? heights[heights.length >> 1] : 0 };
}

/**
 * The gate's verdict. A CLIP probability that the image is a screenshot, document or other
 * text-bearing picture can only let more images through, never hold one back.
 */
export function looksLikeText(m: TextLikeness, clipTextScore?: number): boolean {
  if (m.chars >= MIN_TEXT_CHARS) return true;
  return clipTextScore !== undefined && clipTextScore >= CLIP_TEXT_THRESHOLD;
}
