// The text-query language (after rclip's add/subtract queries):
//
//   ônibus queimado perto da ponte        plain text is one query, whatever its words
//   ônibus queimado +ponte                 several terms: their embeddings are added
//   ônibus queimado -noite                 "-term" subtracts a term's embedding, pushing images that
//                                          match it down the list (usually below the cut-off)
//   2:ônibus +ponte  /  ônibus +0.5:ponte  "N:" right after the sign (or at the very start) weights a
//                                          term; the default weight is 1 ("10:30" stays text)
//
// A term starts at a word that begins with "+" or "-" and runs to the next such word, so terms may
// hold several words ("+ponte de ferro"). A "+" or "-" inside a word ("pós-guerra") or standing alone
// is ordinary text. The query embedding is the normalized sum Σ ± weight · embedding(term).

import { TriagemError } from '../errors.js';

export interface QueryTerm {
  text: string;
  /** Signed: negative for "-term". */
  weight: number;
}

// A digit right after the colon reads as a time ("10:30"), not a weight.
const WEIGHT = /^(\d+(?:\.\d+)?|\.\d+):(?!\d)(.*)$/s;

export function parseQuery(query: string): QueryTerm[] {
  const words = query.normalize('NFC').trim().split(/\s+/).filter((w) => w.length > 0);
  if (words.length === 0) throw new TriagemError('the search query is empty', 'bad-query');
  const terms: { sign: 1 | -1; words: string[]; explicit: boolean }[] = [];
  let current: { sign: 1 | -1; words: string[]; explicit: boolean } = { sign: 1, words: [], explicit: false };
  for (const word of words) {
    const op = word.length > 1 && (word[0] === '+' || word[0] === '-') ? word[0] : undefined;
    if (op) {
      if (current.words.length > 0 || current.explicit) terms.push(current);
      current = { sign: op === '+' ? 1 : -1, words: [word.slice(1)], explicit: true };
    } else {
      current.words.push(word);
    }
  }
  if (current.words.length > 0 || current.explicit) terms.push(current);

  const out: QueryTerm[] = [];
  for (const t of terms) {
    let text = t.words.join(' ');
    let weight = 1;
    const m = WEIGHT.exec(text);
    if (m) {
      weight = Number(m[1]);
      text = m[2].trim();
      if (!Number.isFinite(weight) || weight <= 0) throw new TriagemError(`weight must be a positive number in "${t.words.join(' ')}"`, 'bad-query');
    }
    if (!text) throw new TriagemError(`a weight needs a term after it: "${t.words.join(' ')}"`, 'bad-query');
    out.push({ text, weight: t.sign * weight });
  }
  if (!out.some((t) => t.weight > 0)) {
    throw new TriagemError('a query needs at least one term to look for (only "-term" exclusions were given)', 'bad-query');
  }
  return out;
}

/** Σ weight · embedding, L2-normalized. Embeddings are in `terms` order. */
export function combineTerms(terms: readonly QueryTerm[], embeddings: readonly Float32Array[]): Float32Array {
  const dim = embeddings[0]?.length ?? 0;
  const out = new Float32Array(dim);
  terms.forEach((t, i) => {
    const e = embeddings[i];
    for (let j = 0; j < dim; j++) out[j] += t.weight * e[j];
  });
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += out[j] * out[j];
  norm = Math.sqrt(norm);
  if (!(norm > 1e-6)) throw new TriagemError('the query terms cancel each other out', 'bad-query');
  for (let j = 0; j < dim; j++) out[j] /= norm;
  return out;
}
