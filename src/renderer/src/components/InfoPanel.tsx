// The metadata panel: what a reporter checks before using a photo — where it is, when and with
// what it was taken, where (GPS), its SHA-256 for the chain of custody, its other copies.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { useTranslation } from 'react-i18next';
import type { OpOutput } from '../../../shared/contract.js';
import { formatBytes, formatDate, formatGps, formatScore } from '../lib/format.js';
import { errorText, usePlatform } from '../platform-context.js';
import { useApp } from '../state/context.js';
import { useStore } from '../state/store.js';
import { DamageNote, ImageText } from './OcrText.js';
import type { Workspace } from '../state/workspace.js';

type Details = OpOutput<'library.file'>;

export function InfoPanel({ workspace, runId }: { workspace: Workspace; runId: number | undefined }) {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const { client, shell } = usePlatform();
  const collection = workspace.collection;
  const focus = useStore(workspace.selection, (s) => s.focus);
  const selectedCount = useStore(workspace.selection, (s) => s.selected.size);
  const fileId = collection.ids[focus];
  // Refetch when the tile changes (a mark or tag on this photo).
  const item = useSyncExternalStore(collection.subscribe, () => (fileId === undefined ? undefined : collection.item(fileId)));
  const [details, setDetails] = useState<Details | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (fileId === undefined) {
      setDetails(null);
      return;
    }
    let live = true;
    // Arrow keys held down move focus faster than anyone reads; fetch once it settles.
    const timer = setTimeout(() => {
      client.invoke('library.file', { fileId, ...(runId !== undefined ? { runId } : {}) }).then(
        (d) => {
          if (!live) return;
          setDetails(d);
          setError(null);
        },
        (err: unknown) => live && setError(errorText(err)),
      );
    }, 80);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [client, fileId, runId, item]);

  const lang = i18n.language;
  const copy = (text: string, done: string = t('info.copied')) => {
    void navigator.clipboard?.writeText(text).then(
      () => app.announce(done),
      () => undefined,
    );
  };
  const showLabel = (l: string) => (l === 'unsure' ? t('common.unsure') : l);
  const d = details && details.fileId === fileId ? details : null;

  return (
    <aside className="info-panel" aria-label={t('info.title')} data-testid="info-panel">
      <h2 className="panel-title">{t('info.title')}</h2>
      {selectedCount > 1 && <p className="muted">{t('info.selection', { count: selectedCount })}</p>}
      {fileId === undefined && <p className="muted">{t('info.nothing')}</p>}
      {error && <p className="error">{error}</p>}
      {d && (
        <>
          {d.warning && <DamageNote warning={d.warning} />}
          <dl className="meta">
            <dt>{t('info.name')}</dt>
            <dd className="break" data-testid="info-name">
              {d.name}
            </dd>
            <dt>{t('info.folder')}</dt>
            <dd className="break">{d.folder}</dd>
            {!d.present && <dd className="error">{t('info.missing')}</dd>}
            <dt>{t('info.size')}</dt>
            <dd>{formatBytes(lang, d.size)}</dd>
            <dt>{t('info.dimensions')}</dt>
            <dd>{d.width && d.height ? t('info.pixels', { w: d.width, h: d.height }) : t('common.none')}</dd>
            <dt>{t('info.format')}</dt>
            <dd>{(d.format ?? d.ext).toUpperCase()}</dd>
            <dt>{t('info.taken')}</dt>
            <dd>{formatDate(lang, d.takenAt)}</dd>
            <dt>{t('info.modified')}</dt>
            <dd>{formatDate(lang, d.mtimeMs)}</dd>
            <dt>{t('info.camera')}</dt>
            <dd>{d.camera ?? t('common.none')}</dd>
            <dt>{t('info.gps')}</dt>
            <dd>{d.gps ? formatGps(lang, d.gps.lat, d.gps.lon) : t('common.none')}</dd>
            <dt>{t('info.suggestion')}</dt>
            <dd>{d.suggestion ? `${showLabel(d.suggestion.label)} · ${formatScore(lang, d.suggestion.score)}` : t('common.none')}</dd>
            <dt>{t('info.label')}</dt>
            <dd data-testid="info-label">{d.mark?.label ?? t('common.none')}</dd>
            <dt>{t('info.flag')}</dt>
            <dd>{d.mark?.flag === 'keep' ? t('grid.keep') : d.mark?.flag === 'reject' ? t('grid.reject') : t('common.none')}</dd>
            <dt>{t('info.tags')}</dt>
            <dd data-testid="info-tags">{d.tags.length ? d.tags.map((tag) => `#${tag}`).join(' ') : t('common.none')}</dd>
            <dt>{t('info.sha256')}</dt>
            <dd className="mono break">{d.sha256}</dd>
            {d.copies.length > 0 && (
              <>
                <dt>{t('info.copies')}</dt>
                {d.copies.map((c) => (
                  <dd key={c} className="break">
                    {c}
                  </dd>
                ))}
              </>
            )}
          </dl>
          <div className="panel-actions">
            <button
              type="button"
              onClick={() => {
                if (shell?.showItemInFolder) shell.showItemInFolder(d.path);
                // In a browser the system file manager is out of reach: show the folder in the grid instead.
                else app.store.set((s) => ({ ...s, view: 'browse', layout: 'grid', browse: { ...s.browse, filters: { folders: [d.folder] } } }));
              }}
            >
              {t('info.showInFolder')}
            </button>
            <button type="button" onClick={() => copy(d.path)}>
              {t('info.copyPath')}
            </button>
            <button type="button" onClick={() => copy(d.sha256)}>
              {t('info.copyHash')}
            </button>
          </div>
          <ImageText record={d.ocr} onCopy={(text) => copy(text, t('ocr.copied'))} />
        </>
      )}
    </aside>
  );
}
