// The colour model's palette: one prototype RGB per colour, and the English and Portuguese words that
// name it. Tests and other helpers import this to know which labels the synthetic model understands.

export interface PaletteColour {
  /** Canonical English name, also the prototype's id. */
  name: string;
  /** Prototype colour in sRGB [0,1]: images whose mean colour is nearest this one embed nearest it. */
  rgb: readonly [number, number, number];
  /** A solid 8-bit colour that the model reliably maps to this entry (for building test images). */
  sample: readonly [number, number, number];
  en: readonly string[];
  pt: readonly string[];
}

// Prototypes are spread so that pure/solid colours and typical "mostly X" photos land nearest the
// intended entry. Black/white/gray sit on the grey axis far enough apart that dark, light and mid
// images separate.
export const COLOUR_PALETTE: readonly PaletteColour[] = [
  { name: 'red', rgb: [0.85, 0.1, 0.1], sample: [220, 20, 20], en: ['red'], pt: ['vermelho', 'vermelha'] },
  { name: 'orange', rgb: [1.0, 0.6, 0.05], sample: [255, 150, 10], en: ['orange'], pt: ['laranja'] },
  { name: 'yellow', rgb: [1.0, 0.95, 0.1], sample: [250, 240, 30], en: ['yellow'], pt: ['amarelo', 'amarela'] },
  { name: 'green', rgb: [0.1, 0.7, 0.2], sample: [30, 170, 50], en: ['green'], pt: ['verde'] },
  { name: 'blue', rgb: [0.1, 0.25, 0.9], sample: [25, 60, 230], en: ['blue'], pt: ['azul'] },
  { name: 'purple', rgb: [0.5, 0.15, 0.65], sample: [128, 40, 165], en: ['purple'], pt: ['roxo', 'roxa'] },
  { name: 'pink', rgb: [1.0, 0.7, 0.8], sample: [255, 180, 205], en: ['pink'], pt: ['rosa'] },
  { name: 'brown', rgb: [0.5, 0.3, 0.12], sample: [125, 75, 30], en: ['brown'], pt: ['marrom'] },
  { name: 'black', rgb: [0.05, 0.05, 0.05], sample: [10, 10, 10], en: ['black'], pt: ['preto', 'preta'] },
  { name: 'white', rgb: [0.97, 0.97, 0.97], sample: [248, 248, 248], en: ['white'], pt: ['branco', 'branca'] },
  { name: 'gray', rgb: [0.5, 0.5, 0.5], sample: [128, 128, 128], en: ['gray', 'grey'], pt: ['cinza'] },
];

/** Prompt templates the token solver also fits, so "a photo of red" embeds like "red". */
export const EN_TEMPLATES: readonly string[] = ['{}', 'a photo of {}', 'a photo of a {} thing', 'a {} photo'];
export const PT_TEMPLATES: readonly string[] = ['{}', 'uma foto de {}', 'uma foto {}', 'uma foto de cor {}'];

/**
 * Words and phrases that must carry no colour at all. Several colour words share BPE pieces with these
 * (e.g. "roxa" = "rox" + "a</w>", "preto" = "pre" + "to</w>"), so fixing them at zero pushes each colour
 * onto its distinctive pieces instead of onto common words.
 */
export const NEUTRAL_PHRASES: readonly string[] = [
  'a', 'an', 'the', 'of', 'to', 'in', 'on', 'with', 'and', 'is', 'this', 'that', 'it',
  'photo', 'picture', 'image', 'thing', 'colour', 'color', 'a photo of', 'a photo of a', 'a picture of',
  'uma', 'um', 'o', 'os', 'as', 'de', 'do', 'da', 'dos', 'das', 'em', 'na', 'no', 'com', 'e', 'para',
  'foto', 'imagem', 'cor', 'coisa', 'uma foto de', 'uma foto de um', 'uma foto de uma', 'la', 'lo',
];

/** Every (colour, phrase) pair the model is fitted on; tests can iterate over these. */
export function colourPhrases(): { colour: string; language: 'en' | 'pt'; word: string; phrase: string }[] {
  const out: { colour: string; language: 'en' | 'pt'; word: string; phrase: string }[] = [];
  for (const c of COLOUR_PALETTE) {
    for (const word of c.en) for (const t of EN_TEMPLATES) out.push({ colour: c.name, language: 'en', word, phrase: t.replace('{}', word) });
    for (const word of c.pt) for (const t of PT_TEMPLATES) out.push({ colour: c.name, language: 'pt', word, phrase: t.replace('{}', word) });
  }
  return out;
}

/** CLIP's normalization constants (also used by the Immich OpenAI layout). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
export const SIGLIP_MEAN = [0.5, 0.5, 0.5] as const;
export const SIGLIP_STD = [0.5, 0.5, 0.5] as const;
