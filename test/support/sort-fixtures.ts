// Photo trees for the sort/export/CLI tests: real encoded images (sharp) in nested folders, with the
// colours the synthetic colour model knows, awkward names, and a fixed past mtime.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { COLOUR_PALETTE } from './synthetic/colour-palette.js';
import { Prng } from './synthetic/prng.js';
export { snapshot, tempDir, type FileState } from './index-fixtures.js';

export type Colour = 'red' | 'green' | 'blue' | 'purple' | 'yellow';

/** A fixed, clearly-not-now modification time: 2021-03-04T05:06:07.890Z. */
export const PAST_MTIME_MS = 1614834367890;


function sample(colour: Colour): readonly [number, number, number] {
  const entry = COLOUR_PALETTE.find((c) => c.name === colour);
  if (!entry) throw new Error(`no palette colour ${colour}`);
  return entry.sample;
}

/** A mostly-`colour` photo with per-pixel jitter, so two photos of one colour differ in bytes. */
export async function writePhoto(file: string, colour: Colour | readonly [number, number, number], seed: number): Promise<void> {
  const [r, g, b] = typeof colour === 'string' ? sample(colour) : colour;
  const width = 48;
  const height = 36;
  const prng = new Prng(seed);
  const pixels = Buffer.alloc(width * height * 3);
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < width * height; i++) {
    pixels[i * 3] = clamp(r + (prng.next() - 0.5) * 16);
    pixels[i * 3 + 1] = clamp(g + (prng.next() - 0.5) * 16);
    pixels[i * 3 + 2] = clamp(b + (prng.next() - 0.5) * 16);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const img = sharp(pixels, { raw: { width, height, channels: 3 } });
  const ext = path.extname(file).toLowerCase();
  const encoded = ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ lossless: true }) : img.jpeg({ quality: 92 });
  await encoded.toFile(file);
  fs.utimesSync(file, new Date(PAST_MTIME_MS - 1000), new Date(PAST_MTIME_MS));
}

/** Relative path → colour of the standard tree: two `foto.jpg` in different folders, accents, spaces, depth. */
export const PHOTO_TREE: Readonly<Record<string, Colour>> = {
  'viagem/foto.jpg': 'red',
  'trabalho/foto.jpg': 'red',
  'viagem/2023/folha.png': 'green',
  'verde claro.jpeg': 'green',
  'arquivo/fundo/mar.jpg': 'blue',
  'céu azul.webp': 'blue',
};

export async function writePhotoTree(root: string, tree: Readonly<Record<string, Colour>> = PHOTO_TREE): Promise<void> {
  let seed = 1;
  for (const [rel, colour] of Object.entries(tree)) await writePhoto(path.join(root, rel), colour, seed++);
}

export function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Every directory and file below `root`, relative, sorted (for "nothing else left behind" checks). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      out.push(path.relative(root, full) + (entry.isDirectory() ? '/' : ''));
      if (entry.isDirectory()) walk(full);
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out.sort();
}
