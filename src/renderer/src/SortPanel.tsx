import { useState, type FormEvent } from 'react';
import type { OpOutput } from '../../shared/contract.js';
import { useI18n } from './i18n.js';
import { errorText, usePlatform } from './platform-context.js';

type SortOutput = OpOutput<'sort.run'>;

export function SortPanel({ model }: { model: string | undefined }) {
  const { t } = useI18n();
  const { client } = usePlatform();
  const [labels, setLabels] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SortOutput | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const list = labels
        .split(',')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      setResult(await client.invoke('sort.run', { labels: list, limit: 0, ...(model ? { model } : {}) }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <h2>{t('sort.title')}</h2>
      <form onSubmit={run} className="row">
        <input className="grow" value={labels} onChange={(e) => setLabels(e.target.value)} placeholder={t('sort.placeholder')} aria-label={t('sort.labels')} />
        <button type="submit" disabled={busy || labels.trim() === ''}>
          {t('sort.go')}
        </button>
      </form>
      {result && (
        <>
          <p className="muted">{t('sort.counts', { total: result.total })}</p>
          <table className="counts">
            <tbody>
              {Object.entries(result.counts).map(([label, count]) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  <td>{count}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {result.unembedded > 0 && <p className="muted">{t('sort.unembedded', { count: result.unembedded })}</p>}
        </>
      )}
      {error && (
        <p className="error">
          {t('error.prefix')}: {error}
        </p>
      )}
    </section>
  );
}
