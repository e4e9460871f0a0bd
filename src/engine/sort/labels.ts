import { TriagemError } from '../errors.js';

/** Bucket for images whose best score is below the threshold. */
export const UNSURE_LABEL = 'unsure';

/**
 * Splits a comma-separated label list ("arma ou veículo militar, meme, documento"). A label that
 * itself holds a comma can be wrapped in double quotes: `"carro, moto", barco`.
 */
export function parseLabelList(text: string): string[] {
  const labels: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        current += '"';
        i++;
      } else {
        quoted = !quoted;
      }
    } else if (ch === ',' && !quoted) {
      labels.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (quoted) throw new TriagemError(`unclosed quote in label list: ${text}`, 'invalid-labels');
  labels.push(current);
  return labels.map((l) => l.trim()).filter((l) => l.length > 0);
}

/**
 * Trims, NFC-normalizes (a label typed on macOS arrives decomposed) and rejects lists that would
 * make scores meaningless: fewer than one label, duplicates (they split a softmax between them),
 * or a label named like the threshold bucket.
 */
export function normalizeLabels(labels: readonly string[], threshold?: number): string[] {
  const out = labels.map((l) => l.normalize('NFC').trim()).filter((l) => l.length > 0);
  if (out.length === 0) throw new TriagemError('no labels given', 'invalid-labels');
  const seen = new Set<string>();
  for (const label of out) {
    const key = label.toLocaleLowerCase();
    if (seen.has(key)) throw new TriagemError(`label "${label}" is given twice`, 'invalid-labels');
    seen.add(key);
  }
  if (threshold !== undefined && seen.has(UNSURE_LABEL)) {
    throw new TriagemError(
      `label "${UNSURE_LABEL}" is reserved for images below the threshold; rename it`,
      'invalid-labels',
    );
  }
  return out;
}
