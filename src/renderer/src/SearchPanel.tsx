import { useState, type FormEvent } from 'react';
import type { OpOutput } from '../../shared/contract.js';
import { useI18n } from './i18n.js';
import { errorText, usePlatform } from './platform-context.js';
import { ThumbGrid } from './ThumbGrid.js';

type SearchOutput = OpOutput<'search.text'>;

export function SearchPanel({ model }: { model: string | undefined }) {
  const { t } = useI18n();
  const { client } = usePlatform();
  const [query, setQuery] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SearchOutput | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function search(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await client.invoke('search.text', { query, limit: 200, ...(model ? { model } : {}) }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="search">
      <h2>{t('search.title')}</h2>
      <form onSubmit={search} className="row">
        <input className="grow" type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder={t('search.placeholder')} aria-label={t('search.title')} />
        <button type="submit" disabled={busy || query.trim() === ''}>
          {t('search.go')}
        </button>
      </form>
      {result && <p className="muted">{t('search.took', { count: result.hits.length, ms: Math.round(result.tookMs) })}</p>}
      {result && result.hits.length === 0 && <p>{t('search.empty')}</p>}
      {result && result.hits.length > 0 && <ThumbGrid hits={result.hits} />}
      {error && (
        <p className="error">
          {t('error.prefix')}: {error}
        </p>
      )}
    </section>
  );
}
