// The parts of OCR that run without the engine: the likely-text gate on generated images, the
// OCR input scaling, the cleaning of Tesseract's words, and gathering the language data locally.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLanguages, prepareLangPath, traineddataSource } from '../src/engine/ocr/engine-files.js';
import { looksLikeText, measureTextLikeness, MIN_TEXT_CHARS } from '../src/engine/ocr/gate.js';
import { defaultPoolSize } from '../src/engine/ocr/pool.js';
import { gateLook, ocrInput, ocrScale } from '../src/engine/ocr/prepare.js';
import { pageText } from '../src/engine/ocr/text.js';
import { tempDir } from './support/index-fixtures.js';
import { FONTS, memeLike, photoLike, renderTextImage, screenshotLike, SENTENCES_EN, SENTENCES_PT } from './support/text-images.js';

describe('likely-text gate', () => {
  it('lets rendered text through: sizes, fonts, backgrounds, noise, ±3° rotation', async () => {
    const cases = [
      { text: SENTENCES_PT[0], size: 13, width: 520 },
      { text: SENTENCES_PT[1], size: 18, font: FONTS[1], noise: 12, rotate: 3 },
      { text: SENTENCES_EN[0], size: 26, font: FONTS[2], colour: '#ffffff', background: { kind: 'plain' as const, colour: '#1b2a49' }, rotate: -3 },
      { text: SENTENCES_PT[3], size: 34, font: FONTS[3], bold: true, colour: '#ffffff', background: { kind: 'photo' as const, seed: 3 }, format: 'jpeg' as const },
      { text: SENTENCES_EN[2], size: 20, background: { kind: 'gradient' as const, from: '#fff6d5', to: '#c8dcff' }, noise: 8 },
    ];
    for (const spec of cases) {
      const { image } = await renderTextImage(spec);
      const look = await gateLook(image, 'rendered');
      expect(look.chars, JSON.stringify(spec)).toBeGreaterThanOrEqual(MIN_TEXT_CHARS);
      expect(looksLikeText(look)).toBe(true);
      // The measured glyph height follows the font size (ascender-to-baseline ≈ 0.5–0.9 em).
      expect(look.charHeight / look.scale).toBeGreaterThan(spec.size * 0.45);
      expect(look.charHeight / look.scale).toBeLessThan(spec.size * 1.1);
    }
    const shot = await screenshotLike({ post: SENTENCES_PT[2], name: 'Diário' });
    expect(looksLikeText(await gateLook(shot.image, 'shot'))).toBe(true);
    const meme = await memeLike({ top: 'quando a gasolina', bottom: 'sobe de novo', seed: 2 });
    expect(looksLikeText(await gateLook(meme.image, 'meme'))).toBe(true);
  });

  it('holds back text-free photo-like frames unless CLIP says text', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const look = await gateLook(await photoLike({ seed, width: 640, height: 480 }), 'photo');
      expect(look.chars, `seed ${seed}`).toBeLessThan(MIN_TEXT_CHARS);
      expect(looksLikeText(look)).toBe(false);
      expect(looksLikeText(look, 0.51)).toBe(false);
      expect(looksLikeText(look, 0.9)).toBe(true);
    }
    const blank = { data: new Uint8Array(64 * 64).fill(200), width: 64, height: 64 };
    expect(measureTextLikeness(blank)).toEqual({ chars: 0, lines: 0, charHeight: 0 });
  });

  it('follows EXIF orientation and reports the displayed size', async () => {
    const { image } = await renderTextImage({ text: SENTENCES_PT[4], size: 20, width: 700 });
    const meta = await sharp(image).metadata();
    // Stored turned a quarter, tagged to be shown upright (orientation 6: rotate 90° clockwise).
    const turned = await sharp(image).rotate(-90).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const look = await gateLook(turned, 'turned.jpg');
    expect([look.width, look.height]).toEqual([meta.width, meta.height]);
    expect(looksLikeText(look)).toBe(true);
  });
});

describe('OCR input', () => {
  it('scales small text up towards ~20 px glyphs (at most 3×), leaves large text, caps the pixel count', () => {
    expect(ocrScale({ charHeight: 5, scale: 1, width: 800, height: 600 })).toBe(3);
    expect(ocrScale({ charHeight: 8, scale: 1, width: 800, height: 600 })).toBeCloseTo(2.5);
    expect(ocrScale({ charHeight: 10, scale: 0.5, width: 1600, height: 1200 })).toBe(1);
    expect(ocrScale({ charHeight: 60, scale: 1, width: 800, height: 600 })).toBe(1);
    expect(ocrScale({ charHeight: 0, scale: 1, width: 800, height: 600 })).toBe(1);
    const big = ocrScale({ charHeight: 5, scale: 1, width: 4000, height: 3000 });
    expect(4000 * 3000 * big * big).toBeLessThanOrEqual(6_000_001);
    expect(big).toBeLessThan(1);
  });

  it('is a colour PPM of the scaled, upright image', async () => {
    const { image } = await renderTextImage({ text: 'Olá', size: 20, width: 200 });
    const look = await gateLook(image, 'x.png');
    const input = await ocrInput(image, 'x.png', look, 2);
    const header = `P6\n${look.width * 2} ${look.height * 2}\n255\n`;
    expect(input.image.subarray(0, header.length).toString('ascii')).toBe(header);
    expect(input.image.length).toBe(header.length + look.width * 2 * look.height * 2 * 3);
  });

  it('names the file when it cannot be decoded', async () => {
    await expect(gateLook(Buffer.from('not an image at all'), '/x/broken.jpg')).rejects.toThrow(/\/x\/broken\.jpg: not a recognised image format/);
  });
});

describe('cleaning recognised words', () => {
  const w = (text: string, confidence = 92) => ({ text, confidence });

  it('keeps confident words, composes Unicode, drops controls and texture scraps, keeps paragraphs', () => {
    const page = {
      confidence: 70,
      ms: 1,
      lines: [
        { paragraph: 0, words: [w('Manifestac\u0327a\u0303o'), w('em'), w('São\u0007'), w('Paulo')] },
        { paragraph: 0, words: [w('reuniu'), w('%$#@', 20), w('milhares')] },
        { paragraph: 1, words: [w('|', 90), w('ee', 40), w('~a', 60)] },
        { paragraph: 1, words: [w('Fim.')] },
        { paragraph: 2, words: [w('E', 60), w('u', 55)] },
      ],
    };
    const t = pageText(page);
    expect(t.text).toBe('Manifestação em São Paulo\nreuniu milhares\n\nFim.');
    expect(t.text).toBe(t.text.normalize('NFC'));
    expect(t.words).toBe(7);
    expect(t.confidence).toBeCloseTo(92);
    expect(pageText({ confidence: 0, ms: 1, lines: [] })).toEqual({ text: '', confidence: null, words: 0 });
  });
});

describe('OCR engine files', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('ocr-files');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('gathers both languages from their npm packages into one local folder, repairing a bad copy', () => {
    const langPath = prepareLangPath(dir, ['por', 'eng']);
    for (const lang of ['por', 'eng'] as const) {
      const copy = path.join(langPath, `${lang}.traineddata.gz`);
      expect(fs.readFileSync(copy).equals(fs.readFileSync(traineddataSource(lang)))).toBe(true);
      expect(traineddataSource(lang)).toMatch(new RegExp(`@tesseract\\.js-data[/\\\\]${lang}[/\\\\]4\\.0\\.0_best_int`));
    }
    const por = path.join(langPath, 'por.traineddata.gz');
    const size = fs.statSync(por).size;
    fs.writeFileSync(por, Buffer.alloc(size, 1));
    prepareLangPath(dir, ['por']);
    expect(fs.readFileSync(por).equals(fs.readFileSync(traineddataSource('por')))).toBe(true);
  });

  it('accepts only the installed languages', () => {
    expect(parseLanguages('por+eng')).toEqual(['por', 'eng']);
    expect(parseLanguages('ENG, por, eng')).toEqual(['eng', 'por']);
    expect(() => parseLanguages('deu')).toThrow(/"deu" is not available/);
    expect(() => parseLanguages(' ')).toThrow(/at least one/);
  });

  it('sizes the pool from the cores', () => {
    expect(defaultPoolSize(1)).toBe(1);
    expect(defaultPoolSize(2)).toBe(1);
    expect(defaultPoolSize(4)).toBe(3);
    expect(defaultPoolSize(32)).toBe(4);
  });
});
