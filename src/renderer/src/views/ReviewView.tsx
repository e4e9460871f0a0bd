// Reviewing one label at a time, least confident first: the photos the model was least sure
// belonged here come first, where a person's eye matters most. Progress reads "1.240 de 20.000
// revisadas"; every mark is stored in the library and undoable.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { MarkBar, PhotoArea } from '../components/PhotoArea.js';
import { errorText } from '../platform-context.js';
import { useCollectionSize } from '../state/collection.js';
import { useApp, useAppState } from '../state/context.js';
import { Workspace } from '../state/workspace.js';

export function ReviewView() {
  const { t } = useTranslation();
  const app = useApp();
  const summary = useAppState((s) => s.summary);
  const label = useAppState((s) => s.reviewLabel);
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [error, setError] = useState<string | null>(null);
  const runId = summary?.runId;
  const threshold = summary?.perLabel.find((l) => l.label === label)?.threshold;
  const thresholds = summary?.perLabel.map((l) => l.threshold).join(',');

  useEffect(() => {
    if (runId === undefined || !label) return;
    let live = true;
    app.client.invoke('library.query', { sort: 'score', filters: { runId, label, onePerContent: true } }).then(
      ({ fileIds }) => {
        if (!live) return;
        setWorkspace((prev) => {
          prev?.collection.dispose();
          return new Workspace(app.makeCollection(fileIds, runId));
        });
        setError(null);
      },
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [app, runId, label, threshold, label === 'unsure' ? thresholds : '']); // eslint-disable-line react-hooks/exhaustive-deps

  const size = useCollectionSize(workspace?.collection);

  if (!summary) {
    return (
      <section className="view empty-state" aria-labelledby="review-title">
        <div className="empty-card">
          <h1 id="review-title">{t('review.title')}</h1>
          <p>{t('review.noRun')}</p>
          <button type="button" className="primary" onClick={() => app.setView('sort')}>
            {t('review.goSort')}
          </button>
        </div>
      </section>
    );
  }

  const entry = label === 'unsure' ? summary.unsure : summary.perLabel.find((l) => l.label === label);
  const queues = [...summary.perLabel.map((l) => l.label), 'unsure'];
  return (
    <section className="view" aria-labelledby="review-title">
      <div className="toolbar">
        <h1 id="review-title" className="view-title">
          {t('review.title')}
        </h1>
        <label className="inline">
          {t('review.queue')}
          <select value={label ?? ''} onChange={(e) => app.startReview(e.target.value)} data-testid="review-queue">
            {queues.map((q, i) => (
              <option key={q} value={q}>
                {q === 'unsure' ? t('common.unsure') : `${i < 9 ? `${i + 1} · ` : ''}${q}`}
              </option>
            ))}
          </select>
        </label>
        {entry && (
          <strong className="review-count" data-testid="review-progress">
            {t('review.progress', { done: entry.reviewed, total: entry.suggested })}
          </strong>
        )}
        <span className="muted">{t('review.order')}</span>
        <span className="muted">· {t('review.overall', { done: summary.reviewed, total: summary.total })}</span>
        <span className="spacer" />
      </div>
      {workspace && <MarkBar workspace={workspace} runId={runId} />}
      <p className="hint muted">{t('review.hint')}</p>
      {error && <p className="error pad">{error}</p>}
      {workspace && size === 0 && <p className="muted pad">{t('review.empty')}</p>}
      {workspace && size > 0 && <PhotoArea workspace={workspace} runId={runId} gridLabel={`${t('review.title')}: ${label === 'unsure' ? t('common.unsure') : label}`} />}
    </section>
  );
}
