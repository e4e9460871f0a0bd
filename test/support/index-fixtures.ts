// Real encoded images in every format the indexer reads, for the library/indexer/CLI-index tests.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encode as encodeBmp } from 'bmp-ts';
import sharp, { type Exif } from 'sharp';
import { COLOUR_PALETTE } from './synthetic/colour-palette.js';
import { Prng } from './synthetic/prng.js';

export type Rgb = readonly [number, number, number];

export function colour(name: string): Rgb {
  const entry = COLOUR_PALETTE.find((c) => c.name === name);
  if (!entry) throw new Error(`no palette colour ${name}`);
  return entry.sample;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `triagem-${prefix}-`));
}

/** A mostly-`rgb` image with seeded jitter, so two images of one colour differ in bytes. */
export function pixels(rgb: Rgb, width: number, height: number, seed: number): Buffer {
  const prng = new Prng(seed);
  const out = Buffer.alloc(width * height * 3);
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < width * height; i++) {
    out[i * 3] = clamp(rgb[0] + (prng.next() - 0.5) * 12);
    out[i * 3 + 1] = clamp(rgb[1] + (prng.next() - 0.5) * 12);
    out[i * 3 + 2] = clamp(rgb[2] + (prng.next() - 0.5) * 12);
  }
  return out;
}

export type Format = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'bmp' | 'avif';

const BY_EXT: Record<string, Format> = {
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.png': 'png',
  '.webp': 'webp',
  '.gif': 'gif',
  '.tif': 'tiff',
  '.tiff': 'tiff',
  '.bmp': 'bmp',
  '.avif': 'avif',
};

export interface ImageOptions {
  width?: number;
  height?: number;
  seed?: number;
  /** Defaults to the file's extension. */
  format?: Format;
  exif?: Exif;
  /** EXIF orientation tag (JPEG only). */
  orientation?: number;
}

export async function encodeImage(rgb: Rgb, opts: ImageOptions & { format: Format }): Promise<Buffer> {
  const width = opts.width ?? 40;
  const height = opts.height ?? 30;
  const raw = pixels(rgb, width, height, opts.seed ?? 1);
  if (opts.format === 'bmp') {
    const abgr = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      abgr[i * 4] = 0;
      abgr[i * 4 + 1] = raw[i * 3 + 2];
      abgr[i * 4 + 2] = raw[i * 3 + 1];
      abgr[i * 4 + 3] = raw[i * 3];
    }
    return encodeBmp({ data: abgr, width, height, bitPP: 24 }).data;
  }
  let img = sharp(raw, { raw: { width, height, channels: 3 } });
  if (opts.exif) img = img.withExif(opts.exif);
  if (opts.orientation) img = img.withMetadata({ orientation: opts.orientation });
  switch (opts.format) {
    case 'jpeg':
      return img.jpeg({ quality: 92 }).toBuffer();
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'tiff':
      return img.tiff().toBuffer();
    case 'avif':
      return img.avif({ quality: 80, effort: 0 }).toBuffer();
  }
}

/** Writes an image and returns its bytes. */
export async function writeImage(file: string, rgb: Rgb, opts: ImageOptions = {}): Promise<Buffer> {
  const format = opts.format ?? BY_EXT[path.extname(file).toLowerCase()];
  if (!format) throw new Error(`no format for ${file}`);
  const data = await encodeImage(rgb, { ...opts, format });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return data;
}

export interface FileState {
  sha256: string;
  size: number;
  mtimeMs: number;
  mode: number;
}

/** Every regular file below `root`, not following links (relative path → bytes hash, size, mtime, mode). */
export function snapshot(root: string): Map<string, FileState> {
  const out = new Map<string, FileState>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        try {
          const st = fs.statSync(full);
          out.set(path.relative(root, full), { sha256: createHash('sha256').update(fs.readFileSync(full)).digest('hex'), size: st.size, mtimeMs: st.mtimeMs, mode: st.mode });
        } catch {
          // unreadable on purpose (permission tests): leave it out
        }
      }
    }
  };
  walk(root);
  return out;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
