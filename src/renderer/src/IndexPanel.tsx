import { useEffect, useState, type FormEvent } from 'react';
import type { IndexProgressEvent, OpOutput } from '../../shared/contract.js';
import { formatEta, useI18n } from './i18n.js';
import { errorText, usePlatform } from './platform-context.js';

type Summary = OpOutput<'index.start'>;

export function IndexPanel({ model }: { model: string | undefined }) {
  const { t } = useI18n();
  const { client } = usePlatform();
  const [folder, setFolder] = useState('');
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<IndexProgressEvent | null>(null);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => client.on('index.progress', setProgress), [client]);

  async function start(e: FormEvent) {
    e.preventDefault();
    setRunning(true);
    setSummary(null);
    setError(null);
    setProgress(null);
    try {
      setSummary(await client.invoke('index.start', { folders: [folder.trim()], ...(model ? { model } : {}) }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setRunning(false);
    }
  }

  const fraction = progress && progress.total > 0 ? progress.done / progress.total : 0;
  let status = '';
  if (progress && running) {
    const vars = { done: progress.done, total: progress.total, rate: progress.rate.toFixed(1) };
    if (progress.phase === 'scan') status = t('index.scanning', vars);
    else if (progress.eta !== null) status = t('index.progress', { ...vars, eta: formatEta(progress.eta) });
    else status = t('index.progressNoEta', vars);
  }

  return (
    <section>
      <h2>{t('index.title')}</h2>
      <form onSubmit={start} className="row">
        <label className="grow">
          <span className="sr-only">{t('index.folder')}</span>
          <input value={folder} onChange={(e) => setFolder(e.target.value)} placeholder={t('index.placeholder')} aria-label={t('index.folder')} />
        </label>
        <button type="submit" disabled={running || folder.trim() === ''}>
          {t('index.start')}
        </button>
        {running && (
          <button type="button" onClick={() => void client.invoke('index.cancel', {})}>
            {t('index.cancel')}
          </button>
        )}
      </form>
      {running && (
        <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(fraction * 100)}>
          <div className="bar" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
        </div>
      )}
      {status && <p className="muted">{status}</p>}
      {summary &&
        (summary.cancelled ? (
          <p>{t('index.cancelled')}</p>
        ) : (
          <p>
            {t('index.done', {
              indexed: summary.indexed,
              unchanged: summary.unchanged,
              reused: summary.reused,
              failed: summary.failed.length,
              seconds: (summary.durationMs / 1000).toFixed(1),
            })}
          </p>
        ))}
      {summary && summary.failed.length > 0 && (
        <ul className="failures">
          {summary.failed.slice(0, 50).map((f) => (
            <li key={f.path}>
              {f.path}: {f.error}
            </li>
          ))}
        </ul>
      )}
      {summary && summary.warnings.length > 0 && (
        <>
          <p>{t('index.warnings', { count: summary.warnings.length })}</p>
          <ul className="failures warnings">
            {summary.warnings.slice(0, 50).map((w) => (
              <li key={w.path}>
                {w.path}: {w.warning}
              </li>
            ))}
          </ul>
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
