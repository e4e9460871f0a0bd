// Browser mode's folder dialog: a web page can neither open the system's picker nor learn a
// dropped folder's path from a file input, so the engine lists folders for it (folders.list).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { OpOutput } from '../../../shared/contract.js';
import { errorText, usePlatform } from '../platform-context.js';
import type { FolderPurpose } from '../state/app.js';
import { Dialog } from './Dialog.js';

type Listing = OpOutput<'folders.list'>;

const LAST_KEY = 'triagem-last-folder';

export function FolderPicker({ purpose, multiple, onDone }: { purpose: FolderPurpose; multiple: boolean; onDone(paths: string[]): void }) {
  const { t } = useTranslation();
  const { client } = usePlatform();
  const [listing, setListing] = useState<Listing | null>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checked, setChecked] = useState<string[]>([]);
  const listRef = useRef<HTMLUListElement>(null);

  // Edits to the field, counted as they happen (not at the next render): a listing that arrives
  // after the user started typing must not overwrite their text.
  const edits = useRef(0);
  const edit = (value: string) => {
    edits.current++;
    setTyped(value);
  };

  async function open(target?: string) {
    const before = edits.current;
    try {
      const next = await client.invoke('folders.list', target ? { path: target } : {});
      setListing(next);
      if (edits.current === before) setTyped(next.path);
      setError(null);
      localStorage.setItem(LAST_KEY, next.path);
    } catch (err) {
      setError(errorText(err));
    }
  }

  useEffect(() => {
    const last = localStorage.getItem(LAST_KEY);
    void open(last ?? undefined).then(undefined, () => open());
  }, []); // eslint-disable-line react-hooks/exhaustive-deps

  const folders = listing?.entries.filter((e) => e.kind === 'folder') ?? [];
  const images = listing?.entries.filter((e) => e.kind === 'image').length ?? 0;
  const libraries = purpose === 'library' ? (listing?.entries.filter((e) => e.kind === 'library') ?? []) : [];
  const toggle = (p: string) => setChecked((c) => (c.includes(p) ? c.filter((x) => x !== p) : [...c, p]));

  return (
    <Dialog
      title={t(`picker.${purpose}`)}
      onClose={() => onDone([])}
      wide
      testId="folder-picker"
      footer={
        <>
          <button type="button" onClick={() => onDone([])}>
            {t('common.cancel')}
          </button>
          {multiple && checked.length > 0 && (
            <button type="button" className="primary" onClick={() => onDone(checked)} data-testid="picker-choose-checked">
              {t('picker.chooseChecked', { count: checked.length })}
            </button>
          )}
          <button type="button" className="primary" disabled={!listing} onClick={() => listing && onDone([listing.path])} data-testid="picker-choose">
            {t('picker.chooseThis')}
          </button>
        </>
      }
    >
      <div className="picker">
        <nav className="picker-places" aria-label={t('picker.places')}>
          <h3>{t('picker.places')}</h3>
          <ul>
            {listing?.roots.map((r) => (
              <li key={r.path}>
                <button type="button" className="link" onClick={() => void open(r.path)} title={r.path}>
                  {r.name === '~' ? t('picker.home') : r.name === '/' ? t('picker.computer') : r.name}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div className="picker-main">
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              void open(typed.trim());
            }}
          >
            <button type="button" onClick={() => listing?.parent && void open(listing.parent)} disabled={!listing?.parent} aria-label={t('picker.up')} title={t('picker.up')}>
              ↑
            </button>
            <input className="grow" value={typed} onChange={(e) => edit(e.target.value)} aria-label={t('picker.location')} data-testid="picker-path" spellCheck={false} />
            <button type="submit">{t('picker.go')}</button>
          </form>
          {error && <p className="error">{error}</p>}
          <ul className="picker-list" ref={listRef} aria-label={listing?.path}>
            {folders.map((f) => (
              <li key={f.path} className="picker-row">
                {multiple && <input type="checkbox" checked={checked.includes(f.path)} onChange={() => toggle(f.path)} aria-label={t('picker.check', { name: f.name })} />}
                <button type="button" className="link folder" onClick={() => void open(f.path)} data-testid="picker-folder">
                  <span aria-hidden="true">▸ </span>
                  {f.name}
                </button>
              </li>
            ))}
            {libraries.map((f) => (
              <li key={f.path} className="picker-row">
                <button type="button" className="link" onClick={() => onDone([f.path])}>
                  {f.name} — {t('picker.openLibrary')}
                </button>
              </li>
            ))}
            {listing && folders.length === 0 && libraries.length === 0 && images === 0 && <li className="muted">{t('picker.empty')}</li>}
          </ul>
          {images > 0 && <p className="muted">{t('picker.images', { count: images })}</p>}
          {listing?.truncated && <p className="muted">{t('picker.truncated')}</p>}
        </div>
      </div>
    </Dialog>
  );
}
