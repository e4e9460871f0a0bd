// K: tags on the selection, with the library's tags as autocomplete (a native datalist: typed
// text stays free, known tags are one arrow-key away).
import { useEffect, useId, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { BrowseItem } from '../../../shared/contract.js';
import { errorText, usePlatform } from '../platform-context.js';
import { useApp, useAppState } from '../state/context.js';
import { Dialog } from './Dialog.js';

export function TagDialog({ fileIds, onClose }: { fileIds: number[]; onClose(): void }) {
  const { t } = useTranslation();
  const app = useApp();
  const { client } = usePlatform();
  const libraryTags = useAppState((s) => s.tags);
  const [items, setItems] = useState<BrowseItem[]>([]);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const listId = useId();

  async function reload() {
    const out: BrowseItem[] = [];
    for (let i = 0; i < fileIds.length; i += 1000) out.push(...(await client.invoke('library.items', { fileIds: fileIds.slice(i, i + 1000) })).items);
    setItems(out);
  }
  useEffect(() => {
    reload().catch((err: unknown) => setError(errorText(err)));
  }, [fileIds]); // eslint-disable-line react-hooks/exhaustive-deps

  const counts = useMemo(() => {
    const m = new Map<string, number>();
    for (const item of items) for (const tag of item.tags) m.set(tag, (m.get(tag) ?? 0) + 1);
    return [...m].sort(([a], [b]) => a.localeCompare(b));
  }, [items]);
  const contentIds = useMemo(() => new Set(items.map((i) => i.contentId)), [items]);
  const others = libraryTags.filter((tag) => !counts.some(([c]) => c === tag.tag)).slice(0, 30);

  async function change(action: 'add' | 'remove', tag: string) {
    const clean = tag.trim();
    if (!clean) return;
    await app.changeTag(action, clean, fileIds, contentIds);
    setText('');
    await reload();
  }

  return (
    <Dialog title={t('tags.title', { count: fileIds.length })} onClose={onClose} testId="tag-dialog">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void change('add', text);
        }}
      >
        <input
          className="grow"
          list={listId}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={t('tags.placeholder')}
          aria-label={t('tags.input')}
          data-autofocus
          data-testid="tag-input"
        />
        <datalist id={listId}>
          {libraryTags.map((tag) => (
            <option key={tag.tag} value={tag.tag} />
          ))}
        </datalist>
        <button type="submit" className="primary" disabled={!text.trim()}>
          {t('tags.add')}
        </button>
      </form>
      {error && <p className="error">{error}</p>}
      <h3>{t('tags.current')}</h3>
      {counts.length === 0 ? (
        <p className="muted">{t('tags.none')}</p>
      ) : (
        <ul className="tag-list">
          {counts.map(([tag, n]) => (
            <li key={tag} className="chip tag-chip">
              #{tag}
              {n < items.length && <span className="muted"> ({t('tags.partial', { n, total: items.length })})</span>}
              <button type="button" className="icon-button" onClick={() => void change('remove', tag)} aria-label={t('tags.remove', { tag })}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      {others.length > 0 && (
        <>
          <h3>{t('tags.suggestions')}</h3>
          <div className="tag-list">
            {others.map((tag) => (
                <button key={tag.tag} type="button" className="chip-button" onClick={() => void change('add', tag.tag)}>
                  + {tag.tag}
                </button>
              ))}
          </div>
        </>
      )}
    </Dialog>
  );
}
