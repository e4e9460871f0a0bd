import { TriagemError } from '../errors.js';

/**
 * Prompt templates ensembled per label. English and Portuguese side by side: English-trained CLIP
 * weights still get an English sentence around a Portuguese label, and multilingual weights get a
 * sentence in the label's own language.
 */
export const DEFAULT_TEMPLATES: readonly string[] = Object.freeze([
  'a photo of {}',
  'a picture of {}',
  'uma foto de {}',
  'uma imagem de {}',
]);

export const PLACEHOLDER = '{}';

/** `"a photo of {};uma foto de {}"` → two templates. Every template must hold `{}`. */
export function parseTemplates(text: string): string[] {
  const templates = text
    .split(';')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (templates.length === 0) throw new TriagemError('no templates given', 'invalid-templates');
  validateTemplates(templates);
  return templates;
}

export function validateTemplates(templates: readonly string[]): void {
  for (const t of templates) {
    if (!t.includes(PLACEHOLDER)) {
      throw new TriagemError(`template "${t}" has no "{}" where the label goes`, 'invalid-templates');
    }
  }
}

/**
 * The texts whose embeddings are averaged into one label's embedding. A label that already holds
 * `{}` is a complete prompt written by the user, so it is used verbatim (with the braces removed).
 */
export function promptsForLabel(label: string, templates: readonly string[]): string[] {
  if (label.includes(PLACEHOLDER)) return [label.split(PLACEHOLDER).join('').replace(/\s+/g, ' ').trim()];
  return templates.map((t) => t.split(PLACEHOLDER).join(label));
}
