import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LANGUAGE_NAMES, LANGUAGES, setLanguage, type Language } from '../i18n/index.js';
import { baseName } from '../lib/format.js';
import { useApp, useAppState } from '../state/context.js';

export function TopBar() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const query = useAppState((s) => s.search.query);
  const mode = useAppState((s) => s.search.mode);
  const library = useAppState((s) => s.status?.library.path);
  const [text, setText] = useState(query);
  useEffect(() => setText(mode === 'text' ? query : ''), [query, mode]);
  return (
    <header className="top-bar">
      <div className="brand">
        <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <rect x="3" y="3" width="8" height="8" rx="1.5" fill="currentColor" opacity="0.9" />
          <rect x="13" y="3" width="8" height="8" rx="1.5" fill="currentColor" opacity="0.55" />
          <rect x="3" y="13" width="8" height="8" rx="1.5" fill="currentColor" opacity="0.55" />
          <rect x="13" y="13" width="8" height="8" rx="1.5" fill="currentColor" opacity="0.3" />
        </svg>
        <span>{t('app.title')}</span>
      </div>
      {library && (
        <span className="library-name muted" title={t('app.libraryTitle', { path: library })}>
          {t('app.library', { name: baseName(library) })}
        </span>
      )}
      <form
        className="search-form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          void app.searchText(text);
        }}
      >
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={t('search.placeholder')}
          aria-label={t('search.label')}
          data-testid="search-input"
          spellCheck={false}
        />
        <button type="submit" disabled={!text.trim()}>
          {t('search.go')}
        </button>
      </form>
      <span className="spacer" />
      <button type="button" className="icon-button" onClick={() => app.openDialog({ kind: 'help' })} aria-label={t('app.help')} title={t('app.help')} data-testid="help-button">
        ?
      </button>
      <label className="inline">
        <span className="sr-only">{t('app.language')}</span>
        <select value={i18n.language} onChange={(e) => setLanguage((LANGUAGES.find((l) => l === e.target.value) ?? 'pt-BR') as Language)} data-testid="language" aria-label={t('app.language')}>
          {LANGUAGES.map((l) => (
            <option key={l} value={l}>
              {LANGUAGE_NAMES[l]}
            </option>
          ))}
        </select>
      </label>
    </header>
  );
}
