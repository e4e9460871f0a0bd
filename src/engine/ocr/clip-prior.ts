// An optional second opinion for the likely-text gate from the CLIP embeddings the library already
// holds: the probability, by zero-shot classification, that an image is a screenshot, a document,
// a meme or a sign rather than an ordinary photo. It costs one batch of text prompts, no image
// work. It only ever lets more images through the gate (see looksLikeText).

import type { Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import { encodeLabels } from '../sort/label-embeddings.js';
import { labelMatrix, scoreMatrix } from '../sort/scoring.js';

const TEXT_LABELS = [
  'a screenshot of a phone or computer screen',
  'a scanned document or a page of text',
  'a meme with a text caption',
  'a sign or a poster with writing on it',
  'uma captura de tela com texto',
  'um documento ou uma página de texto',
];
const OTHER_LABELS = [
  'a photo of people',
  'a photo of a landscape',
  'a photo of an animal',
  'a photo of a street or a building',
  'a photo of food',
  'a photo of a vehicle',
];
/** The labels are whole prompts already. */
const VERBATIM = ['{}'];
const CHUNK = 4096;

/** Text-bearing probability (0–1) for each of `contentIds` that has an embedding from `model`. */
export async function clipTextScores(library: Library, model: ClipModel, contentIds: readonly number[], modelKey = library.modelKey(model.info)): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (contentIds.length === 0 || library.modelId(modelKey) === undefined) return out;
  const labels = labelMatrix(await encodeLabels(model, [...TEXT_LABELS, ...OTHER_LABELS], VERBATIM));
  const sigmoid = model.info.scoring.kind === 'sigmoid';
  for (let i = 0; i < contentIds.length; i += CHUNK) {
    const m = library.loadEmbeddings(modelKey, contentIds.slice(i, i + CHUNK));
    const rows = m.contentIds.length;
    const scores = scoreMatrix(m.data, rows, labels, model.info.scoring);
    for (let r = 0; r < rows; r++) {
      let p = 0;
      for (let k = 0; k < TEXT_LABELS.length; k++) {
        const s = scores[r * labels.count + k];
        // Softmax shares one unit of probability across all labels; sigmoids are independent.
        p = sigmoid ? Math.max(p, s) : p + s;
      }
      out.set(m.contentIds[r], p);
    }
  }
  return out;
}
