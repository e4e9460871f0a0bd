// Sorting into labels the user types: the journalism presets in both languages, free labels, and
// the result as one column per label with its count, review progress, and a confidence threshold
// whose slider shows live how many photos would move to "unsure" (counted from the run's score
// histogram, so dragging costs no round trip).
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { OpOutput, RunSummary } from '../../../shared/contract.js';
import { formatDate, formatNumber, formatPercent } from '../lib/format.js';
import { errorText } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';

type Preset = OpOutput<'presets.list'>['presets'][number];

/** Slider stops: the histogram has 1000 bins, so every stop is exact. */
const STEP = 0.005;

export function SortView() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const summary = useAppState((s) => s.summary);
  const files = useAppState((s) => s.library?.files ?? 0);
  const [labels, setLabels] = useState<string[]>(() => summary?.labels ?? []);
  const [text, setText] = useState('');
  const [presets, setPresets] = useState<Preset[]>([]);
  const [templates, setTemplates] = useState<string[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [unembedded, setUnembedded] = useState(0);
  const [useConfirmed, setUseConfirmed] = useState(true);
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    app.client.invoke('presets.list', {}).then(({ presets }) => setPresets(presets), () => undefined);
  }, [app]);
  useEffect(() => {
    if (summary && labels.length === 0) setLabels(summary.labels);
  }, [summary]); // eslint-disable-line react-hooks/exhaustive-deps

  const lang = i18n.language;
  const ordered = useMemo(() => [...presets].sort((a, b) => Number(b.language === lang) - Number(a.language === lang)), [presets, lang]);

  function add(raw: string) {
    const parts = raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const next = [...labels];
    for (const p of parts) {
      if (next.some((l) => l.toLocaleLowerCase() === p.toLocaleLowerCase())) {
        setError(t('sort.duplicate', { label: p }));
        continue;
      }
      next.push(p);
    }
    setLabels(next);
    setTemplates(undefined);
    setText('');
  }

  async function run() {
    setBusy(true);
    setError(null);
    try {
      const out = await app.runSort(labels, templates, useConfirmed);
      setUnembedded(out.unembedded);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="view scroll" aria-labelledby="sort-title">
      <div className="page">
        <h1 id="sort-title">{t('sort.title')}</h1>
        <p className="lead">{t('sort.intro')}</p>

        {summary && <Results summary={summary} unembedded={unembedded} />}

        <div className="card">
          <details className="presets" open={labels.length === 0}>
            <summary>{t('sort.presets')}</summary>
            <div className="preset-list">
              {ordered.map((p) => (
                <button
                  key={p.name}
                  type="button"
                  className="preset"
                  onClick={() => {
                    setLabels(p.labels);
                    setTemplates(p.templates);
                    setError(null);
                  }}
                  title={t('sort.presetUse', { name: p.description })}
                  data-testid={`preset-${p.name}`}
                >
                  <span className="preset-lang">{p.language}</span>
                  <span>{p.description}</span>
                </button>
              ))}
            </div>
          </details>

          <h2>{t('sort.labels')}</h2>
          <ol className="label-editor" data-testid="label-list">
            {labels.map((l, i) => (
              <li key={l} className="chip label-chip">
                {i < 9 && <kbd>{i + 1}</kbd>}
                <span>{l}</span>
                <button
                  type="button"
                  className="icon-button"
                  onClick={() => {
                    setLabels(labels.filter((x) => x !== l));
                    setTemplates(undefined);
                  }}
                  aria-label={t('sort.remove', { label: l })}
                >
                  ×
                </button>
              </li>
            ))}
          </ol>
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              add(text);
              input.current?.focus();
            }}
          >
            <input ref={input} className="grow" value={text} onChange={(e) => setText(e.target.value)} placeholder={t('sort.placeholder')} aria-label={t('sort.addLabel')} data-testid="label-input" />
            <button type="submit" disabled={!text.trim()}>
              {t('sort.add')}
            </button>
            {labels.length > 0 && (
              <button type="button" className="link" onClick={() => setLabels([])}>
                {t('sort.clearAll')}
              </button>
            )}
          </form>
          <p className="muted small-text">{t('sort.keysHint')}</p>
          {error && <p className="error">{error}</p>}
          <label className="check" title={t('fewShot.useConfirmedHint')}>
            <input type="checkbox" checked={useConfirmed} onChange={(e) => setUseConfirmed(e.target.checked)} data-testid="use-confirmed" />
            {t('fewShot.useConfirmed')}
          </label>
          <div className="row">
            <button type="button" className="primary" disabled={busy || labels.length === 0 || files === 0} onClick={() => void run()} data-testid="run-sort">
              {busy ? t('sort.running') : t('sort.run', { count: files })}
            </button>
            {files === 0 && <span className="muted">{t('sort.needsIndex')}</span>}
          </div>
        </div>
      </div>
    </section>
  );
}

function below(histogram: readonly number[], threshold: number): number {
  const cut = Math.round(threshold * histogram.length);
  let n = 0;
  for (let i = 0; i < cut && i < histogram.length; i++) n += histogram[i];
  return n;
}

function Results({ summary, unembedded }: { summary: RunSummary; unembedded: number }) {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const lang = i18n.language;
  return (
    <div className="card" data-testid="sort-results">
      <h2>{t('sort.results')}</h2>
      <p className="muted">
        {t('sort.lastRun', { date: formatDate(lang, summary.createdAt), model: summary.modelKey.split(':')[0] })} ·{' '}
        {t('review.overall', { done: summary.reviewed, total: summary.total })}
      </p>
      {unembedded > 0 && <p className="muted">{t('sort.unembedded', { count: unembedded })}</p>}
      {summary.fewShot && <FewShotLine few={summary.fewShot} />}
      <div className="columns">
        {summary.perLabel.map((l, i) => (
          <LabelColumn key={l.label} runId={summary.runId} index={i} label={l} shots={summary.fewShot ? (summary.fewShot.shots[l.label] ?? 0) : null} />
        ))}
        <div className="column unsure-column" data-testid="column-unsure">
          <h3>
            <span className="kbd-space" />
            {t('common.unsure')}
          </h3>
          <p className="big-count">{t('sort.suggested', { count: summary.unsure.suggested })}</p>
          <Progress done={summary.unsure.reviewed} total={summary.unsure.suggested} />
          <p className="muted small-text">{t('sort.unsureHint')}</p>
          <button type="button" onClick={() => app.startReview('unsure')} disabled={summary.unsure.suggested === 0}>
            {t('sort.review')}
          </button>
        </div>
      </div>
    </div>
  );
}

function Progress({ done, total }: { done: number; total: number }) {
  const { t, i18n } = useTranslation();
  return (
    <div className="review-progress">
      <div className="progress thin" aria-hidden="true">
        <div className="bar" style={{ width: total ? `${(100 * done) / total}%` : '0%' }} />
      </div>
      <span className="muted small-text">
        {t('sort.reviewedOf', { reviewed: done, total })} {total > 0 && `(${formatPercent(i18n.language, done / total)})`}
      </span>
    </div>
  );
}

/** Whether the run learnt from the photos confirmed in review, and how much. */
function FewShotLine({ few }: { few: NonNullable<RunSummary['fewShot']> }) {
  const { t } = useTranslation();
  const count = Object.values(few.shots).reduce((a, b) => a + b, 0);
  if (count === 0) return null;
  return (
    <p className={few.used ? 'few-shot-note' : 'muted'} data-testid="sort-few-shot">
      {few.used ? t('fewShot.used', { count, blend: few.blend }) : t('fewShot.unused', { count })}
    </p>
  );
}

function LabelColumn({ runId, index, label, shots }: { runId: number; index: number; label: RunSummary['perLabel'][number]; shots: number | null }) {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const [value, setValue] = useState(label.threshold);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => setValue(label.threshold), [label.threshold]);
  const lang = i18n.language;
  const wouldGo = below(label.histogram, value);
  const total = label.histogram.reduce((a, b) => a + b, 0);

  function change(next: number) {
    setValue(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void app.setThreshold(runId, label.label, next).catch((err: unknown) => app.toast(errorText(err), 'error')), 350);
  }

  return (
    <div className="column" data-testid={`column-${label.label}`}>
      <h3>
        {index < 9 ? <kbd>{index + 1}</kbd> : <span className="kbd-space" />}
        <span className="ellipsis">{label.label}</span>
      </h3>
      <p className="big-count">{t('sort.suggested', { count: label.suggested })}</p>
      <Progress done={label.reviewed} total={label.suggested} />
      {label.final !== label.suggested && <p className="muted small-text">{t('sort.final', { count: label.final })}</p>}
      {shots !== null && shots > 0 && (
        <p className="small-text few-shot-note" data-testid={`shots-${label.label}`}>
          {t('fewShot.shots', { count: shots })}
        </p>
      )}
      <Histogram bins={label.histogram} threshold={value} label={t('sort.histogram')} />
      <label className="threshold">
        <span className="sr-only">{t('sort.threshold', { label: label.label })}</span>
        <input
          type="range"
          min={0}
          max={0.99}
          step={STEP}
          value={value}
          onChange={(e) => change(Number(e.target.value))}
          aria-valuetext={`${formatNumber(lang, value, 3)}: ${t('sort.wouldGo', { count: wouldGo })}`}
          data-testid={`threshold-${label.label}`}
        />
      </label>
      {value === 0 ? (
        <p className="small-text muted" data-testid={`would-go-${label.label}`}>
          {t('sort.noThreshold')}
        </p>
      ) : (
        <p className="small-text">
          <span className="muted">{t('sort.thresholdValue', { value: formatNumber(lang, value, 3) })}</span> ·{' '}
          <span data-testid={`would-go-${label.label}`}>{t('sort.wouldGo', { count: wouldGo })}</span>
          {total > 0 && <span className="muted"> ({formatPercent(lang, wouldGo / total)})</span>}
        </p>
      )}
      <button type="button" onClick={() => app.startReview(label.label)} disabled={label.suggested === 0} data-testid={`review-${label.label}`}>
        {t('sort.review')}
      </button>
    </div>
  );
}

/** The score distribution as 50 bars, the part below the threshold dimmed. */
function Histogram({ bins, threshold, label }: { bins: readonly number[]; threshold: number; label: string }) {
  const BARS = 50;
  const per = bins.length / BARS;
  const bars = Array.from({ length: BARS }, (_, i) => {
    let n = 0;
    for (let j = Math.floor(i * per); j < Math.floor((i + 1) * per); j++) n += bins[j];
    return n;
  });
  const max = Math.max(1, ...bars);
  return (
    <svg className="histogram" viewBox={`0 0 ${BARS * 4} 32`} role="img" aria-label={label} preserveAspectRatio="none">
      {bars.map((n, i) => (
        <rect key={i} x={i * 4} y={32 - (30 * n) / max} width={3} height={(30 * n) / max} className={(i + 1) / BARS <= threshold ? 'below' : 'above'} />
      ))}
      <line x1={threshold * BARS * 4} x2={threshold * BARS * 4} y1={0} y2={32} className="cut" />
    </svg>
  );
}
