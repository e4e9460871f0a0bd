// "How good was the sort?": the sort's labels scored against what a person checked — the photos
// confirmed in review (cross-validated, so no photo grades a fit that saw it) or a ground-truth CSV
// or folder — with the text alone beside the text plus confirmed examples, per-label metrics, the
// confusion matrix as a heat map and a precision/recall curve per label, drawn as plain SVG.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { EvaluationSide, OpOutput } from '../../../shared/contract.js';
import { formatDate, formatNumber } from '../lib/format.js';
import { errorCode, errorText } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';

type Evaluation = OpOutput<'eval.run'>;
type Source = 'confirmed' | 'csv';

function pct(lang: string, x: number): string {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(x);
}

function fixed(lang: string, x: number): string {
  return formatNumber(lang, x, 3);
}

export function EvaluateView() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const summary = useAppState((s) => s.summary);
  const [source, setSource] = useState<Source>('confirmed');
  const [path, setPath] = useState('');
  const [result, setResult] = useState<Evaluation | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [empty, setEmpty] = useState(false);
  const started = useRef(false);
  const lang = i18n.language;

  async function run(from: Source) {
    setBusy(true);
    setError(null);
    setEmpty(false);
    try {
      const truth = from === 'confirmed' ? ({ kind: 'confirmed' } as const) : ({ kind: 'csv', path: path.trim() } as const);
      const out = await app.client.invoke('eval.run', { truth });
      setResult(out);
      app.announce(t('evaluate.scope', { count: out.n }));
    } catch (err) {
      setResult(null);
      // Nothing confirmed yet is where everyone starts: say what to do, not what failed.
      if (from === 'confirmed' && errorCode(err) === 'eval-empty') setEmpty(true);
      else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  // What the user checked is the obvious truth inside the app: evaluate it as soon as the view opens.
  useEffect(() => {
    if (started.current || !summary) return;
    started.current = true;
    void run('confirmed');
  }, [summary]); // eslint-disable-line react-hooks/exhaustive-deps

  const canRun = !busy && (source === 'confirmed' ? summary !== null : path.trim().length > 0);

  return (
    <section className="view scroll" aria-labelledby="evaluate-title">
      <div className="page wide">
        <h1 id="evaluate-title">{t('evaluate.title')}</h1>
        <p className="lead">{t('evaluate.intro')}</p>
        {!summary && <p className="muted">{t('evaluate.noRun')}</p>}
        <form
          className="card form-grid eval-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (canRun) void run(source);
          }}
        >
          <fieldset>
            <legend>{t('evaluate.truth')}</legend>
            <label className="radio">
              <input type="radio" name="truth" checked={source === 'confirmed'} onChange={() => setSource('confirmed')} data-testid="truth-confirmed" />
              <span>
                {result ? t('evaluate.fromReview', { count: result.confirmed }) : t('evaluate.fromReviewPlain')}
                <span className="muted small-text"> — {t('evaluate.fromReviewHint')}</span>
              </span>
            </label>
            <label className="radio">
              <input type="radio" name="truth" checked={source === 'csv'} onChange={() => setSource('csv')} data-testid="truth-csv" />
              <span>
                {t('evaluate.fromFile')}
                <span className="muted small-text"> — {t('evaluate.fromFileHint')}</span>
              </span>
            </label>
            {source === 'csv' && (
              <div className="row indent">
                <input className="grow mono" value={path} onChange={(e) => setPath(e.target.value)} aria-label={t('evaluate.path')} data-testid="truth-path" spellCheck={false} />
                <button
                  type="button"
                  onClick={async () => {
                    const [dir] = await app.pickFolders('truth');
                    if (dir) setPath(dir);
                  }}
                >
                  {t('common.choose')}
                </button>
              </div>
            )}
          </fieldset>
          <div className="row">
            <button type="submit" className="primary" disabled={!canRun} data-testid="eval-run">
              {busy ? t('evaluate.running') : t('evaluate.run')}
            </button>
          </div>
          {empty && (
            <p className="muted" data-testid="eval-empty">
              {t('evaluate.emptyReview')}
            </p>
          )}
          {error && (
            <p className="error" role="alert">
              {t('common.error', { message: error })}
            </p>
          )}
        </form>
        {result && <Report result={result} />}
      </div>
    </section>
  );
}

function Report({ result }: { result: Evaluation }) {
  const { t, i18n } = useTranslation();
  const summary = useAppState((s) => s.summary);
  const lang = i18n.language;
  const zs = result.zeroShot;
  const [show, setShow] = useState<'few' | 'zero'>('few');
  const side: EvaluationSide = show === 'zero' && zs ? zs : result;
  const runDate = summary && summary.runId === result.runId ? summary.createdAt : null;
  const few = result.fewShot;
  const shots = few
    ? Object.entries(few.shots)
        .map(([label, count]) => t('evaluate.shotsOf', { count, label }))
        .join(', ')
    : '';

  return (
    <div data-testid="eval-result">
      <p className="muted" data-testid="eval-scope">
        {[
          t('evaluate.scope', { count: result.n }),
          runDate !== null ? t('evaluate.scopeRun', { date: formatDate(lang, runDate) }) : null,
          result.modelKey ? t('evaluate.scopeModel', { model: result.modelKey.split(':')[0] }) : null,
          t('evaluate.took', { ms: Math.max(1, Math.round(result.tookMs)) }),
        ]
          .filter(Boolean)
          .join(' · ')}
      </p>

      <div className="eval-top">
        <div className="card">
          <h2>{t('evaluate.headline')}</h2>
          <Headline result={result} />
          {few && (
            <p className="small-text" data-testid="eval-few-shot">
              {few.used
                ? t('evaluate.fewShotUsed', { shots, blend: few.blend, loo: pct(lang, few.looAccuracy), zero: pct(lang, few.zeroShotAccuracy) })
                : t('evaluate.fewShotUnused', { shots })}{' '}
              {few.crossValidated && <span className="muted">{t('evaluate.crossValidated')}</span>}
            </p>
          )}
          <Suggestion side={result} />
        </div>
        <div className="card">
          <h2>{t('evaluate.perLabel')}</h2>
          <PerLabel result={result} />
        </div>
      </div>

      {zs && (
        <div className="row">
          <span className="muted">{t('evaluate.show')}</span>
          <div className="segmented" role="group" aria-label={t('evaluate.show')}>
            <button type="button" aria-pressed={show === 'few'} onClick={() => setShow('few')} data-testid="show-few">
              {t('evaluate.showFew')}
            </button>
            <button type="button" aria-pressed={show === 'zero'} onClick={() => setShow('zero')} data-testid="show-zero">
              {t('evaluate.showZero')}
            </button>
          </div>
        </div>
      )}
      <div className="eval-charts">
        <div className="card">
          <h2 id="confusion-title">{t('evaluate.confusion')}</h2>
          <p className="muted small-text">{t('evaluate.confusionHint')}</p>
          <Confusion side={side} />
        </div>
        {side.curves && (
          <div className="card">
            <h2>{t('evaluate.curves')}</h2>
            <p className="muted small-text">{t('evaluate.curvesHint')}</p>
            <Curves side={side} />
          </div>
        )}
      </div>

      {result.excludedExamples > 0 && <p className="muted">{t('evaluate.excluded', { count: result.excludedExamples })}</p>}
      {result.missingCount > 0 && (
        <details className="card">
          <summary>{t('evaluate.missing', { count: result.missingCount })}</summary>
          <ul className="plain mono small-text">
            {result.missing.map((m) => (
              <li key={m.path} className="break">
                {m.path}: {m.reason}
              </li>
            ))}
          </ul>
        </details>
      )}
      {result.problems.length > 0 && (
        <details className="card">
          <summary>{t('evaluate.problems', { count: result.problems.length })}</summary>
          <ul className="plain small-text">
            {result.problems.map((p, i) => (
              <li key={i} className="break">
                <span className="mono">
                  {p.file}
                  {p.line !== undefined ? `:${p.line}` : ''}
                </span>
                : {p.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function Headline({ result }: { result: Evaluation }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const sides: EvaluationSide[] = result.zeroShot ? [result, result.zeroShot] : [result];
  // The number, and Landis & Koch's words under it: what the number means to someone who never met kappa.
  const kappa = (s: EvaluationSide) =>
    s.kappa === null ? (
      t('evaluate.kappaUndefined')
    ) : (
      <>
        {fixed(lang, s.kappa)}
        {s.kappaBand && <span className="band">{t(`evaluate.band.${s.kappaBand}`)}</span>}
      </>
    );
  const rows: { key: string; name: string; cell: (s: EvaluationSide) => ReactNode; hint?: string }[] = [
    { key: 'accuracy', name: t('evaluate.accuracy'), cell: (s) => pct(lang, s.accuracy) },
    { key: 'macro-f1', name: t('evaluate.macroF1'), cell: (s) => fixed(lang, s.macroF1) },
    { key: 'kappa', name: t('evaluate.kappa'), cell: kappa },
    { key: 'baseline', name: t('evaluate.baseline', { label: result.baselineLabel }), cell: (s) => pct(lang, s.baselineAccuracy), hint: t('evaluate.baselineHint') },
  ];
  return (
    <table className="data metrics" data-testid="eval-headline">
      <thead>
        <tr>
          <th scope="col">{t('evaluate.metric')}</th>
          {result.zeroShot ? (
            <>
              <th scope="col" className="num">
                {t('evaluate.fewShot')}
              </th>
              <th scope="col" className="num">
                {t('evaluate.zeroShot')}
              </th>
            </>
          ) : (
            <th scope="col" className="num">
              {t('evaluate.value')}
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} title={r.hint}>
            <th scope="row">{r.name}</th>
            {sides.map((s, i) => (
              <td key={i} className="num" data-testid={`metric-${r.key}-${i === 0 ? 'top' : 'zero'}`}>
                {r.cell(s)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PerLabel({ result }: { result: Evaluation }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const zs = result.zeroShot;
  return (
    <div className="table-scroll flat">
      <table className="data metrics" data-testid="eval-per-label">
        <thead>
          <tr>
            <th scope="col">{t('evaluate.label')}</th>
            <th scope="col" className="num">
              {t('evaluate.support')}
            </th>
            <th scope="col" className="num">
              {t('evaluate.precision')}
            </th>
            <th scope="col" className="num">
              {t('evaluate.recall')}
            </th>
            <th scope="col" className="num">
              {t('evaluate.f1')}
            </th>
            {zs && (
              <th scope="col" className="num">
                {t('evaluate.zeroShotF1')}
              </th>
            )}
            {result.curves && (
              <th scope="col" className="num">
                {t('evaluate.ap')}
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {result.labels.map((label) => {
            const m = result.perLabel[label];
            const ap = result.curves?.[label]?.averagePrecision;
            return (
              <tr key={label} data-testid={`row-${label}`}>
                <th scope="row">{label}</th>
                <td className="num">{formatNumber(lang, m.support)}</td>
                <td className="num">{fixed(lang, m.precision)}</td>
                <td className="num">{fixed(lang, m.recall)}</td>
                <td className="num" data-testid={`f1-${label}`}>
                  {fixed(lang, m.f1)}
                </td>
                {zs && <td className="num muted">{fixed(lang, zs.perLabel[label]?.f1 ?? 0)}</td>}
                {result.curves && <td className="num">{ap === null || ap === undefined ? '—' : fixed(lang, ap)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Suggestion({ side }: { side: EvaluationSide }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const s = side.suggestion;
  if (!s) return null;
  const target = pct(lang, s.targetPrecision);
  const text =
    s.threshold === null
      ? t('evaluate.suggestionNone', { target })
      : s.threshold === 0
        ? t('evaluate.suggestionAll', { precision: pct(lang, s.precision) })
        : t('evaluate.suggestion', { target, threshold: s.threshold, kept: s.kept, n: side.n, recall: pct(lang, s.recall) });
  return (
    <p className="small-text" data-testid="eval-suggestion">
      {text}
    </p>
  );
}

/** Rows: checked label; columns: suggested. Shade = share of the row, blue when right, orange when not. */
function Confusion({ side }: { side: EvaluationSide }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const label = (l: string) => (l === 'unsure' ? t('common.unsure') : l);
  return (
    <div className="table-scroll flat">
      <table className="data heatmap" aria-labelledby="confusion-title" data-testid="eval-confusion">
        <thead>
          <tr>
            <th scope="col" className="corner">
              {t('evaluate.truthHeader')}
            </th>
            {side.columns.map((c) => (
              <th key={c} scope="col" className="num">
                {label(c)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {side.labels.map((row) => {
            const counts = side.confusion[row] ?? {};
            const total = Object.values(counts).reduce((a, b) => a + b, 0);
            return (
              <tr key={row}>
                <th scope="row">{label(row)}</th>
                {side.columns.map((col) => {
                  const n = counts[col] ?? 0;
                  const share = total > 0 ? n / total : 0;
                  const right = row === col;
                  // Darker than the accent so white digits keep their contrast at any share.
                  const colour = right ? `rgba(44, 103, 196, ${(0.15 + 0.85 * share).toFixed(3)})` : `rgba(168, 84, 16, ${(0.15 + 0.85 * share).toFixed(3)})`;
                  return (
                    <td
                      key={col}
                      className={`num cell${n === 0 ? ' zero' : ''}`}
                      style={n > 0 ? { background: colour } : undefined}
                      aria-label={t('evaluate.cell', { truth: label(row), predicted: label(col), count: n, share: pct(lang, share) })}
                      data-testid={`cell-${row}-${col}`}
                    >
                      {formatNumber(lang, n)}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const PALETTE = ['#6aa5ff', '#e0b050', '#4cbb73', '#ef6a62', '#c792ea', '#5fd0d0', '#f08fc0', '#b8bcc4', '#9ccc65', '#ffab70'];
/** Lines differ by dash as well as colour, for readers who cannot tell the colours apart. */
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];
const dash = (i: number): string | undefined => DASHES[i % DASHES.length] || undefined;

/** One precision/recall line per label on shared axes; the legend carries each label's average precision. */
function Curves({ side }: { side: EvaluationSide }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const curves = side.curves ?? {};
  const W = 380;
  const H = 230;
  const left = 54;
  const right = 10;
  const top = 10;
  const bottom = 34;
  const x = (r: number) => left + r * (W - left - right);
  const y = (p: number) => top + (1 - p) * (H - top - bottom);
  const labels = side.labels.filter((l) => (curves[l]?.points.length ?? 0) > 0);
  const summary = labels.map((l) => t('evaluate.curveSummary', { label: l, ap: fixed(lang, curves[l].averagePrecision ?? 0) })).join('; ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="curves">
      <ul className="legend" aria-hidden="true">
        {labels.map((l, i) => (
          <li key={l}>
            <svg width="22" height="8" className="swatch">
              <line x1="0" x2="22" y1="4" y2="4" stroke={PALETTE[i % PALETTE.length]} strokeWidth={2.5} strokeDasharray={dash(i)} />
            </svg>
            <span className="ellipsis">{l}</span>
            <span className="muted num">{fixed(lang, curves[l].averagePrecision ?? 0)}</span>
          </li>
        ))}
      </ul>
      <svg viewBox={`0 0 ${W} ${H}`} className="pr-chart" role="img" aria-label={t('evaluate.curvesAria', { summary })} data-testid="eval-curves">
        {ticks.map((v) => (
          <g key={v} className="grid-line">
            <line x1={x(0)} x2={x(1)} y1={y(v)} y2={y(v)} />
            <line x1={x(v)} x2={x(v)} y1={y(0)} y2={y(1)} />
            <text x={left - 6} y={y(v) + 4} textAnchor="end">
              {formatNumber(lang, v, v === 0 || v === 1 ? 0 : 2)}
            </text>
            <text x={x(v)} y={H - bottom + 14} textAnchor="middle">
              {formatNumber(lang, v, v === 0 || v === 1 ? 0 : 2)}
            </text>
          </g>
        ))}
        <text className="axis-title" x={(x(0) + x(1)) / 2} y={H - 4} textAnchor="middle">
          {t('evaluate.axisRecall')}
        </text>
        <text className="axis-title" transform={`translate(12 ${(y(0) + y(1)) / 2}) rotate(-90)`} textAnchor="middle">
          {t('evaluate.axisPrecision')}
        </text>
        {labels.map((l, i) => {
          const pts = curves[l].points;
          // The curve starts at recall 0 with its first (highest-threshold) precision.
          const path = [{ recall: 0, precision: pts[0].precision }, ...pts].map((p) => `${x(p.recall).toFixed(1)},${y(p.precision).toFixed(1)}`).join(' ');
          return <polyline key={l} points={path} fill="none" stroke={PALETTE[i % PALETTE.length]} strokeWidth={2} strokeDasharray={dash(i)} data-testid={`curve-${l}`} />;
        })}
      </svg>
    </div>
  );
}
