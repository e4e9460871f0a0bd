// Photo-like test images for the window's tests and screenshots: a horizon, sky and ground, a sun
// and a few buildings, tinted so the *mean* colour is the one asked for — which is all the synthetic
// colour model looks at, so each photo sorts predictably while the contact sheet still reads like
// photographs rather than flat swatches. EXIF (camera, date, GPS) is written so the info panel has
// something real to show.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Prng } from './synthetic/prng.js';

export interface SceneOptions {
  width?: number;
  height?: number;
  seed: number;
  /** Mean colour, 8-bit sRGB. */
  colour: readonly [number, number, number];
  camera?: { make: string; model: string };
  /** Capture time, local. */
  takenAt?: Date;
  gps?: { lat: number; lon: number };
}

function exifDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}:${p(d.getMonth() + 1)}:${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function dms(value: number): string {
  const v = Math.abs(value);
  const deg = Math.floor(v);
  const min = Math.floor((v - deg) * 60);
  const sec = Math.round(((v - deg) * 60 - min) * 60 * 100);
  return `${deg}/1 ${min}/1 ${sec}/100`;
}

/** Brightness pattern in [0, 1] with mean 0.5: sky gradient, ground texture, sun, buildings. */
function pattern(width: number, height: number, prng: Prng): Float32Array {
  const rand = () => prng.next();
  const p = new Float32Array(width * height);
  const horizon = height * (0.45 + rand() * 0.25);
  const sun = { x: rand() * width, y: horizon * (0.2 + rand() * 0.5), r: Math.min(width, height) * (0.05 + rand() * 0.08) };
  const buildings = Array.from({ length: 2 + Math.floor(rand() * 5) }, () => {
    const w = width * (0.04 + rand() * 0.12);
    const x = rand() * (width - w);
    return { x, w, top: horizon - height * (0.05 + rand() * 0.3), shade: 0.15 + rand() * 0.25 };
  });
  const waves = 3 + rand() * 9;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v: number;
      if (y < horizon) {
        v = 0.95 - 0.35 * (y / horizon);
        const d = Math.hypot(x - sun.x, y - sun.y) / sun.r;
        if (d < 1) v = 1;
        else if (d < 2.5) v = Math.max(v, 1 - (d - 1) * 0.25);
      } else {
        const depth = (y - horizon) / (height - horizon);
        v = 0.42 - 0.22 * depth + 0.06 * Math.sin((x / width) * Math.PI * waves + depth * 20);
      }
      for (const b of buildings) if (x >= b.x && x < b.x + b.w && y >= b.top && y < horizon + 4) v = b.shade + 0.05 * ((Math.floor(x / 9) + Math.floor(y / 13)) % 2);
      p[y * width + x] = v + (rand() - 0.5) * 0.06;
    }
  }
  let mean = 0;
  for (const v of p) mean += v;
  mean /= p.length;
  for (let i = 0; i < p.length; i++) p[i] = Math.max(0, Math.min(1, p[i] - mean + 0.5));
  return p;
}

export async function writeScenePhoto(file: string, opts: SceneOptions): Promise<void> {
  const width = opts.width ?? 900;
  const height = opts.height ?? 600;
  const prng = new Prng(opts.seed);
  const p = pattern(width, height, prng);
  const px = Buffer.alloc(width * height * 3);
  const [r, g, b] = opts.colour;
  for (let i = 0; i < p.length; i++) {
    // Multiplicative around the mean: factor 0.4..1.6 with mean 1 keeps the hue and the mean colour.
    const f = 0.4 + 1.2 * p[i];
    px[i * 3] = Math.min(255, Math.round(r * f));
    px[i * 3 + 1] = Math.min(255, Math.round(g * f));
    px[i * 3 + 2] = Math.min(255, Math.round(b * f));
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let img = sharp(px, { raw: { width, height, channels: 3 } });
  const exif: Record<string, Record<string, string>> = {};
  if (opts.camera) exif.IFD0 = { Make: opts.camera.make, Model: opts.camera.model };
  if (opts.takenAt) {
    exif.IFD0 = { ...exif.IFD0, DateTime: exifDate(opts.takenAt) };
    exif.IFD2 = { DateTimeOriginal: exifDate(opts.takenAt) };
  }
  if (opts.gps) {
    exif.IFD3 = {
      GPSLatitudeRef: opts.gps.lat >= 0 ? 'N' : 'S',
      GPSLatitude: dms(opts.gps.lat),
      GPSLongitudeRef: opts.gps.lon >= 0 ? 'E' : 'W',
      GPSLongitude: dms(opts.gps.lon),
    };
  }
  if (Object.keys(exif).length) img = img.withExif(exif);
  const ext = path.extname(file).toLowerCase();
  await (ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ quality: 85 }) : img.jpeg({ quality: 86 })).toFile(file);
}

/** Mixes two 8-bit colours: `t` of the way from `a` to `b`. */
export function mix(a: readonly [number, number, number], b: readonly [number, number, number], t: number): [number, number, number] {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as [number, number, number];
}
