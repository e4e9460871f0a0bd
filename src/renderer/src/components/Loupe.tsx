// The loupe (one photo, large) and compare (two side by side). Both show the ~1440 px preview,
// with the thumbnail stretched underneath until it arrives so the eye never waits on a blank.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import type { BrowseItem } from '../../../shared/contract.js';
import { formatScore } from '../lib/format.js';
import { errorText, usePlatform } from '../platform-context.js';
import type { Collection } from '../state/collection.js';
import { useStore } from '../state/store.js';
import type { Workspace } from '../state/workspace.js';

function useItemAt(collection: Collection, index: number): BrowseItem | undefined {
  useEffect(() => collection.ensure(Math.max(0, index - 2), index + 3), [collection, index]);
  return useSyncExternalStore(collection.subscribe, () => collection.itemAt(index));
}

function Preview({ item, testId }: { item: BrowseItem; testId: string }) {
  const { t } = useTranslation();
  const { previewUrl, thumbnailUrl } = usePlatform();
  const [src, setSrc] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    let live = true;
    setSrc(null);
    setLoaded(false);
    setError(null);
    previewUrl(item.sha256).then(
      (url) => live && setSrc(url),
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [item.sha256, previewUrl]);
  return (
    <figure className="preview" data-testid={testId}>
      <img className="preview-under" src={thumbnailUrl(item.sha256)} alt="" aria-hidden="true" />
      {src && (
        <img
          className={`preview-img${loaded ? ' loaded' : ''}`}
          src={src}
          alt={item.name}
          onLoad={() => setLoaded(true)}
          onError={() => setError(t('loupe.unavailable', { message: item.path }))}
        />
      )}
      {!loaded && !error && <span className="preview-status">{t('loupe.loading')}</span>}
      {error && <span className="preview-status error">{t('loupe.unavailable', { message: error })}</span>}
    </figure>
  );
}

function Caption({ item, labels, showScores }: { item: BrowseItem; labels: readonly string[]; showScores: boolean }) {
  const { t, i18n } = useTranslation();
  const confirmed = item.mark?.label;
  const flag = item.mark?.flag;
  const showLabel = (l: string) => (l === 'unsure' ? t('common.unsure') : l);
  const n = confirmed ? labels.indexOf(confirmed) : -1;
  return (
    <div className="caption">
      <span className="caption-name" title={item.path}>
        {item.name}
      </span>
      {confirmed && (
        <span className="chip confirmed" data-testid="loupe-label">
          {n >= 0 && n < 9 && <kbd>{n + 1}</kbd>}
          {showLabel(confirmed)}
        </span>
      )}
      {!confirmed && item.suggestion && (
        <span className="chip suggested">
          {t('grid.suggestion', { label: showLabel(item.suggestion.label) })}
          {showScores && ` · ${formatScore(i18n.language, item.suggestion.score)}`}
        </span>
      )}
      {flag && <span className={`chip flag-chip flag-${flag}`}>{flag === 'keep' ? t('grid.keep') : t('grid.reject')}</span>}
      {item.tags.map((tag) => (
        <span key={tag} className="chip tag-chip">
          #{tag}
        </span>
      ))}
    </div>
  );
}

export function Loupe({ workspace, labels, showScores }: { workspace: Workspace; labels: readonly string[]; showScores: boolean }) {
  const { t } = useTranslation();
  const collection = workspace.collection;
  const focus = useStore(workspace.selection, (s) => s.focus);
  const item = useItemAt(collection, focus);
  const total = collection.size;
  return (
    <section className="loupe" aria-label={t('layout.loupe')} aria-roledescription={t('layout.loupe')} tabIndex={-1} data-testid="loupe">
      <div className="loupe-stage">
        <button type="button" className="nav-arrow prev" onClick={() => workspace.focus(focus - 1)} disabled={focus <= 0} aria-label={t('loupe.previous')} title={`${t('loupe.previous')} (←)`}>
          ‹
        </button>
        {item ? <Preview item={item} testId="loupe-image" /> : <div className="preview" />}
        <button
          type="button"
          className="nav-arrow next"
          onClick={() => workspace.focus(focus + 1)}
          disabled={focus >= total - 1}
          aria-label={t('loupe.next')}
          title={`${t('loupe.next')} (→)`}
        >
          ›
        </button>
      </div>
      <div className="loupe-bar">
        {item && <Caption item={item} labels={labels} showScores={showScores} />}
        <span className="muted" aria-live="polite" data-testid="loupe-position">
          {t('loupe.position', { index: Math.min(focus + 1, total), total })}
        </span>
      </div>
    </section>
  );
}

export function Compare({ workspace, other, labels, showScores }: { workspace: Workspace; other: number; labels: readonly string[]; showScores: boolean }) {
  const { t } = useTranslation();
  const collection = workspace.collection;
  const focus = useStore(workspace.selection, (s) => s.focus);
  const a = useItemAt(collection, focus);
  const b = useItemAt(collection, other);
  return (
    <section className="compare" aria-label={t('layout.compare')} data-testid="compare">
      <p className="compare-hint muted">{t('loupe.compareHint')}</p>
      <div className="compare-panes">
        {[
          { item: a, tag: 'A' },
          { item: b, tag: 'B' },
        ].map(({ item, tag }) => (
          <div key={tag} className={`compare-pane${tag === 'A' ? ' active' : ''}`}>
            <span className="pane-tag" aria-hidden="true">
              {tag}
            </span>
            {item ? <Preview item={item} testId={`compare-${tag}`} /> : <div className="preview" />}
            {item && <Caption item={item} labels={labels} showScores={showScores} />}
          </div>
        ))}
      </div>
    </section>
  );
}
