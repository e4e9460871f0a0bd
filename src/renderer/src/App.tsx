import { useEffect, useState } from 'react';
import type { OpOutput } from '../../shared/contract.js';
import { IndexPanel } from './IndexPanel.js';
import { LANGUAGES, useI18n } from './i18n.js';
import { errorText, usePlatform } from './platform-context.js';
import { SearchPanel } from './SearchPanel.js';
import { SortPanel } from './SortPanel.js';

type ModelList = OpOutput<'models.list'>;

export function App() {
  const { t, language, setLanguage } = useI18n();
  const { client, missingToken } = usePlatform();
  const [models, setModels] = useState<ModelList | null>(null);
  const [model, setModel] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (missingToken) return;
    client
      .invoke('models.list', {})
      .then((list) => {
        setModels(list);
        const usable = list.models.filter((m) => m.installed && !m.error);
        setModel(list.current ?? usable.find((m) => m.isDefault)?.id ?? usable[0]?.id);
      })
      .catch((err: unknown) => setError(errorText(err)));
  }, [client, missingToken]);

  const usable = models?.models.filter((m) => m.installed && !m.error) ?? [];

  return (
    <div className="app">
      <header>
        <div>
          <h1>{t('app.title')}</h1>
          <p className="muted">{t('app.tagline')}</p>
        </div>
        <label className="inline">
          {t('app.language')}{' '}
          <select value={language} onChange={(e) => setLanguage(LANGUAGES.find((l) => l === e.target.value) ?? 'pt-BR')}>
            <option value="pt-BR">Português (Brasil)</option>
            <option value="en">English</option>
          </select>
        </label>
      </header>
      {missingToken && <p className="error">{t('app.noToken')}</p>}
      {error && (
        <p className="error">
          {t('error.prefix')}: {error}
        </p>
      )}
      {models && (
        <label className="inline">
          {t('model.label')}{' '}
          {usable.length === 0 ? (
            <span className="error">{t('model.none')}</span>
          ) : (
            <select value={model} onChange={(e) => setModel(e.target.value)}>
              {usable.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          )}
        </label>
      )}
      <main>
        <IndexPanel model={model} />
        <SortPanel model={model} />
        <SearchPanel model={model} />
      </main>
    </div>
  );
}
