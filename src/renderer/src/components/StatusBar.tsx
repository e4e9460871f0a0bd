// The bottom line: library size, the model in use, and indexing progress (count, rate, ETA,
// cancel) that stays visible whatever the user is doing meanwhile.
import { useTranslation } from 'react-i18next';
import { formatDuration, formatNumber } from '../lib/format.js';
import { useApp, useAppState } from '../state/context.js';

export function IndexProgressLine() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const index = useAppState((s) => s.index);
  const p = index.progress;
  const lang = i18n.language;
  const counting = p !== null && (p.phase === 'index' || p.phase === 'ocr');
  const fraction = p && counting && p.total > 0 ? p.done / p.total : null;
  const progressText = (q: NonNullable<typeof p>) => (q.phase === 'ocr' ? t('ocr.progress', { done: q.done, total: q.total }) : t('index.progress', { done: q.done, total: q.total }));
  return (
    <div className="index-progress" data-testid="index-progress">
      <div
        className="progress"
        role="progressbar"
        aria-label={t('index.panel')}
        aria-valuemin={0}
        aria-valuemax={p?.total ?? 0}
        aria-valuenow={counting ? p.done : undefined}
        aria-valuetext={p ? (p.phase === 'scan' ? t('index.scanning', { count: p.done }) : progressText(p)) : t('common.working')}
      >
        <div className={`bar${fraction === null ? ' indeterminate' : ''}`} style={fraction === null ? undefined : { width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      <span className="index-text" data-testid="index-text">
        {!p && t('common.working')}
        {p?.phase === 'scan' && t('index.scanning', { count: p.done })}
        {p?.phase === 'index' && (
          <>
            {t('index.progress', { done: p.done, total: p.total })}
            {p.rate > 0 && ` · ${t('index.rate', { rate: formatNumber(lang, p.rate, p.rate < 10 ? 1 : 0) })}`}
            {p.eta !== null && p.done < p.total && ` · ${t('index.eta', { eta: formatDuration(lang, p.eta) })}`}
            {p.failed > 0 && ` · ${t('index.failed', { count: p.failed })}`}
          </>
        )}
        {p?.phase === 'ocr' && (
          <>
            {progressText(p)}
            {p.rate > 0 && ` · ${t('index.rate', { rate: formatNumber(lang, p.rate, p.rate < 10 ? 1 : 0) })}`}
            {p.eta !== null && p.done < p.total && ` · ${t('index.eta', { eta: formatDuration(lang, p.eta) })}`}
            {p.withText !== undefined && ` · ${t('ocr.withText', { count: p.withText })}`}
            {p.failed > 0 && ` · ${t('ocr.failedCount', { count: p.failed })}`}
          </>
        )}
      </span>
      <button type="button" className="small" onClick={() => void app.cancelIndex()} data-testid="index-cancel">
        {t('index.cancel')}
      </button>
    </div>
  );
}

export function StatusBar() {
  const { t } = useTranslation();
  const app = useApp();
  const index = useAppState((s) => s.index);
  const library = useAppState((s) => s.library);
  const model = library?.models[0]?.key.split(':')[0];
  const failed = index.result?.failed.length ?? 0;
  return (
    <footer className="status-bar">
      <span data-testid="library-count">{library ? t('status.files', { count: library.files }) : ''}</span>
      {model && <span className="muted">{t('status.model', { model })}</span>}
      <span className="spacer" />
      {index.running && <IndexProgressLine />}
      {/* Always reachable: it also holds the library's switch for reading text in images. */}
      {!index.running && library && (
        <button type="button" className="link small" onClick={() => app.openDialog({ kind: 'index' })} data-testid="index-details">
          {failed > 0 ? t('index.failed', { count: failed }) : t('index.details')}
        </button>
      )}
    </footer>
  );
}
