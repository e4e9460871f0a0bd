// Generated images with known text, for the OCR tests and `npm run bench -- ocr`: Portuguese and
// English sentences rendered through librsvg (sharp's SVG input) in the DejaVu fonts, on plain,
// gradient and photo-like backgrounds, optionally with sensor noise and a few degrees of rotation;
// plus screenshot-like and meme-like compositions and text-free photo-like frames. Nothing here is
// committed as a binary: every image is made at test or bench time from a seed.

import sharp, { type Sharp } from 'sharp';
import { Prng } from './synthetic/prng.js';

export const SENTENCES_PT: readonly string[] = [
  'A manifestação reuniu milhares de pessoas na avenida Paulista.',
  'Petrobras anuncia redução no preço da gasolina às distribuidoras.',
  'O ministro da Justiça negou a existência do relatório sigiloso.',
  'Ação da polícia na comunidade deixou três feridos, diz associação.',
  'Eleições: a apuração começa às dezessete horas em todo o país.',
  'Governo publica decreto sobre importação de câmeras e óculos.',
  'Moradores denunciam contaminação do rio após rompimento de barragem.',
  'Não há informação sobre a localização do helicóptero desaparecido.',
];

export const SENTENCES_EN: readonly string[] = [
  'The minister denied any knowledge of the leaked report.',
  'Protesters gathered outside the courthouse before dawn.',
  'Fuel prices rose for the third consecutive week in March.',
  'Officials confirmed that the bridge will remain closed.',
  'The company refused to comment on the environmental fine.',
  'Witnesses said the convoy crossed the border at midnight.',
];

export type FontName = 'DejaVu Sans' | 'DejaVu Serif' | 'DejaVu Sans Mono' | 'DejaVu Sans Condensed';
export const FONTS: readonly FontName[] = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'DejaVu Sans Condensed'];

export type Background = { kind: 'plain'; colour: string } | { kind: 'gradient'; from: string; to: string } | { kind: 'photo'; seed: number };

export interface TextImageSpec {
  text: string;
  font?: FontName;
  /** Font size in pixels. */
  size?: number;
  bold?: boolean;
  colour?: string;
  background?: Background;
  /** Image width; the text is wrapped to fit. */
  width?: number;
  /** Standard deviation of added Gaussian noise, in grey levels (0: none). */
  noise?: number;
  /** Degrees, clockwise; the canvas grows to hold the turned image. */
  rotate?: number;
  format?: 'png' | 'jpeg';
  seed?: number;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Average advance of the DejaVu faces as a fraction of the font size (Mono is widest); used only to
// wrap lines, so an estimate that errs wide is fine.
const ADVANCE: Record<FontName, number> = { 'DejaVu Sans': 0.62, 'DejaVu Serif': 0.62, 'DejaVu Sans Mono': 0.61, 'DejaVu Sans Condensed': 0.56 };

export function wrap(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Gradients, soft blobs and grain: the statistics of a camera photo, without any text. */
export function photoLikePixels(width: number, height: number, seed: number): Buffer {
  const prng = new Prng(seed);
  const px = Buffer.allocUnsafe(width * height * 3);
  const base = [prng.next() * 200 + 20, prng.next() * 200 + 20, prng.next() * 200 + 20];
  const shapes = Array.from({ length: 12 }, () => ({
    x: prng.next() * width,
    y: prng.next() * height,
    r: (0.05 + prng.next() * 0.3) * Math.min(width, height),
    c: [prng.next() * 255, prng.next() * 255, prng.next() * 255],
  }));
  const v = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const tilt = (x / width - 0.5) * 60 + (y / height - 0.5) * 40;
      v[0] = base[0] + tilt;
      v[1] = base[1] - tilt;
      v[2] = base[2] + tilt;
      for (const s of shapes) {
        const dx = x - s.x;
        const dy = y - s.y;
        if (Math.abs(dx) >= s.r || Math.abs(dy) >= s.r) continue;
        const d = Math.sqrt(dx * dx + dy * dy) / s.r;
        if (d >= 1) continue;
        for (let ch = 0; ch < 3; ch++) v[ch] = v[ch] * d + s.c[ch] * (1 - d);
      }
      const i = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) px[i + ch] = Math.max(0, Math.min(255, Math.round(v[ch] + prng.gaussian() * 10)));
    }
  }
  return px;
}

function addNoise(raw: Buffer, std: number, seed: number): Buffer {
  const prng = new Prng(seed);
  const out = Buffer.allocUnsafe(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(raw[i] + prng.gaussian() * std)));
  return out;
}

async function finish(img: Sharp, spec: { noise?: number; rotate?: number; format?: 'png' | 'jpeg'; seed?: number }, fill: string): Promise<Buffer> {
  let out = img;
  if (spec.rotate) out = sharp(await out.png().toBuffer()).rotate(spec.rotate, { background: fill });
  if (spec.noise) {
    const { data, info } = await out.removeAlpha().raw().toBuffer({ resolveWithObject: true });
    out = sharp(addNoise(data, spec.noise, spec.seed ?? 1), { raw: { width: info.width, height: info.height, channels: info.channels } });
  }
  return spec.format === 'jpeg' ? out.jpeg({ quality: 88 }).toBuffer() : out.png().toBuffer();
}

/** A block of wrapped text; returns the image and the exact text it shows (lines joined by spaces). */
export async function renderTextImage(spec: TextImageSpec): Promise<{ image: Buffer; text: string }> {
  const font = spec.font ?? 'DejaVu Sans';
  const size = spec.size ?? 24;
  const width = spec.width ?? 900;
  const margin = Math.round(size * 0.8);
  const lines = wrap(spec.text, Math.max(8, Math.floor((width - 2 * margin) / (size * ADVANCE[font] * (spec.bold ? 1.1 : 1)))));
  const lineHeight = Math.round(size * 1.45);
  const height = 2 * margin + lineHeight * lines.length;
  const bg = spec.background ?? { kind: 'plain', colour: '#ffffff' };
  const colour = spec.colour ?? '#111111';
  const family = font === 'DejaVu Sans Condensed' ? 'DejaVu Sans' : font;
  const stretch = font === 'DejaVu Sans Condensed' ? ' font-stretch="condensed"' : '';
  const texts = lines
    .map(
      (l, i) =>
        `<text x="${margin}" y="${margin + Math.round(size * 1.05) + i * lineHeight}" font-family="${family}"${stretch} font-size="${size}"${spec.bold ? ' font-weight="bold"' : ''} fill="${colour}">${escapeXml(l)}</text>`,
    )
    .join('');
  let backgroundSvg = '';
  if (bg.kind === 'plain') backgroundSvg = `<rect width="100%" height="100%" fill="${bg.colour}"/>`;
  if (bg.kind === 'gradient') {
    backgroundSvg = `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${bg.from}"/><stop offset="1" stop-color="${bg.to}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>`;
  }
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${backgroundSvg}${texts}</svg>`);
  let img: Sharp;
  let fill = '#ffffff';
  if (bg.kind === 'photo') {
    const base = sharp(photoLikePixels(width, height, bg.seed), { raw: { width, height, channels: 3 } });
    img = sharp(await base.composite([{ input: svg }]).png().toBuffer());
    fill = '#808080';
  } else {
    img = sharp(svg).flatten({ background: bg.kind === 'plain' ? bg.colour : bg.from });
    fill = bg.kind === 'plain' ? bg.colour : bg.from;
  }
  return { image: await finish(img, spec, fill), text: lines.join(' ') };
}

/**
 * A social-media-post screenshot: a coloured top bar, an avatar, a bold name, the post's text in a
 * small UI font and a row of counters. Returns the image and the post text.
 */
export async function screenshotLike(opts: { post: string; name: string; width?: number; seed?: number; format?: 'png' | 'jpeg' }): Promise<{ image: Buffer; text: string }> {
  const width = opts.width ?? 720;
  const size = 17;
  const lines = wrap(opts.post, Math.floor((width - 48) / (size * ADVANCE['DejaVu Sans'])));
  const top = 150;
  const height = top + lines.length * 26 + 90;
  const body = lines.map((l, i) => `<text x="24" y="${top + i * 26}" font-family="DejaVu Sans" font-size="${size}" fill="#0f1419">${escapeXml(l)}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#ffffff"/>
    <rect width="100%" height="52" fill="#1d9bf0"/>
    <text x="24" y="34" font-family="DejaVu Sans" font-size="20" font-weight="bold" fill="#ffffff">Post</text>
    <circle cx="50" cy="95" r="24" fill="#8899a6"/>
    <text x="88" y="92" font-family="DejaVu Sans" font-size="17" font-weight="bold" fill="#0f1419">${escapeXml(opts.name)}</text>
    <text x="88" y="114" font-family="DejaVu Sans" font-size="14" fill="#536471">@${escapeXml(opts.name.toLowerCase().replace(/\s+/g, ''))} · 2h</text>
    ${body}
    <line x1="0" y1="${height - 50}" x2="${width}" y2="${height - 50}" stroke="#eff3f4" stroke-width="2"/>
    <text x="24" y="${height - 18}" font-family="DejaVu Sans" font-size="14" fill="#536471">128 respostas   1.024 compartilhamentos   5.310 curtidas</text>
  </svg>`;
  return { image: await finish(sharp(Buffer.from(svg)), { format: opts.format, seed: opts.seed }, '#ffffff'), text: lines.join(' ') };
}

/** Impact-style caption (bold white with a black outline) over a photo-like frame. */
export async function memeLike(opts: { top: string; bottom?: string; width?: number; height?: number; seed?: number; format?: 'png' | 'jpeg' }): Promise<{ image: Buffer; text: string }> {
  const width = opts.width ?? 600;
  const height = opts.height ?? 450;
  const longest = Math.max(opts.top.length, opts.bottom?.length ?? 0);
  // Bold capitals advance about 0.72 em: shrink long captions to fit the frame, as meme makers do.
  const size = Math.round(Math.min(width / 12, (width * 0.92) / (longest * 0.72)));
  const caption = (t: string, y: number) =>
    `<text x="${width / 2}" y="${y}" text-anchor="middle" font-family="DejaVu Sans" font-weight="bold" font-size="${size}" fill="#ffffff" stroke="#000000" stroke-width="${Math.max(2, size / 14)}">${escapeXml(t.toUpperCase())}</text>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${caption(opts.top, size * 1.3)}${opts.bottom ? caption(opts.bottom, height - size * 0.5) : ''}</svg>`;
  const base = sharp(photoLikePixels(width, height, opts.seed ?? 1), { raw: { width, height, channels: 3 } });
  const img = sharp(await base.composite([{ input: Buffer.from(svg) }]).png().toBuffer());
  const text = [opts.top, opts.bottom].filter(Boolean).join(' ').toUpperCase();
  return { image: await finish(img, { format: opts.format ?? 'jpeg', seed: opts.seed }, '#808080'), text };
}

/** A text-free photo-like frame. */
export async function photoLike(opts: { width?: number; height?: number; seed?: number; format?: 'png' | 'jpeg' }): Promise<Buffer> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 480;
  const img = sharp(photoLikePixels(width, height, opts.seed ?? 1), { raw: { width, height, channels: 3 } });
  return opts.format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 88 }).toBuffer();
}

/** Whitespace collapsed and Unicode composed, so CER compares characters, not layout. */
export function canonicalText(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** Levenshtein distance over code points (two-row dynamic programming). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length];
}

/** Character error rate: edits to turn the recognised text into the reference, over the reference length. */
export function characterErrorRate(reference: string, recognised: string): number {
  const ref = canonicalText(reference);
  const hyp = canonicalText(recognised);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  return editDistance(ref, hyp) / [...ref].length;
}
