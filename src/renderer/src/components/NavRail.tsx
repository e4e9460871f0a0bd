import { useTranslation } from 'react-i18next';
import { formatNumber } from '../lib/format.js';
import type { View } from '../state/app.js';
import { useApp, useAppState } from '../state/context.js';

const VIEWS: View[] = ['browse', 'sort', 'review', 'evaluate', 'search', 'duplicates', 'export'];

export function NavRail() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const view = useAppState((s) => s.view);
  const summary = useAppState((s) => s.summary);
  const reviewLabel = useAppState((s) => s.reviewLabel);
  const tags = useAppState((s) => s.tags);
  const tagFilter = useAppState((s) => s.browse.filters.tags?.[0]);
  const lang = i18n.language;
  return (
    <nav className="nav-rail" aria-label={t('nav.label')}>
      <ul className="nav-list">
        {VIEWS.map((v) => (
          <li key={v}>
            <button type="button" className={`nav-item${view === v ? ' active' : ''}`} aria-current={view === v ? 'page' : undefined} onClick={() => app.setView(v)} data-testid={`nav-${v}`}>
              {t(`nav.${v}`)}
            </button>
          </li>
        ))}
      </ul>
      {summary && (
        <section className="nav-section" aria-labelledby="nav-labels">
          <h2 id="nav-labels">{t('nav.labels')}</h2>
          <ul>
            {[...summary.perLabel.map((l) => ({ label: l.label, count: l.suggested, reviewed: l.reviewed })), { label: 'unsure', count: summary.unsure.suggested, reviewed: summary.unsure.reviewed }].map(
              (l, i) => (
                <li key={l.label}>
                  <button
                    type="button"
                    className={`nav-sub${view === 'review' && reviewLabel === l.label ? ' active' : ''}`}
                    onClick={() => app.startReview(l.label)}
                    aria-current={view === 'review' && reviewLabel === l.label ? 'true' : undefined}
                  >
                    {i < 9 && l.label !== 'unsure' ? <kbd>{i + 1}</kbd> : <span className="kbd-space" />}
                    <span className="grow ellipsis">{l.label === 'unsure' ? t('nav.unsure') : l.label}</span>
                    <span className="count">{formatNumber(lang, l.count)}</span>
                  </button>
                </li>
              ),
            )}
          </ul>
        </section>
      )}
      {tags.length > 0 && (
        <section className="nav-section" aria-labelledby="nav-tags">
          <h2 id="nav-tags">{t('nav.tags')}</h2>
          <ul>
            {tags.slice(0, 40).map((tag) => (
              <li key={tag.tag}>
                <button
                  type="button"
                  className={`nav-sub${view === 'browse' && tagFilter === tag.tag ? ' active' : ''}`}
                  title={t('tags.filter', { tag: tag.tag })}
                  onClick={() => app.store.set((s) => ({ ...s, view: 'browse', browse: { ...s.browse, filters: tagFilter === tag.tag ? {} : { tags: [tag.tag] } } }))}
                  data-testid="nav-tag"
                >
                  <span className="grow ellipsis">#{tag.tag}</span>
                  <span className="count">{formatNumber(lang, tag.contents)}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </nav>
  );
}
