// Export: a label, the reviewed result or the selection; copy, move or just the CSV. The preview
// lists what will be written and every name clash before anything happens; afterwards one click
// undoes it from the export's journal.
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { ExportScope, OpInput, OpOutput } from '../../../shared/contract.js';
import { formatBytes } from '../lib/format.js';
import { errorText } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';

type Plan = OpOutput<'export.preview'>;
type Done = OpOutput<'export.start'>;
type Undone = OpOutput<'export.undo'>;
type ScopeKind = ExportScope['kind'];
type Operation = 'copy' | 'move' | 'csv';

const SHOWN = 60;

export function ExportView() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const summary = useAppState((s) => s.summary);
  const selection = useAppState((s) => s.lastSelection);
  const [kind, setKind] = useState<ScopeKind>(summary ? 'label' : 'selection');
  const [label, setLabel] = useState(summary?.labels[0] ?? '');
  const [folder, setFolder] = useState<string>(() => t('export.defaultFolder'));
  const [operation, setOperation] = useState<Operation>('copy');
  const [destination, setDestination] = useState('');
  const [includeSetAside, setIncludeSetAside] = useState(false);
  const [plan, setPlan] = useState<{ key: string; plan: Plan } | null>(null);
  const [done, setDone] = useState<Done | null>(null);
  const [undone, setUndone] = useState<Undone | null>(null);
  const [busy, setBusy] = useState<null | 'preview' | 'export' | 'undo'>(null);
  const [error, setError] = useState<string | null>(null);
  const lang = i18n.language;

  useEffect(() => {
    if (!label && summary) setLabel(summary.labels[0] ?? '');
  }, [summary, label]);

  const input = useMemo((): OpInput<'export.start'> | null => {
    const dest = destination.trim();
    if (!dest) return null;
    const scope: ExportScope | null =
      kind === 'label' ? (label ? { kind, label } : null) : kind === 'reviewed' ? { kind } : selection.length ? { kind, fileIds: selection, folder: folder.trim() || 'selecao' } : null;
    return scope ? { scope, destination: dest, operation, includeSetAside } : null;
  }, [kind, label, selection, folder, destination, operation, includeSetAside]);
  const key = JSON.stringify(input);
  const current = plan && plan.key === key ? plan.plan : null;

  async function preview() {
    if (!input) return;
    setBusy('preview');
    setError(null);
    setDone(null);
    setUndone(null);
    try {
      setPlan({ key, plan: await app.client.invoke('export.preview', { ...input, limit: SHOWN }) });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  }

  async function run() {
    if (!input) return;
    setBusy('export');
    setError(null);
    try {
      const out = await app.client.invoke('export.start', input);
      setDone(out);
      setPlan(null);
      app.toast(operation === 'csv' ? t('export.doneCsv', { path: out.csv }) : t('export.done', { count: out.done, dest: out.destination }), 'success');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  }

  async function undo() {
    if (!done?.journal) return;
    setBusy('undo');
    try {
      const out = await app.client.invoke('export.undo', { journal: done.journal });
      setUndone(out);
      app.toast(t('export.undone', { count: out.undone }), 'success');
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(null);
    }
  }

  const clashes = current?.items.filter((i) => i.clash !== null) ?? [];
  const plain = current?.items.filter((i) => i.clash === null) ?? [];
  const shown = [...clashes, ...plain].slice(0, Math.max(SHOWN, clashes.length));

  return (
    <section className="view scroll" aria-labelledby="export-title">
      <div className="page wide">
        <h1 id="export-title">{t('export.title')}</h1>
        <p className="lead">{t('export.intro')}</p>
        {!summary && <p className="muted">{t('export.noRun')}</p>}
        <div className="export-layout">
          <div className="card form-grid">
            <fieldset>
              <legend>{t('export.what')}</legend>
              <label className="radio">
                <input type="radio" name="scope" checked={kind === 'label'} onChange={() => setKind('label')} disabled={!summary} data-testid="scope-label" />
                {t('export.scopeLabel')}
              </label>
              {kind === 'label' && summary && (
                <label className="inline indent">
                  {t('export.label')}
                  <select value={label} onChange={(e) => setLabel(e.target.value)} data-testid="export-label">
                    {[...summary.labels, 'unsure'].map((l) => (
                      <option key={l} value={l}>
                        {l === 'unsure' ? t('common.unsure') : l}
                      </option>
                    ))}
                  </select>
                </label>
              )}
              <label className="radio">
                <input type="radio" name="scope" checked={kind === 'reviewed'} onChange={() => setKind('reviewed')} disabled={!summary} data-testid="scope-reviewed" />
                {t('export.scopeReviewed')}
              </label>
              <label className="radio">
                <input type="radio" name="scope" checked={kind === 'selection'} onChange={() => setKind('selection')} disabled={selection.length === 0} data-testid="scope-selection" />
                {selection.length ? t('export.scopeSelection', { count: selection.length }) : t('export.scopeSelectionEmpty')}
              </label>
              {kind === 'selection' && (
                <label className="inline indent">
                  {t('export.folderName')}
                  <input value={folder} onChange={(e) => setFolder(e.target.value)} data-testid="export-folder-name" />
                </label>
              )}
            </fieldset>
            <fieldset>
              <legend>{t('export.how')}</legend>
              {(['copy', 'move', 'csv'] as const).map((op) => (
                <label key={op} className="radio">
                  <input type="radio" name="operation" checked={operation === op} onChange={() => setOperation(op)} data-testid={`op-${op}`} />
                  <span>
                    {t(`export.${op}`)} <span className="muted small-text">— {t(`export.${op}Hint`)}</span>
                  </span>
                </label>
              ))}
            </fieldset>
            <fieldset>
              <legend>{t('export.where')}</legend>
              <div className="row">
                <input className="grow mono" value={destination} onChange={(e) => setDestination(e.target.value)} aria-label={t('export.destination')} data-testid="export-destination" spellCheck={false} />
                <button
                  type="button"
                  onClick={async () => {
                    const [dir] = await app.pickFolders('export');
                    if (dir) setDestination(dir);
                  }}
                >
                  {t('common.choose')}
                </button>
              </div>
              <label className="check">
                <input type="checkbox" checked={includeSetAside} onChange={(e) => setIncludeSetAside(e.target.checked)} />
                {t('export.includeSetAside')}
              </label>
            </fieldset>
            <div className="row">
              <button type="button" onClick={() => void preview()} disabled={!input || busy !== null} data-testid="export-preview">
                {busy === 'preview' ? t('common.working') : t('export.preview')}
              </button>
              {plan && !current && <span className="muted">{t('export.stale')}</span>}
            </div>
            {error && <p className="error">{t('common.error', { message: error })}</p>}
          </div>

          <div className="export-side">
            {current && (
              <div className="card" data-testid="export-plan">
                <h2>{t('export.planTitle')}</h2>
                {current.files === 0 ? (
                  <p>{t('export.nothing')}</p>
                ) : (
                  <>
                    <p>{t('export.plan', { count: current.files, size: formatBytes(lang, current.bytes) })}</p>
                    <ul className="plain mono">
                      {current.operation !== 'csv' &&
                        current.folders.map((f) => (
                          <li key={f.label}>{t('export.folderLine', { folder: `${current.destination}/${f.folder}`, count: f.files })}</li>
                        ))}
                      <li>{t('export.csvLine', { path: current.csv })}</li>
                    </ul>
                    <p className={current.clashes ? 'warning' : 'muted'} data-testid="export-clashes">
                      {current.clashes ? t('export.clashes', { count: current.clashes }) : t('export.noClash')}
                    </p>
                    {current.leftOut > 0 && <p className="muted">{t('export.leftOut', { count: current.leftOut })}</p>}
                    {current.alreadyThere > 0 && <p className="muted">{t('export.alreadyThere', { count: current.alreadyThere })}</p>}
                    {current.operation !== 'csv' && (
                      <div className="table-scroll">
                        <table className="data">
                          <thead>
                            <tr>
                              <th scope="col">{t('export.from')}</th>
                              <th scope="col">{t('export.to')}</th>
                              <th scope="col">{t('export.status')}</th>
                            </tr>
                          </thead>
                          <tbody>
                            {shown.map((item) => (
                              <tr key={item.fileId} className={item.clash ? 'clash' : ''} data-testid={item.clash ? 'clash-row' : 'plan-row'}>
                                <td className="break" title={item.from}>
                                  {item.from.split(/[\\/]/).slice(-2).join('/')}
                                </td>
                                <td className="break mono" title={item.to}>
                                  {item.to.slice(current.destination.length + 1)}
                                </td>
                                <td>{item.clash === 'exists' ? t('export.clashExists') : item.clash === 'same-name' ? t('export.clashSame') : ''}</td>
                              </tr>
                            ))}
                          </tbody>
                        </table>
                      </div>
                    )}
                    {current.files > shown.length && <p className="muted">{t('export.more', { count: current.files - shown.length })}</p>}
                    <button type="button" className="primary" onClick={() => void run()} disabled={busy !== null} data-testid="export-run">
                      {busy === 'export' ? t('export.running') : operation === 'csv' ? t('export.runCsv') : t('export.run', { count: current.files })}
                    </button>
                  </>
                )}
              </div>
            )}

            {done && (
              <div className="card" data-testid="export-done">
                <p className="success">{done.operation === 'csv' ? t('export.doneCsv', { path: done.csv }) : t('export.done', { count: done.done, dest: done.destination })}</p>
                {done.operation !== 'csv' && <p className="muted mono">{t('export.csvLine', { path: done.csv })}</p>}
                {done.failed.length > 0 && (
                  <>
                    <p className="error">{t('export.failed', { count: done.failed.length })}</p>
                    <ul className="plain">
                      {done.failed.map((f) => (
                        <li key={f.path} className="break">
                          <span className="mono">{f.path}</span>: {f.error}
                        </li>
                      ))}
                    </ul>
                  </>
                )}
                {done.journal && !undone && (
                  <button type="button" onClick={() => void undo()} disabled={busy !== null} data-testid="export-undo">
                    {busy === 'undo' ? t('export.undoing') : t('export.undo')}
                  </button>
                )}
                {undone && (
                  <div data-testid="export-undone">
                    <p className="success">{t('export.undone', { count: undone.undone })}</p>
                    {undone.problems.length > 0 && (
                      <>
                        <p className="warning">{t('export.undoProblems')}</p>
                        <ul className="plain">
                          {undone.problems.map((p) => (
                            <li key={p.to} className="break mono">
                              {p.to} — {p.detail ?? p.outcome}
                            </li>
                          ))}
                        </ul>
                      </>
                    )}
                  </div>
                )}
              </div>
            )}
          </div>
        </div>
      </div>
    </section>
  );
}
