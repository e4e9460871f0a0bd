// Is the user working in Portuguese? Steers the default model (a multilingual one for Portuguese).
//
// Hand-written on purpose: labels and queries are two to six words, where general language
// detectors (trigram models such as franc) are unreliable and larger than this whole check. Letters
// Portuguese has and English lacks, the -lho/-nha endings English words never have, or Portuguese
// function words decide; anything else is "not known to be Portuguese", which keeps today's
// default. ("a" and "no" are words in both languages and count for neither.)

const PT_LETTERS = /[ãõçáàâéêíóôú]/i;
const PT_ENDING = /(lh|nh)(o|a|os|as)$/;
const PT_WORDS = new Set([
  'de', 'da', 'do', 'das', 'dos', 'um', 'uma', 'uns', 'umas', 'com', 'sem', 'em', 'na', 'nos', 'nas',
  'ou', 'e', 'para', 'por', 'pelo', 'pela', 'perto', 'foto', 'fotos', 'imagem', 'imagens', 'pessoa', 'pessoas',
  'arma', 'armas', 'veículo', 'veiculo', 'documento', 'documentos', 'carro', 'ônibus', 'onibus', 'casa', 'rua',
  'cachorro', 'gato', 'comida', 'prédio', 'predio', 'paisagem', 'natureza', 'animal', 'militar', 'tanque',
]);
const EN_WORDS = new Set(['the', 'of', 'and', 'or', 'an', 'with', 'photo', 'picture', 'image', 'near', 'in', 'on', 'person', 'people']);

/** True when the texts, taken together, read as Portuguese rather than English. */
export function looksPortuguese(texts: readonly string[]): boolean {
  let pt = 0;
  let en = 0;
  for (const text of texts) {
    if (PT_LETTERS.test(text)) pt += 2;
    for (const word of text.toLocaleLowerCase('pt-BR').split(/[^\p{L}]+/u)) {
      if (PT_WORDS.has(word) || PT_ENDING.test(word)) pt++;
      if (EN_WORDS.has(word)) en++;
    }
  }
  return pt > en;
}

/** A locale such as "pt-BR", "pt_PT.UTF-8" or "pt". */
export function isPortugueseLocale(locale: string | undefined): boolean {
  return locale !== undefined && /^pt([-_.]|$)/i.test(locale.trim());
}

/** The user's locale as the OS tells it (LC_ALL, LC_MESSAGES, LANG), else the JS runtime's. */
export function systemLocale(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.LC_ALL || env.LC_MESSAGES || env.LANG;
  if (fromEnv && fromEnv !== 'C' && fromEnv !== 'POSIX' && !fromEnv.startsWith('C.')) return fromEnv;
  try {
    return Intl.DateTimeFormat().resolvedOptions().locale;
  } catch {
    return undefined;
  }
}
