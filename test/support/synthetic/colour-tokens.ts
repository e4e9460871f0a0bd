// Fits per-token colour vectors so that the summed BPE pieces of every colour word (alone or inside a
// prompt template) land on that colour, and template/function words carry no colour.
//
// Portuguese words split into several pieces ("vermelho" = ver + mel + ho</w>) and pieces are shared
// ("roxa" = rox + a</w>, where a</w> is also the English article), so a per-word lookup cannot work:
// the vectors are the weighted minimum-norm solution of  A·V = B, where row i of A counts the pieces of
// phrase i and row i of B is its target colour (one-hot, or zero for neutral phrases).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { COLOUR_PALETTE, NEUTRAL_PHRASES, colourPhrases } from './colour-palette.js';
import { solveSpd } from './linalg.js';

export interface FittedPhrase {
  phrase: string;
  /** Palette index, or -1 for a neutral phrase. */
  colour: number;
  ids: number[];
}

export interface ColourTokenFit {
  /** Token id → colour coefficients (length = palette size). Tokens absent here carry no colour. */
  vectors: Map<number, Float64Array>;
  phrases: FittedPhrase[];
  /** Largest |A·V − B| over all fitted phrases and colours. */
  maxResidual: number;
}

export function loadClipTokenizer(tokenizerDir: string): Tokenizer {
  const read = (name: string): unknown => JSON.parse(readFileSync(join(tokenizerDir, name), 'utf8'));
  return new Tokenizer(read('tokenizer.json') as object, read('tokenizer_config.json') as object);
}

// Ridge term: the phrase system is rank-deficient on purpose ("a photo of red" = "a photo of" + "red").
const RIDGE = 1e-9;
const MAX_RESIDUAL = 1e-3;

/** Short pieces ("a</w>", "ho</w>") are common across the vocabulary: make them costly to load with colour. */
function pieceCost(token: string | undefined): number {
  const bare = (token ?? '').replace(/<\/w>$/, '');
  return bare.length <= 2 ? 6 : 1;
}

export function fitColourTokens(tokenizer: Tokenizer): ColourTokenFit {
  const k = COLOUR_PALETTE.length;
  const colourIndex = new Map(COLOUR_PALETTE.map((c, i) => [c.name, i]));
  const encode = (text: string): number[] => tokenizer.encode(text, { add_special_tokens: false }).ids;

  const phrases: FittedPhrase[] = [
    ...colourPhrases().map((p) => ({ phrase: p.phrase, colour: colourIndex.get(p.colour) ?? -1, ids: encode(p.phrase) })),
    ...NEUTRAL_PHRASES.map((phrase) => ({ phrase, colour: -1, ids: encode(phrase) })),
  ];

  const unknowns = [...new Set(phrases.flatMap((p) => p.ids))].sort((a, b) => a - b);
  const column = new Map(unknowns.map((id, i) => [id, i]));
  const invCost = unknowns.map((id) => 1 / pieceCost(tokenizer.id_to_token(id)));
  const m = phrases.length;
  const p = unknowns.length;

  const a = new Float64Array(m * p);
  phrases.forEach((ph, i) => {
    for (const id of ph.ids) a[i * p + (column.get(id) ?? 0)] += 1;
  });
  const b = new Float64Array(m * k);
  phrases.forEach((ph, i) => {
    if (ph.colour >= 0) b[i * k + ph.colour] = 1;
  });

  // V = W⁻¹Aᵀ (A W⁻¹ Aᵀ + εI)⁻¹ B  — the minimum of Σ cost·|v|² that satisfies A·V = B.
  const s = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let c = 0; c < p; c++) sum += a[i * p + c] * invCost[c] * a[j * p + c];
      s[i * m + j] = sum;
      s[j * m + i] = sum;
    }
    s[i * m + i] += RIDGE;
  }
  const y = solveSpd(s, m, b, k);
  const v = new Float64Array(p * k);
  for (let c = 0; c < p; c++) {
    for (let i = 0; i < m; i++) {
      const coef = a[i * p + c] * invCost[c];
      if (coef === 0) continue;
      for (let q = 0; q < k; q++) v[c * k + q] += coef * y[i * k + q];
    }
  }

  let maxResidual = 0;
  let worst = '';
  for (let i = 0; i < m; i++) {
    for (let q = 0; q < k; q++) {
      let sum = 0;
      for (let c = 0; c < p; c++) sum += a[i * p + c] * v[c * k + q];
      const r = Math.abs(sum - b[i * k + q]);
      if (r > maxResidual) {
        maxResidual = r;
        worst = phrases[i].phrase;
      }
    }
  }
  if (maxResidual > MAX_RESIDUAL) {
    throw new Error(`colour token fit is inconsistent: "${worst}" misses its target by ${maxResidual.toFixed(4)}`);
  }

  const vectors = new Map<number, Float64Array>();
  unknowns.forEach((id, c) => {
    const vec = v.slice(c * k, (c + 1) * k);
    if (vec.some((x) => Math.abs(x) > 1e-6)) vectors.set(id, vec);
  });
  return { vectors, phrases, maxResidual };
}
