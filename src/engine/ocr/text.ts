// Tesseract's words → the text we store and search: confident words only, Unicode composed, one
// line per recognised line and a blank line between paragraphs, no control characters.

import type { OcrPage } from './pool.js';

/**
 * Words below this confidence are dropped. Clean printed text scores 85–96 and meme captions
 * 90+; what Tesseract "reads" in the picture around a caption or in foliage mostly scores 15–49
 * (the dev-set "This is fine" meme: "BAR" 47, "WE" 30, "a" 16), and storing it would make photos
 * match short queries.
 */
export const MIN_WORD_CONFIDENCE = 50;

export interface RecognisedText {
  text: string;
  /** Mean confidence of the kept words, weighted by their length (0–100); null when none was kept. */
  confidence: number | null;
  words: number;
}

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
// C0/C1 controls and the Unicode line/paragraph separators; layout is rebuilt from Tesseract's lines.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function cleanWord(raw: string): string {
  return raw.normalize('NFC').replace(CONTROL, '').replace(/\s+/g, ' ').trim();
}

export function pageText(page: OcrPage, minConfidence = MIN_WORD_CONFIDENCE): RecognisedText {
  const paragraphs: string[][] = [];
  let weighted = 0;
  let chars = 0;
  let words = 0;
  let lastParagraph = -1;
  for (const line of page.lines) {
    const kept = line.words.map((w) => ({ text: cleanWord(w.text), confidence: w.confidence })).filter((w) => w.text && w.confidence >= minConfidence && LETTER_OR_DIGIT.test(w.text));
    if (kept.length === 0) continue;
    // A line of one- and two-letter scraps read with middling confidence is texture, not text.
    const mean = kept.reduce((s, w) => s + w.confidence, 0) / kept.length;
    if (mean < 75 && kept.every((w) => [...w.text].length <= 2)) continue;
    if (line.paragraph !== lastParagraph) {
      paragraphs.push([]);
      lastParagraph = line.paragraph;
    }
    paragraphs[paragraphs.length - 1].push(kept.map((w) => w.text).join(' '));
    for (const w of kept) {
      const n = [...w.text].length;
      weighted += w.confidence * n;
      chars += n;
      words++;
    }
  }
  return {
    text: paragraphs.map((p) => p.join('\n')).join('\n\n'),
    confidence: chars > 0 ? weighted / chars : null,
    words,
  };
}
