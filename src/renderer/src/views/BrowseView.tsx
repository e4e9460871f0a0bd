// The library: every indexed photo, sorted by folder, date or name, filtered by folder, tag or
// flag. While indexing runs, newly indexed photos join the grid every couple of seconds.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BrowseFilters } from '../../../shared/contract.js';
import { OcrToggle } from '../components/OcrToggle.js';
import { MarkBar, PhotoArea } from '../components/PhotoArea.js';
import { baseName } from '../lib/format.js';
import { errorText } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';
import { useCollectionSize } from '../state/collection.js';
import { Workspace } from '../state/workspace.js';

export function BrowseView() {
  const { t } = useTranslation();
  const app = useApp();
  const browse = useAppState((s) => s.browse);
  const version = useAppState((s) => s.libraryVersion);
  const runId = useAppState((s) => s.summary?.runId);
  const indexing = useAppState((s) => s.index.running);
  const libraryFiles = useAppState((s) => s.library?.files ?? 0);
  const tags = useAppState((s) => s.tags);
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    app.client.invoke('library.query', { sort: browse.sort, descending: browse.descending, filters: browse.filters }).then(
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
  }, [app, browse, runId]);

  // Indexing in the background: fold new files in, keeping the focused photo focused.
  useEffect(() => {
    if (!workspace || version === 0) return;
    let live = true;
    const focused = workspace.focusedId();
    app.client.invoke('library.query', { sort: browse.sort, descending: browse.descending, filters: browse.filters }).then(({ fileIds }) => {
      if (!live || fileIds.length === workspace.collection.size) return;
      workspace.collection.replaceIds(fileIds);
      workspace.rebase(focused);
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [version]); // eslint-disable-line react-hooks/exhaustive-deps

  const setBrowse = (patch: Partial<typeof browse>) => app.store.set((s) => ({ ...s, browse: { ...s.browse, ...patch } }));
  const setFilters = (filters: BrowseFilters) => setBrowse({ filters });
  const filtered = Object.keys(browse.filters).length > 0;
  const size = useCollectionSize(workspace?.collection);

  if (libraryFiles === 0 && !indexing) return <EmptyLibrary />;

  return (
    <section className="view" aria-labelledby="browse-title">
      <div className="toolbar">
        <h1 id="browse-title" className="view-title">
          {t('browse.title')}
        </h1>
        <span className="muted" data-testid="browse-count">
          {t('common.photos', { count: size })}
        </span>
        <label className="inline">
          {t('browse.sortBy')}
          <select value={browse.sort} onChange={(e) => setBrowse({ sort: e.target.value as typeof browse.sort })} data-testid="browse-sort">
            <option value="path">{t('browse.sortPath')}</option>
            <option value="date">{t('browse.sortDate')}</option>
            <option value="name">{t('browse.sortName')}</option>
          </select>
        </label>
        <label className="inline check">
          <input type="checkbox" checked={browse.descending} onChange={(e) => setBrowse({ descending: e.target.checked })} />
          {t('browse.descending')}
        </label>
        <label className="inline">
          {t('browse.flag')}
          <select
            value={browse.filters.flag ?? ''}
            onChange={(e) => {
              const { flag: _drop, ...rest } = browse.filters;
              setFilters(e.target.value ? { ...rest, flag: e.target.value as 'keep' | 'reject' | 'none' } : rest);
            }}
          >
            <option value="">{t('browse.flagAny')}</option>
            <option value="keep">{t('browse.flagKeep')}</option>
            <option value="reject">{t('browse.flagReject')}</option>
            <option value="none">{t('browse.flagNone')}</option>
          </select>
        </label>
        {tags.length > 0 && (
          <label className="inline">
            {t('browse.tag')}
            <select
              value={browse.filters.tags?.[0] ?? ''}
              onChange={(e) => {
                const { tags: _drop, ...rest } = browse.filters;
                setFilters(e.target.value ? { ...rest, tags: [e.target.value] } : rest);
              }}
              data-testid="browse-tag"
            >
              <option value="">{t('browse.tagAny')}</option>
              {tags.map((tag) => (
                <option key={tag.tag} value={tag.tag}>
                  {tag.tag}
                </option>
              ))}
            </select>
          </label>
        )}
        {browse.filters.folders?.length ? (
          <span className="chip filter-chip">
            {t('browse.folder')}: {baseName(browse.filters.folders[0])}
            <button
              type="button"
              className="icon-button"
              onClick={() => {
                const { folders: _drop, ...rest } = browse.filters;
                setFilters(rest);
              }}
              aria-label={t('browse.clearFilters')}
            >
              ×
            </button>
          </span>
        ) : (
          <button
            type="button"
            onClick={async () => {
              const [folder] = await app.pickFolders('filter');
              if (folder) setFilters({ ...browse.filters, folders: [folder] });
            }}
          >
            {t('browse.folder')}…
          </button>
        )}
        {filtered && (
          <button type="button" className="link" onClick={() => setFilters({})}>
            {t('browse.clearFilters')}
          </button>
        )}
        <span className="spacer" />
        <button
          type="button"
          onClick={async () => {
            const folders = await app.pickFolders('index', true);
            if (folders.length) void app.startIndex(folders);
          }}
          data-testid="add-folders"
        >
          {t('browse.addFolders')}
        </button>
      </div>
      {workspace && runId !== undefined && <MarkBar workspace={workspace} runId={runId} />}
      {error && <p className="error pad">{error}</p>}
      {workspace && size === 0 && <p className="muted pad">{indexing ? t('empty.indexing') : t('browse.noMatch')}</p>}
      {workspace && size > 0 && <PhotoArea workspace={workspace} runId={runId} gridLabel={t('grid.label')} />}
    </section>
  );
}

function EmptyLibrary() {
  const { t } = useTranslation();
  const app = useApp();
  return (
    <section className="view empty-state" aria-labelledby="empty-title" data-testid="empty-library">
      <div className="empty-card">
        <svg width="56" height="56" viewBox="0 0 24 24" aria-hidden="true" focusable="false" className="empty-icon">
          <path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" fill="none" stroke="currentColor" strokeWidth="1.4" />
          <path d="M12 10v6M9 13l3 3 3-3" fill="none" stroke="currentColor" strokeWidth="1.4" />
        </svg>
        <h1 id="empty-title">{t('empty.title')}</h1>
        <p>{t('empty.body')}</p>
        <button
          type="button"
          className="primary"
          onClick={async () => {
            const folders = await app.pickFolders('index', true);
            if (folders.length) void app.startIndex(folders);
          }}
          data-testid="pick-folders"
        >
          {t('empty.pick')}
        </button>
        <OcrToggle />
      </div>
    </section>
  );
}
