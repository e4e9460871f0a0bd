// i18next with react-i18next, as Ente and Heroic do: typed keys (pt-BR is the reference), plurals
// through Intl.PluralRules, numbers and dates through Intl ("{{count, number}}" → "1.240").
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.js';
import ptBR from './pt-BR.js';

export const LANGUAGES = ['pt-BR', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export const LANGUAGE_NAMES: Record<Language, string> = { 'pt-BR': 'Português (Brasil)', en: 'English' };

const STORAGE_KEY = 'triagem-language';

type Tree = { readonly [key: string]: string | Tree };

/**
 * Portuguese plural categories beyond one/other: "zero" (CLDR puts 0 with "one": "0 foto", but a
 * Brazilian reads "0 fotos") and "many" (1.000.000 and up). Both read like "other", so they are
 * derived here rather than written twice in pt-BR.ts.
 */
function withPortuguesePlurals(tree: Tree): Tree {
  const out: Record<string, string | Tree> = {};
  for (const [key, value] of Object.entries(tree)) {
    if (typeof value !== 'string') {
      out[key] = withPortuguesePlurals(value);
      continue;
    }
    out[key] = value;
    if (key.endsWith('_other')) {
      const stem = key.slice(0, -'_other'.length);
      if (!(`${stem}_zero` in tree)) out[`${stem}_zero`] = value;
      if (!(`${stem}_many` in tree)) out[`${stem}_many`] = value;
    }
  }
  return out;
}

/** A saved choice, else Portuguese for any Portuguese system locale, else English. */
export function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  const chosen = LANGUAGES.find((l) => l === saved);
  if (chosen) return chosen;
  const locales = navigator.languages?.length ? navigator.languages : [navigator.language];
  return locales.some((l) => l?.toLowerCase().startsWith('pt')) ? 'pt-BR' : 'en';
}

export function setLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  void i18next.changeLanguage(language);
}

export function currentLanguage(): Language {
  return LANGUAGES.find((l) => l === i18next.language) ?? 'pt-BR';
}

export function initI18n(language: Language = initialLanguage()): typeof i18next {
  document.documentElement.lang = language;
  i18next.on('languageChanged', (lng) => {
    document.documentElement.lang = lng;
  });
  void i18next.use(initReactI18next).init({
    lng: language,
    fallbackLng: 'pt-BR',
    supportedLngs: [...LANGUAGES],
    initAsync: false,
    resources: {
      'pt-BR': { translation: withPortuguesePlurals(ptBR) },
      en: { translation: en },
    },
    // React escapes text itself.
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  return i18next;
}

export { i18next };
