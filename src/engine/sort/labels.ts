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

// Characters that change nothing a person sees: zero-width spaces and joiners, soft hyphens, BOMs,
// bidi controls, variation selectors. Pasted from chats and web pages, they make two labels that
// look the same into different strings.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cc}]/gu;
const EDGE_SPACE = /^[\s\p{Default_Ignorable_Code_Point}]+|[\s\p{Default_Ignorable_Code_Point}]+$/gu;

/**
 * What makes two labels the same label: compatibility-normalized (NFKC: "é" typed either way,
 * full-width letters), invisible characters dropped, runs of spaces as one, case ignored.
 */
export function labelKey(label: string): string {
  return label.normalize('NFKC').replace(INVISIBLE, '').replace(/\s+/g, ' ').trim().toLocaleLowerCase();
}

/** A label as a message can show it: invisible characters written as \u{…}. */
export function showLabel(label: string): string {
  return `"${label.replace(INVISIBLE, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`)}"`;
}

/**
 * Trims (spaces and invisible characters at either end), NFC-normalizes (a label typed on macOS
 * arrives decomposed) and rejects lists that would make scores meaningless: fewer than one label,
 * a label with nothing visible in it, the same label twice in any spelling (`red, Red`, NFC/NFD
 * twins, a zero-width space inside: they would split one softmax between them and each score
 * would mean nothing), or a label named like the threshold bucket.
 */
export function normalizeLabels(labels: readonly string[], threshold?: number): string[] {
  const out: string[] = [];
  const seen = new Map<string, string>();
  for (const raw of labels) {
    const label = raw.normalize('NFC').replace(EDGE_SPACE, '');
    if (raw.trim() === '') continue;
    const key = labelKey(label);
    if (key === '') throw new TriagemError(`label ${showLabel(raw)} has no visible characters`, 'invalid-labels');
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      const how = earlier === label ? '' : ` (also as ${showLabel(earlier)}: labels are the same whatever their case, accent encoding or invisible characters)`;
      throw new TriagemError(`label ${showLabel(label)} is given twice${how}; give each label once`, 'invalid-labels');
    }
    seen.set(key, label);
    out.push(label);
  }
  if (out.length === 0) throw new TriagemError('no labels given', 'invalid-labels');
  if (threshold !== undefined && seen.has(labelKey(UNSURE_LABEL))) {
    throw new TriagemError(
      `label "${UNSURE_LABEL}" is reserved for images below the threshold; rename it`,
      'invalid-labels',
    );
  }
  return out;
}

/**
 * A preset's labels followed by the user's own. A label of the user's that the preset already has
 * is dropped (asking for "meme" on top of a preset holding it is no mistake); duplicates within the
 * user's own list are left for `normalizeLabels` to reject. Returns the dropped labels too.
 */
export function combineLabels(preset: readonly string[], given: readonly string[]): { labels: string[]; dropped: string[] } {
  const inPreset = new Set(preset.map(labelKey));
  const dropped = given.filter((l) => inPreset.has(labelKey(l)));
  return { labels: [...preset, ...given.filter((l) => !inPreset.has(labelKey(l)))], dropped };
}
