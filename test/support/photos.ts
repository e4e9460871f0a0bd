// Photo-like test images generated with sharp, so the suite needs no committed photos. Each covers
// a decoding path real collections hit: colour JPEG with detail, grayscale, alpha, 16-bit, CMYK,
// palette GIF, WebP, TIFF and a very wide page.

import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { Prng } from './synthetic/prng.js';

/** Colour gradients, soft blobs and grain: enough structure that resizing and JPEG both matter. */
export function photoPixels(width: number, height: number, seed = 1, channels: 1 | 3 = 3): Buffer {
  const prng = new Prng(seed);
  const rand = () => prng.next();
  const blobs = Array.from({ length: 6 }, () => ({ x: rand() * width, y: rand() * height, r: (0.1 + rand() * 0.3) * Math.min(width, height), c: [rand(), rand(), rand()] }));
  const px = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const rgb = [x / width, y / height, 0.5 + 0.5 * Math.sin((x + y) / 37)];
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y) / b.r;
        if (d < 1) for (let c = 0; c < 3; c++) rgb[c] = rgb[c] * d + b.c[c] * (1 - d);
      }
      const grain = (rand() - 0.5) * 0.08;
      const i = (y * width + x) * channels;
      if (channels === 1) px[i] = clamp255((0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] + grain) * 255);
      else for (let c = 0; c < 3; c++) px[i + c] = clamp255((rgb[c] + grain) * 255);
    }
  }
  return px;
}

function clamp255(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** Writes the generated set into `dir` and returns the file paths. */
export async function writeGeneratedPhotos(dir: string): Promise<Record<string, string>> {
  fs.mkdirSync(dir, { recursive: true });
  const rgb = (w: number, h: number, seed: number) => sharp(photoPixels(w, h, seed), { raw: { width: w, height: h, channels: 3 } });
  const gray = (w: number, h: number, seed: number) => sharp(photoPixels(w, h, seed, 1), { raw: { width: w, height: h, channels: 1 } });
  const files: Record<string, string> = {};
  const out = async (name: string, img: Sharp) => {
    files[name] = path.join(dir, name);
    await img.toFile(files[name]);
  };
  await out('photo.jpg', rgb(640, 480, 1).jpeg({ quality: 90 }));
  await out('portrait.jpg', rgb(360, 540, 2).jpeg({ quality: 85 }));
  await out('gray.png', gray(320, 240, 3).png());
  await out('page.png', gray(900, 240, 4).png());
  await out('alpha.png', rgb(300, 300, 5).ensureAlpha(0.5).png());
  await out('deep.png', rgb(256, 192, 6).toColourspace('rgb16').png());
  await out('cmyk.jpg', rgb(320, 240, 7).toColourspace('cmyk').jpeg({ quality: 90 }));
  await out('palette.gif', rgb(200, 150, 8).gif());
  await out('photo.webp', rgb(400, 300, 9).webp({ quality: 80 }));
  await out('photo.tif', rgb(300, 200, 10).tiff());
  return files;
}
