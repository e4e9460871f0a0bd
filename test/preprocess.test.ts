import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { encode as encodeBmp } from 'bmp-ts';
import { preprocessImage, pixelsToTensor } from '../src/engine/models/preprocess.js';
import type { ImageSpec } from '../src/engine/models/types.js';
import { optionalShared } from './support/optional.js';
import { writeGeneratedPhotos } from './support/photos.js';

const CLIP: ImageSpec = {
  size: 224,
  resizeMode: 'shortest-crop',
  interpolation: 'bicubic',
  rescaleFactor: 1 / 255,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};
const SIGLIP: ImageSpec = { ...CLIP, resizeMode: 'squash', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };

const skimage = optionalShared('fixtures/clip-skimage-reference', 'preprocessing of the 8 real scikit-image photos');
const devset = optionalShared('devset/classification/images', 'preprocessing of the 15 real dev-set photos');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-pre-'));
const photos = await writeGeneratedPhotos(path.join(tmp, 'generated'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function expectNormalizedTensor(t: Float32Array): void {
  expect(t.length).toBe(3 * 224 * 224);
  for (let c = 0; c < 3; c++) {
    const lo = (0 - CLIP.mean[c]) / CLIP.std[c] - 1e-4;
    const hi = (1 - CLIP.mean[c]) / CLIP.std[c] + 1e-4;
    for (let i = c * 224 * 224; i < (c + 1) * 224 * 224; i += 97) {
      expect(t[i]).toBeGreaterThanOrEqual(lo);
      expect(t[i]).toBeLessThanOrEqual(hi);
    }
  }
}

/** Undo normalization: RGB in [0,1] at (channel, y, x). */
function rgbAt(t: Float32Array, spec: ImageSpec, c: number, y: number, x: number): number {
  return t[c * spec.size * spec.size + y * spec.size + x] * spec.std[c] + spec.mean[c];
}

function meanRgb(t: Float32Array, spec: ImageSpec): number[] {
  const plane = spec.size * spec.size;
  return [0, 1, 2].map((c) => {
    let s = 0;
    for (let i = 0; i < plane; i++) s += t[c * plane + i];
    return (s / plane) * spec.std[c] + spec.mean[c];
  });
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

describe('vision preprocessing with sharp', () => {
  it('turns every generated format (JPEG, grayscale, alpha, 16-bit, CMYK, GIF, WebP, TIFF) into a [3,224,224] tensor in the normalized range', async () => {
    expect(Object.keys(photos).length).toBeGreaterThanOrEqual(10);
    for (const file of Object.values(photos)) expectNormalizedTensor(await preprocessImage(file, CLIP));
  });

  it.skipIf(!skimage || !devset)('turns every real fixture photo into a [3,224,224] tensor in the normalized range (../shared)', async () => {
    const files = [
      ...fs.readdirSync(skimage as string).filter((f) => /\.(png|jpg)$/.test(f)).map((f) => path.join(skimage as string, f)),
      ...fs.readdirSync(devset as string).map((f) => path.join(devset as string, f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(20);
    for (const file of files) expectNormalizedTensor(await preprocessImage(file, CLIP));
  });

  it('expands grayscale (gray.png, page.png) to three equal channels', async () => {
    for (const file of [photos['gray.png'], photos['page.png']]) {
      const t = await preprocessImage(file, CLIP);
      for (const [y, x] of [[10, 10], [112, 112], [200, 50]]) {
        expect(rgbAt(t, CLIP, 0, y, x)).toBeCloseTo(rgbAt(t, CLIP, 1, y, x), 4);
        expect(rgbAt(t, CLIP, 1, y, x)).toBeCloseTo(rgbAt(t, CLIP, 2, y, x), 4);
      }
    }
  });

  it('flattens transparency onto white, not onto the hidden RGB values', async () => {
    // Left half opaque red, right half fully transparent with black RGB underneath.
    const w = 400, h = 300;
    const px = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      if (x < w / 2) px.set([255, 0, 0, 255], i);
      else px.set([0, 0, 0, 0], i);
    }
    const file = path.join(tmp, 'alpha.png');
    await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toFile(file);
    const t = await preprocessImage(file, SIGLIP);
    expect(rgbAt(t, SIGLIP, 0, 112, 20)).toBeCloseTo(1, 2);
    expect(rgbAt(t, SIGLIP, 1, 112, 20)).toBeCloseTo(0, 2);
    for (let c = 0; c < 3; c++) expect(rgbAt(t, SIGLIP, c, 112, 200)).toBeCloseTo(1, 2);
  });

  it('applies EXIF orientation before resizing', async () => {
    const src = photos['photo.jpg'];
    const upright = path.join(tmp, 'upright.jpg');
    await sharp(src).rotate().jpeg({ quality: 95 }).toFile(upright);
    // Store the pixels turned 90° counter-clockwise and tag them "rotate 90° CW to display" (orientation 6).
    const tagged = path.join(tmp, 'tagged.jpg');
    const raw = await sharp(upright).rotate(-90).jpeg({ quality: 95 }).toBuffer();
    await sharp(raw).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toFile(tagged);
    const untagged = path.join(tmp, 'untagged.jpg');
    fs.writeFileSync(untagged, raw);
    const a = await preprocessImage(upright, CLIP);
    const b = await preprocessImage(tagged, CLIP);
    const c = await preprocessImage(untagged, CLIP);
    expect(meanAbsDiff(a, b)).toBeLessThan(0.05);
    expect(meanAbsDiff(a, c)).toBeGreaterThan(4 * meanAbsDiff(a, b));
  });

  it('CLIP crops the centre after fitting the shortest edge; SigLIP squashes the whole frame', async () => {
    // 600×200: red | green | blue bands of 150, 300, 150 px (an odd aspect like page.png's).
    const w = 600, h = 200;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      px.set(x < 150 ? [255, 0, 0] : x < 450 ? [0, 255, 0] : [0, 0, 255], i);
    }
    const file = path.join(tmp, 'bands.png');
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    const clip = await preprocessImage(file, CLIP);
    const [r, g, b] = meanRgb(clip, CLIP);
    expect(g).toBeGreaterThan(0.98);
    expect(r).toBeLessThan(0.02);
    expect(b).toBeLessThan(0.02);
    const squash = await preprocessImage(file, SIGLIP);
    expect(rgbAt(squash, SIGLIP, 0, 112, 10)).toBeGreaterThan(0.95);
    expect(rgbAt(squash, SIGLIP, 2, 112, 214)).toBeGreaterThan(0.95);
    const m = meanRgb(squash, SIGLIP);
    expect(m[0]).toBeCloseTo(0.25, 1);
    expect(m[1]).toBeCloseTo(0.5, 1);
  });

  it('decodes a large JPEG with shrink-on-load without changing the result materially', async () => {
    const src = photos['photo.jpg'];
    const big = path.join(tmp, 'big.jpg');
    await sharp(src).resize(4000, 3000, { fit: 'fill' }).jpeg({ quality: 92 }).toFile(big);
    const fast = await preprocessImage(big, CLIP);
    // Reference: decode every pixel first, then resize from the full-resolution raw frame.
    const { data, info } = await sharp(big).raw().toBuffer({ resolveWithObject: true });
    const pixels = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .resize(224, 224, { fit: 'cover', kernel: 'cubic' })
      .raw()
      .toBuffer();
    expect(meanAbsDiff(fast, pixelsToTensor(pixels, CLIP))).toBeLessThan(0.03);
  });

  it('reads BMP (no libvips loader) and names the file when an image is corrupt, truncated or empty', async () => {
    const w = 64, h = 48;
    const abgr = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) abgr.set([0, 255, 0, 0], i * 4); // ABGR: blue
    const bmp = path.join(tmp, 'blue.bmp');
    fs.writeFileSync(bmp, encodeBmp({ width: w, height: h, data: abgr, bitPP: 24 }).data);
    const m = meanRgb(await preprocessImage(bmp, CLIP), CLIP);
    expect(m[2]).toBeGreaterThan(0.95);
    expect(m[0]).toBeLessThan(0.05);

    const truncated = path.join(tmp, 'truncated.jpg');
    const full = fs.readFileSync(photos['portrait.jpg']);
    fs.writeFileSync(truncated, full.subarray(0, full.length / 3));
    await expect(preprocessImage(truncated, CLIP)).rejects.toThrow(/truncated\.jpg: corrupt or truncated/);
    const empty = path.join(tmp, 'empty.png');
    fs.writeFileSync(empty, '');
    await expect(preprocessImage(empty, CLIP)).rejects.toThrow(/empty\.png: empty file/);
    const text = path.join(tmp, 'notes.jpg');
    fs.writeFileSync(text, 'not an image at all');
    await expect(preprocessImage(text, CLIP)).rejects.toThrow(/notes\.jpg: not a recognised image format/);
    await expect(preprocessImage(path.join(tmp, 'missing.jpg'), CLIP)).rejects.toThrow(/missing\.jpg: file not found/);
  });
});
