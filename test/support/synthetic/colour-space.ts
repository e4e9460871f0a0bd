// The numbers behind the synthetic colour model: colour features and prototypes, an orthonormal basis in
// the embedding space, and a token table in a small latent space.
//
// Latent layout (E = K + R dims for text, K colour dims + 1 offset dim for images):
//   dims 0..K-1     one per palette colour; projected onto K orthonormal random directions
//   dims K..K+R-1   per-token "noise" (text only), projected onto R further directions
//   last direction  constant image offset ("image-ness"), so no image embedding is ever zero
// All K+R+1 directions are mutually orthogonal, so the cosine between an image and a text is driven only
// by their colour coordinates.

import { COLOUR_PALETTE } from './colour-palette.js';
import type { ColourTokenFit } from './colour-tokens.js';
import { orthonormalRows } from './linalg.js';
import { Prng, deriveSeed } from './prng.js';

export const VOCAB_SIZE = 49408;
export const EOS_ID = 49407;
export const NOISE_DIMS = 16;
/**
 * Weight of prototype k = softmax_k(−‖f(rgb) − f(p_k)‖² / SIGMA2): a normalized RBF, so the nearest
 * prototype dominates even for colours far from every prototype (pure green) and off-target weights stay
 * small enough for SigLIP's sigmoid scoring (bias −12.9) to reject them.
 */
export const SIGMA2 = 0.05;
/** Chroma weight in the opponent-colour features: without it, light gray is "nearer" pink than white. */
export const CHROMA_WEIGHT = 3;

/**
 * f(rgb) = rgb · FEATURES, a [3,3] row-major matrix: luma (r+g+b)/3, red–green w(r−g), yellow–blue
 * w((r+g)/2 − b).
 */
export const FEATURES: readonly number[] = [
  1 / 3, CHROMA_WEIGHT, CHROMA_WEIGHT / 2,
  1 / 3, -CHROMA_WEIGHT, CHROMA_WEIGHT / 2,
  1 / 3, 0, -CHROMA_WEIGHT,
];

export function colourFeatures(rgb: readonly number[]): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (let j = 0; j < 3; j++) for (let i = 0; i < 3; i++) out[j] += rgb[i] * FEATURES[i * 3 + j];
  return out;
}
/** Length of the constant image offset relative to a perfect prototype match (similarity 1). */
export const IMAGE_OFFSET = 0.3;
/** Per-dimension std of each token's noise vector (norm ≈ 0.03·√16 = 0.12 per token). */
export const TOKEN_NOISE_STD = 0.03;

export interface ColourSpace {
  dim: number;
  colours: number;
  latent: number;
  /** [K, dim] row-major: the colour directions. */
  colourDirections: Float32Array;
  /** [K+R, dim]: projection from the text latent space (colour rows first). */
  textProjection: Float32Array;
  /** [dim]: the constant image offset. */
  imageOffset: Float32Array;
  /** [VOCAB_SIZE, K+R]: per-token latent vectors. */
  tokenTable: Float32Array;
  /** [K, 3]: prototype colours in feature space (see FEATURES). */
  prototypes: Float32Array;
}

export interface ColourSpaceOptions {
  dim: number;
  seed: number;
  fit: ColourTokenFit;
  /**
   * Scale applied to the padding token's noise. SigLIP-style towers sum every position, so a sequence
   * padded with dozens of pad tokens must not drown the colour signal when padded correctly.
   */
  padTokenScale?: { id: number; scale: number };
}

export function buildColourSpace(options: ColourSpaceOptions): ColourSpace {
  const { dim, seed, fit } = options;
  const k = COLOUR_PALETTE.length;
  const latent = k + NOISE_DIMS;

  const basis = orthonormalRows(k + NOISE_DIMS + 1, dim, new Prng(deriveSeed(seed, `basis-${dim}`)));
  const textProjection = Float32Array.from(basis.subarray(0, latent * dim));
  const colourDirections = Float32Array.from(basis.subarray(0, k * dim));
  const imageOffset = Float32Array.from(basis.subarray(latent * dim, (latent + 1) * dim), (x) => x * IMAGE_OFFSET);

  const noise = new Prng(deriveSeed(seed, 'token-noise'));
  const tokenTable = new Float32Array(VOCAB_SIZE * latent);
  for (let t = 0; t < VOCAB_SIZE; t++) {
    const row = t * latent;
    const colour = fit.vectors.get(t);
    if (colour) for (let c = 0; c < k; c++) tokenTable[row + c] = colour[c];
    const scale = options.padTokenScale?.id === t ? options.padTokenScale.scale : 1;
    for (let r = 0; r < NOISE_DIMS; r++) tokenTable[row + k + r] = noise.gaussian() * TOKEN_NOISE_STD * scale;
  }

  const prototypes = Float32Array.from(COLOUR_PALETTE.flatMap((c) => colourFeatures(c.rgb)));
  return { dim, colours: k, latent, colourDirections, textProjection, imageOffset, tokenTable, prototypes };
}
