import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

export const LANGUAGES = ['pt-BR', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

// Portuguese is the reference: English must have every key Portuguese has (checked by the type).
const ptBR = {
  'app.title': 'Triagem',
  'app.tagline': 'Separe e pesquise imagens no seu computador, sem internet.',
  'app.language': 'Idioma',
  'app.noToken': 'Abra o endereço completo que o comando `triagem serve` mostrou (ele contém a chave da sessão).',
  'model.label': 'Modelo',
  'model.none': 'Nenhum modelo instalado. Rode `triagem models download clip-vit-b32`.',
  'index.title': 'Indexar uma pasta',
  'index.folder': 'Pasta (caminho completo)',
  'index.placeholder': '/home/voce/Fotos/pauta',
  'index.start': 'Indexar',
  'index.cancel': 'Cancelar',
  'index.scanning': 'Procurando imagens… {done} encontradas',
  'index.progress': '{done} de {total} · {rate}/s · faltam {eta}',
  'index.progressNoEta': '{done} de {total} · {rate}/s',
  'index.done': '{indexed} novas, {unchanged} sem mudança, {reused} repetidas, {failed} com erro ({seconds} s)',
  'index.cancelled': 'Indexação cancelada.',
  'index.warnings': 'Indexadas, mas confira ({count}):',
  'search.title': 'Pesquisar',
  'search.placeholder': 'ex.: protesto com faixas, carro vermelho',
  'search.go': 'Pesquisar',
  'search.empty': 'Nada encontrado.',
  'search.took': '{count} resultados em {ms} ms',
  'sort.title': 'Separar por rótulos',
  'sort.labels': 'Rótulos separados por vírgula',
  'sort.placeholder': 'documento, meme, arma, paisagem',
  'sort.go': 'Separar',
  'sort.counts': '{total} imagens separadas',
  'sort.unembedded': '{count} imagens ainda não indexadas com este modelo',
  'error.prefix': 'Erro',
} as const;

type Key = keyof typeof ptBR;

const en: Record<Key, string> = {
  'app.title': 'Triagem',
  'app.tagline': 'Sort and search images on your computer, offline.',
  'app.language': 'Language',
  'app.noToken': 'Open the full address `triagem serve` printed (it holds the session key).',
  'model.label': 'Model',
  'model.none': 'No model installed. Run `triagem models download clip-vit-b32`.',
  'index.title': 'Index a folder',
  'index.folder': 'Folder (full path)',
  'index.placeholder': '/home/you/Pictures/story',
  'index.start': 'Index',
  'index.cancel': 'Cancel',
  'index.scanning': 'Looking for images… {done} found',
  'index.progress': '{done} of {total} · {rate}/s · {eta} left',
  'index.progressNoEta': '{done} of {total} · {rate}/s',
  'index.done': '{indexed} new, {unchanged} unchanged, {reused} duplicates, {failed} failed ({seconds} s)',
  'index.cancelled': 'Indexing cancelled.',
  'index.warnings': 'Indexed, but worth a look ({count}):',
  'search.title': 'Search',
  'search.placeholder': 'e.g. protest with banners, red car',
  'search.go': 'Search',
  'search.empty': 'Nothing found.',
  'search.took': '{count} results in {ms} ms',
  'sort.title': 'Sort by labels',
  'sort.labels': 'Comma-separated labels',
  'sort.placeholder': 'document, meme, weapon, landscape',
  'sort.go': 'Sort',
  'sort.counts': '{total} images sorted',
  'sort.unembedded': '{count} images not indexed with this model yet',
  'error.prefix': 'Error',
};

const DICTIONARIES: Record<Language, Record<Key, string>> = { 'pt-BR': ptBR, en };

export type Translate = (key: Key, vars?: Record<string, string | number>) => string;

export function translate(language: Language, key: Key, vars: Record<string, string | number> = {}): string {
  return DICTIONARIES[language][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

/** Seconds as "1 min 20 s" / "45 s"; the units read the same in both languages. */
export function formatEta(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);
const STORAGE_KEY = 'triagem-language';

function initialLanguage(): Language {
  const saved = localStorage.getItem(STORAGE_KEY);
  return LANGUAGES.find((l) => l === saved) ?? 'pt-BR';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [language, setLanguageState] = useState<Language>(initialLanguage);
  const setLanguage = useCallback((next: Language) => {
    localStorage.setItem(STORAGE_KEY, next);
    document.documentElement.lang = next;
    setLanguageState(next);
  }, []);
  const value = useMemo<I18n>(() => ({ language, setLanguage, t: (key, vars) => translate(language, key, vars) }), [language, setLanguage]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(I18nContext);
  if (!ctx) throw new Error('useI18n outside I18nProvider');
  return ctx;
}
