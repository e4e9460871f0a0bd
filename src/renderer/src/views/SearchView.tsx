// Search by words (Portuguese or English, "-word" excludes) or by example (a tile's V key, or a
// photo dropped from outside). The adaptive relevance cut-off is explained on the page and can be
// switched off: no hidden global threshold decides what a reporter does not see.
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { PhotoArea } from '../components/PhotoArea.js';
import { baseName, formatNumber } from '../lib/format.js';
import type { SearchState } from '../state/app.js';
import { useApp, useAppState } from '../state/context.js';
import { Workspace } from '../state/workspace.js';

type Filters = SearchState['filters'];

function toDateInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function fromDateInput(value: string, endOfDay: boolean): number | undefined {
  if (!value) return undefined;
  const [y, m, d] = value.split('-').map(Number);
  return endOfDay ? new Date(y, m - 1, d, 23, 59, 59, 999).getTime() : new Date(y, m - 1, d).getTime();
}

export function SearchView() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const search = useAppState((s) => s.search);
  const runId = useAppState((s) => s.summary?.runId);
  const labels = useAppState((s) => s.summary?.labels);
  const tags = useAppState((s) => s.tags);
  const [cameras, setCameras] = useState<string[]>([]);
  const lang = i18n.language;
  const ocrCounts = useAppState((s) => s.ocr?.counts);
  const ocrRead = ocrCounts ? ocrCounts.text + ocrCounts.empty + ocrCounts.gated : null;

  useEffect(() => {
    app.client.invoke('library.facets', {}).then((f) => setCameras(f.cameras), () => undefined);
  }, [app]);

  const result = search.result;
  const workspace = useMemo(() => {
    if (!result) return null;
    const hits = [...result.hits];
    if (search.order === 'date') hits.sort((a, b) => (a.takenAt ?? Infinity) - (b.takenAt ?? Infinity));
    const scores = new Map(hits.map((h) => [h.fileId, h.score]));
    const snippets = new Map(hits.flatMap((h) => (h.ocrSnippet ? [[h.fileId, h.ocrSnippet] as const] : [])));
    return new Workspace(app.makeCollection(hits.map((h) => h.fileId), runId, scores, snippets.size ? snippets : undefined));
  }, [app, result, search.order, runId, search.version]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => () => workspace?.collection.dispose(), [workspace]);

  const setFilters = (patch: Partial<Filters>) => {
    const next: Filters = { ...search.filters, ...patch };
    for (const k of Object.keys(next) as (keyof Filters)[]) if (next[k] === undefined || (Array.isArray(next[k]) && (next[k] as unknown[]).length === 0)) delete next[k];
    app.setSearch({ filters: next });
    if (search.query || search.similarPath) void app.runSearch();
  };

  const heading = search.mode === 'similar' && search.similarPath ? t('search.similarTo', { name: baseName(search.similarPath) }) : search.query ? t('search.resultsFor', { query: search.query }) : t('search.title');
  const cutoff = result?.cutoff ?? null;
  const f = search.filters;
  return (
    <section className="view" aria-labelledby="search-title">
      <div className="toolbar">
        <h1 id="search-title" className="view-title" data-testid="search-title">
          {heading}
        </h1>
        {result && (
          <span className="muted" data-testid="search-count">
            {t('search.count', { count: result.hits.length })} {t('search.took', { ms: Math.round(result.tookMs) })}
          </span>
        )}
        <label className="inline">
          {t('search.sort')}
          <select value={search.order} onChange={(e) => app.setSearch({ order: e.target.value as SearchState['order'] })} data-testid="search-order">
            <option value="relevance">{t('search.sortRelevance')}</option>
            <option value="date">{t('search.sortDate')}</option>
          </select>
        </label>
        {search.mode === 'text' && search.query && <SearchWithin />}
        <span className="spacer" />
      </div>
      <div className="toolbar filters" role="group" aria-label={t('search.filters')}>
        <span className="muted">{t('search.filters')}:</span>
        {f.folders?.length ? (
          <span className="chip filter-chip">
            {t('search.folder')}: {baseName(f.folders[0])}
            <button type="button" className="icon-button" onClick={() => setFilters({ folders: undefined })} aria-label={`${t('search.folder')}: ${t('search.any')}`}>
              ×
            </button>
          </span>
        ) : (
          <button
            type="button"
            className="small"
            onClick={async () => {
              const [folder] = await app.pickFolders('filter');
              if (folder) setFilters({ folders: [folder] });
            }}
          >
            {t('search.folder')}…
          </button>
        )}
        <label className="inline">
          {t('search.from')}
          <input type="date" value={toDateInput(f.takenAfter)} onChange={(e) => setFilters({ takenAfter: fromDateInput(e.target.value, false) })} />
        </label>
        <label className="inline">
          {t('search.to')}
          <input type="date" value={toDateInput(f.takenBefore)} onChange={(e) => setFilters({ takenBefore: fromDateInput(e.target.value, true) })} />
        </label>
        {labels && labels.length > 0 && (
          <label className="inline">
            {t('search.labelFilter')}
            <select value={f.label ?? ''} onChange={(e) => setFilters({ label: e.target.value || undefined })}>
              <option value="">{t('search.any')}</option>
              {[...labels, 'unsure'].map((l) => (
                <option key={l} value={l}>
                  {l === 'unsure' ? t('common.unsure') : l}
                </option>
              ))}
            </select>
          </label>
        )}
        {tags.length > 0 && (
          <label className="inline">
            {t('search.tag')}
            <select value={f.tags?.[0] ?? ''} onChange={(e) => setFilters({ tags: e.target.value ? [e.target.value] : undefined })} data-testid="search-tag">
              <option value="">{t('search.any')}</option>
              {tags.map((tag) => (
                <option key={tag.tag} value={tag.tag}>
                  {tag.tag}
                </option>
              ))}
            </select>
          </label>
        )}
        {cameras.length > 0 && (
          <label className="inline">
            {t('search.camera')}
            <select value={f.camera ?? ''} onChange={(e) => setFilters({ camera: e.target.value || undefined })}>
              <option value="">{t('search.any')}</option>
              {cameras.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {/* Text in images is matched word for word: no relevance cut-off to explain. */}
      {result && !(search.mode === 'text' && search.within === 'words') && (
        <div className="cutoff-note" data-testid="cutoff-note">
          {cutoff ? (
            <>
              <span>{t('search.cutoffOn', { threshold: formatNumber(lang, cutoff.threshold, 3) })}</span>
              {result.belowCutoff > 0 && <span> {t('search.cutoffHidden', { count: result.belowCutoff })}</span>}
              <button
                type="button"
                className="link"
                onClick={() => {
                  app.setSearch({ cutoff: false });
                  void app.runSearch();
                }}
                data-testid="show-all"
              >
                {t('search.showAll')}
              </button>
              <details>
                <summary>{t('search.why')}</summary>
                <p>
                  {t('search.whyFloor', {
                    mean: formatNumber(lang, cutoff.background.mean, 3),
                    sd: formatNumber(lang, cutoff.background.sd, 3),
                    count: cutoff.background.count,
                    floor: formatNumber(lang, cutoff.floor, 3),
                  })}
                </p>
                {cutoff.reason === 'gap' && cutoff.gapAfter !== null && <p>{t('search.whyGap', { n: cutoff.gapAfter })}</p>}
                {cutoff.reason === 'min-score' && <p>{t('search.whyMin')}</p>}
                <p>{t('search.whyNoHidden')}</p>
              </details>
            </>
          ) : (
            <>
              <span>{t('search.cutoffOff')}</span>
              <button
                type="button"
                className="link"
                onClick={() => {
                  app.setSearch({ cutoff: true });
                  void app.runSearch();
                }}
              >
                {t('search.applyCutoff')}
              </button>
            </>
          )}
        </div>
      )}
      {search.busy && <p className="muted pad">{t('common.working')}</p>}
      {search.error && <p className="error pad">{t('common.error', { message: search.error })}</p>}
      {!result && !search.busy && !search.error && (
        <div className="pad">
          <p>{t('search.noQuery')}</p>
          <p className="muted">{t('search.orDrop')}</p>
        </div>
      )}
      {result && result.hits.length === 0 && <p className="pad">{t('search.empty')}</p>}
      {result && result.hits.length === 0 && search.mode === 'text' && search.within === 'words' && ocrRead === 0 && <p className="pad muted">{t('ocr.noneRead')}</p>}
      {workspace && result && result.hits.length > 0 && <PhotoArea key={search.version} workspace={workspace} runId={runId} gridLabel={heading} />}
    </section>
  );
}

/** Words typed in the search box look for what the image shows, or for the text written in it. */
function SearchWithin() {
  const { t } = useTranslation();
  const app = useApp();
  const within = useAppState((s) => s.search.within);
  const count = useAppState((s) => s.search.wordsCount);
  const choose = (next: SearchState['within']) => {
    if (next === within) return;
    app.setSearch({ within: next });
    void app.runSearch();
  };
  return (
    <span className="search-within" role="group" aria-label={t('ocr.searchIn')}>
      <span className="muted">{t('ocr.searchIn')}:</span>
      <span className="segmented">
        <button type="button" aria-pressed={within === 'meaning'} onClick={() => choose('meaning')} data-testid="search-meaning">
          {t('ocr.searchMeaning')}
        </button>
        <button type="button" aria-pressed={within === 'words'} onClick={() => choose('words')} data-testid="search-words">
          {count !== null && within === 'meaning' ? t('ocr.searchWordsCount', { count }) : t('ocr.searchWords')}
        </button>
      </span>
    </span>
  );
}
