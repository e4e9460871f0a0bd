// First run, the way Ente does it: pick the model in plain words (multilingual and recommended for
// Portuguese, or English-only and smaller, with sizes), download it with progress, rate, ETA,
// cancel and resume — or import it from a folder on an offline laptop — then open a library.
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { EventPayload, OpOutput } from '../../../shared/contract.js';
import { currentLanguage } from '../i18n/index.js';
import { formatBytes, formatDuration } from '../lib/format.js';
import { errorCode, errorText } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';

type Model = OpOutput<'models.list'>['models'][number];

function multilingual(m: Model): boolean {
  return m.languages.includes('pt') || (m.defaultFor ?? []).includes('pt');
}

function downloadSize(m: Model): number | undefined {
  const p = m.defaultPrecision;
  return p ? m.downloadBytes?.[p] : undefined;
}

export function FirstRun() {
  const { t } = useTranslation();
  const models = useAppState((s) => s.models);
  const usable = models?.models.some((m) => m.installed && !m.error) ?? false;
  const [step, setStep] = useState<1 | 2>(usable ? 2 : 1);
  return (
    <main className="first-run" aria-labelledby="first-run-title">
      <div className="first-run-card">
        <h1 id="first-run-title">{t('firstRun.title')}</h1>
        <ol className="steps" aria-label={t('firstRun.step', { n: step })}>
          <li className={step === 1 ? 'current' : 'done'} aria-current={step === 1 ? 'step' : undefined}>
            1. {t('firstRun.stepModel')}
          </li>
          <li className={step === 2 ? 'current' : ''} aria-current={step === 2 ? 'step' : undefined}>
            2. {t('firstRun.stepLibrary')}
          </li>
        </ol>
        {step === 1 ? <ModelStep onNext={() => setStep(2)} /> : <LibraryStep onBack={() => setStep(1)} />}
      </div>
    </main>
  );
}

function ModelStep({ onNext }: { onNext(): void }) {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const models = useAppState((s) => s.models);
  const list = models?.models ?? [];
  const catalog = list.filter((m) => m.inCatalog);
  const others = list.filter((m) => !m.inCatalog && m.installed);
  const recommended = useMemo(() => {
    const wantPt = currentLanguage() === 'pt-BR';
    return (wantPt ? catalog.find(multilingual) : catalog.find((m) => m.isDefault)) ?? catalog[0] ?? others[0];
  }, [catalog, others]);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const selected = chosen ?? list.find((m) => m.installed && !m.error)?.id ?? recommended?.id;
  const [progress, setProgress] = useState<EventPayload<'models.progress'> | null>(null);
  const [state, setState] = useState<'idle' | 'downloading' | 'paused' | 'importing'>('idle');
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lang = i18n.language;

  useEffect(() => app.client.on('models.progress', (p) => setProgress(p)), [app]);

  const current = list.find((m) => m.id === selected);
  const ready = current?.installed && !current.error;

  async function download() {
    if (!current) return;
    setState('downloading');
    setError(null);
    setMessage(null);
    setProgress(null);
    try {
      await app.client.invoke('models.download', { id: current.id });
      await app.refreshModels();
      setState('idle');
      setMessage(t('firstRun.ready', { name: current.name }));
    } catch (err) {
      if (errorCode(err) === 'cancelled') setState('paused');
      else {
        setState('idle');
        setError(errorText(err));
      }
    }
  }

  async function importFolder() {
    const [folder] = await app.pickFolders('model');
    if (!folder) return;
    setState('importing');
    setError(null);
    setMessage(null);
    try {
      const out = await app.client.invoke('models.import', { folder });
      await app.refreshModels();
      setChosen(out.id);
      setMessage(t('firstRun.imported', { name: out.name ?? out.id, count: out.files }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setState('idle');
    }
  }

  const card = (m: Model) => {
    const multi = multilingual(m);
    const size = downloadSize(m);
    const title = !m.inCatalog ? t('firstRun.otherTitle', { name: m.name }) : multi ? t('firstRun.multilingualTitle') : t('firstRun.englishTitle');
    const badge = !m.inCatalog ? null : multi ? t('firstRun.multilingualBadge') : t('firstRun.englishBadge');
    const body = !m.inCatalog ? t('firstRun.otherBody') : multi ? t('firstRun.multilingualBody') : t('firstRun.englishBody');
    return (
      <label key={m.id} className={`model-card${selected === m.id ? ' chosen' : ''}`} data-testid={`model-${m.id}`}>
        <input type="radio" name="model" value={m.id} checked={selected === m.id} onChange={() => setChosen(m.id)} disabled={state === 'downloading'} />
        <span className="model-head">
          <strong>{title}</strong>
          {badge && <span className={`chip${multi ? ' accent' : ''}`}>{badge}</span>}
        </span>
        <span>{body}</span>
        <span className="muted small-text">
          {m.name}
          {' · '}
          {m.installed ? (m.error ? t('firstRun.broken', { problem: m.error }) : t('firstRun.installed')) : size ? t('firstRun.size', { size: formatBytes(lang, size) }) : ''}
        </span>
      </label>
    );
  };

  const total = progress?.bytesTotal;
  const fraction = total ? progress.bytesDone / total : null;
  return (
    <section aria-labelledby="model-step">
      <h2 id="model-step" className="sr-only">
        {t('firstRun.stepModel')}
      </h2>
      <p className="lead">{t('firstRun.intro')}</p>
      <div className="model-cards" role="radiogroup" aria-label={t('firstRun.stepModel')}>
        {[...catalog].sort((a, b) => Number(b.id === recommended?.id) - Number(a.id === recommended?.id)).map(card)}
        {others.map(card)}
      </div>

      {(state === 'downloading' || state === 'paused') && current && (
        <div className="download" data-testid="download-progress">
          <p>
            <strong>{t('firstRun.downloading', { name: current.name })}</strong>
          </p>
          <div
            className="progress"
            role="progressbar"
            aria-label={t('firstRun.downloading', { name: current.name })}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
          >
            <div className={`bar${fraction === null ? ' indeterminate' : ''}`} style={fraction === null ? undefined : { width: `${(fraction * 100).toFixed(1)}%` }} />
          </div>
          <p className="muted small-text" data-testid="download-text">
            {progress?.phase === 'validating'
              ? t('firstRun.validating')
              : progress && (
                  <>
                    {total ? t('firstRun.progress', { done: formatBytes(lang, progress.bytesDone), total: formatBytes(lang, total) }) : formatBytes(lang, progress.bytesDone)}
                    {progress.rate > 0 && ` · ${t('firstRun.rate', { rate: formatBytes(lang, progress.rate) })}`}
                    {progress.eta !== undefined && ` · ${t('firstRun.eta', { eta: formatDuration(lang, progress.eta) })}`}
                  </>
                )}
          </p>
          {state === 'paused' && <p>{t('firstRun.paused')}</p>}
        </div>
      )}
      {message && (
        <p className="success" role="status" data-testid="model-message">
          {message}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {t('common.error', { message: error })}
        </p>
      )}

      <div className="row wrap">
        {current && !ready && state !== 'downloading' && current.inCatalog && (
          <button type="button" className="primary" onClick={() => void download()} data-testid="download">
            {state === 'paused' ? t('firstRun.resume') : t('firstRun.download', { size: downloadSize(current) ? formatBytes(lang, downloadSize(current) ?? 0) : '' })}
          </button>
        )}
        {state === 'downloading' && (
          <button type="button" onClick={() => void app.client.invoke('models.cancel', {})} data-testid="download-cancel">
            {t('firstRun.cancelDownload')}
          </button>
        )}
        <button type="button" onClick={() => void importFolder()} disabled={state === 'downloading' || state === 'importing'} data-testid="import-model">
          {state === 'importing' ? t('firstRun.importing') : t('firstRun.importButton')}
        </button>
        <span className="spacer" />
        <button type="button" className={ready ? 'primary' : ''} disabled={!ready} onClick={onNext} data-testid="model-next">
          {t('firstRun.next')}
        </button>
      </div>
      <p className="muted small-text">{t('firstRun.importHint')}</p>
      {!ready && <p className="sr-only">{t('firstRun.chooseModel')}</p>}
    </section>
  );
}

function LibraryStep({ onBack }: { onBack(): void }) {
  const { t } = useTranslation();
  const app = useApp();
  const status = useAppState((s) => s.status);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function open(path?: string) {
    setBusy(true);
    setError(null);
    try {
      await app.finishFirstRun(path);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="library-step">
      <h2 id="library-step">{t('firstRun.libraryTitle')}</h2>
      <p className="lead">{t('firstRun.libraryBody')}</p>
      {status && (
        <div className="card inset">
          <p>
            <strong>{t('firstRun.useDefault')}</strong>
          </p>
          <p className="mono break small-text">{t('firstRun.defaultPath', { path: status.library.path })}</p>
          <p className="muted small-text">{status.library.exists ? t('firstRun.existing') : t('firstRun.willCreate')}</p>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {t('common.error', { message: error })}
        </p>
      )}
      <div className="row wrap">
        <button type="button" onClick={onBack}>
          {t('firstRun.back')}
        </button>
        <span className="spacer" />
        <button
          type="button"
          disabled={busy}
          onClick={async () => {
            const [picked] = await app.pickFolders('library');
            if (!picked) return;
            const sep = picked.includes('\\') && !picked.includes('/') ? '\\' : '/';
            await open(/\.(sqlite|db|triagem)$/i.test(picked) ? picked : `${picked.replace(/[\\/]+$/, '')}${sep}triagem.sqlite`);
          }}
        >
          {t('firstRun.openOther')}
        </button>
        <button type="button" className="primary" disabled={busy} onClick={() => void open()} data-testid="start">
          {t('firstRun.start')}
        </button>
      </div>
    </section>
  );
}
