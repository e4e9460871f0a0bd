// Duplicate review the Immich way — one group at a time, cards with name, resolution, size, folder
// and date, keep / set-aside chips, the keeper suggested (largest, then earliest), keys A/D/S/
// Shift+C and ←/→ between groups — except that nothing is ever deleted: copies set aside only stay
// out of exports, and "not duplicates" is remembered so the group does not come back.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DuplicateFile, OpOutput } from '../../../shared/contract.js';
import { Dialog } from '../components/Dialog.js';
import { formatBytes, formatDate, formatNumber } from '../lib/format.js';
import { typingTarget } from '../lib/keys.js';
import { errorText, usePlatform } from '../platform-context.js';
import { useApp } from '../state/context.js';

type Review = OpOutput<'duplicates.review'>;
type Group = Review['groups'][number];
type Choice = 'keep' | 'trash';

function initialChoices(group: Group): Map<number, Choice> {
  return new Map(group.files.map((f) => [f.fileId, f.choice ?? (f.fileId === group.suggested ? 'keep' : 'trash')]));
}

export function DuplicatesView() {
  const { t, i18n } = useTranslation();
  const app = useApp();
  const { thumbnailUrl, previewUrl } = usePlatform();
  const [review, setReview] = useState<Review | null>(null);
  const [index, setIndex] = useState(0);
  const [choices, setChoices] = useState<Map<number, Choice>>(new Map());
  const [includeResolved, setIncludeResolved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<DuplicateFile | null>(null);
  const [viewUrl, setViewUrl] = useState<string | null>(null);
  const [focusCard, setFocusCard] = useState(0);
  const cards = useRef<(HTMLButtonElement | null)[]>([]);
  const lang = i18n.language;

  const load = useCallback(async () => {
    setError(null);
    try {
      const next = await app.client.invoke('duplicates.review', { includeResolved });
      setReview(next);
      setIndex(0);
    } catch (err) {
      setError(errorText(err));
    }
  }, [app, includeResolved]);
  useEffect(() => {
    void load();
  }, [load]);

  const group = review?.groups[index];
  useEffect(() => {
    if (group) setChoices(initialChoices(group));
    setFocusCard(0);
  }, [group]);
  useEffect(() => {
    if (!viewing) return;
    setViewUrl(null);
    previewUrl(viewing.sha256).then(setViewUrl, () => setViewUrl(thumbnailUrl(viewing.sha256)));
  }, [viewing, previewUrl, thumbnailUrl]);

  const total = review?.groups.length ?? 0;
  const go = (delta: number) => setIndex((i) => Math.max(0, Math.min(total - 1, i + delta)));
  const setAll = (choice: Choice) => group && setChoices(new Map(group.files.map((f) => [f.fileId, choice])));
  const toggle = (fileId: number) => setChoices((prev) => new Map(prev).set(fileId, prev.get(fileId) === 'keep' ? 'trash' : 'keep'));

  async function resolve() {
    if (!group || !review) return;
    const keep = group.files.filter((f) => choices.get(f.fileId) === 'keep').map((f) => f.fileId);
    const trash = group.files.filter((f) => choices.get(f.fileId) !== 'keep').map((f) => f.fileId);
    try {
      await app.client.invoke('duplicates.decide', { action: 'resolve', keep, trash });
      app.toast(t('duplicates.resolved', { keep: keep.length, trash: trash.length }), 'success');
      advancePast({ ...group, resolved: true, files: group.files.map((f) => ({ ...f, choice: choices.get(f.fileId) ?? 'trash' })) });
    } catch (err) {
      app.toast(errorText(err), 'error');
    }
  }

  async function notDuplicates() {
    if (!group) return;
    try {
      await app.client.invoke('duplicates.decide', { action: 'not-duplicates', fileIds: group.files.map((f) => f.fileId) });
      app.toast(t('duplicates.dismissed'), 'success');
      if (review) {
        const groups = review.groups.filter((g) => g.key !== group.key);
        setReview({ ...review, groups, dismissed: review.dismissed + 1 });
        setIndex((i) => Math.min(i, Math.max(0, groups.length - 1)));
      }
    } catch (err) {
      app.toast(errorText(err), 'error');
    }
  }

  /** A resolved group leaves the list (unless resolved ones are shown); the next one comes up. */
  function advancePast(done: Group) {
    if (!review) return;
    if (includeResolved) {
      setReview({ ...review, groups: review.groups.map((g) => (g.key === done.key ? done : g)) });
      go(1);
      return;
    }
    const groups = review.groups.filter((g) => g.key !== done.key);
    setReview({ ...review, groups, resolved: review.resolved + 1 });
    setIndex((i) => Math.min(i, Math.max(0, groups.length - 1)));
  }

  // The view's own keys (the photo views' map does not apply here).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (app.state.dialog || viewing || typingTarget(e.target) || e.ctrlKey || e.metaKey || e.altKey || !group) return;
      const digit = /^(?:Digit|Numpad)([1-9])$/.exec(e.code);
      if (digit && !e.shiftKey) {
        const f = group.files[Number(digit[1]) - 1];
        if (f) {
          e.preventDefault();
          toggle(f.fileId);
        }
        return;
      }
      const handled = (() => {
        switch (e.code) {
          case 'ArrowRight':
            go(1);
            return true;
          case 'ArrowLeft':
            go(-1);
            return true;
          case 'KeyA':
            if (e.shiftKey) return false;
            setAll('keep');
            return true;
          case 'KeyD':
            if (e.shiftKey) return false;
            setAll('trash');
            return true;
          case 'KeyS':
            if (e.shiftKey) return false;
            setViewing(group.files[focusCard] ?? group.files[0]);
            return true;
          case 'KeyC':
            if (!e.shiftKey) return false;
            void resolve();
            return true;
          case 'KeyN':
            if (e.shiftKey) return false;
            void notDuplicates();
            return true;
        }
        return false;
      })();
      if (handled) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  return (
    <section className="view scroll" aria-labelledby="dup-title">
      <div className="page wide">
        <div className="toolbar flat">
          <h1 id="dup-title" className="view-title">
            {t('duplicates.title')}
          </h1>
          {group && (
            <strong aria-live="polite" data-testid="dup-position">
              {t('duplicates.group', { index: index + 1, total })}
            </strong>
          )}
          <span className="spacer" />
          <label className="inline check">
            <input type="checkbox" checked={includeResolved} onChange={(e) => setIncludeResolved(e.target.checked)} />
            {t('duplicates.showResolved')}
          </label>
        </div>
        <p className="lead">{t('duplicates.intro')}</p>
        {!review && !error && <p className="muted">{t('duplicates.searching')}</p>}
        {error && <p className="error">{t('common.error', { message: error })}</p>}
        {review && (review.dismissed > 0 || review.resolved > 0) && !includeResolved && <p className="muted small-text">{t('duplicates.hidden', { dismissed: review.dismissed, resolved: review.resolved })}</p>}
        {review && total === 0 && (
          <p className="empty-line" data-testid="dup-empty">
            {review.dismissed + review.resolved > 0 ? t('duplicates.allDone') : t('duplicates.empty')}
          </p>
        )}
        {group && (
          <div className="dup-group" data-testid="dup-group">
            <p className="muted">{group.kind === 'exact' ? t('duplicates.exact') : t('duplicates.near', { similarity: formatNumber(lang, group.similarity, 3) })}</p>
            <div className="row wrap dup-actions">
              <button type="button" onClick={() => go(-1)} disabled={index === 0}>
                ← {t('duplicates.previous')}
              </button>
              <button type="button" onClick={() => setAll('keep')}>
                {t('duplicates.keepAll')} <kbd>A</kbd>
              </button>
              <button type="button" onClick={() => setAll('trash')}>
                {t('duplicates.trashAll')} <kbd>D</kbd>
              </button>
              <button type="button" onClick={() => setViewing(group.files[focusCard] ?? group.files[0])}>
                {t('duplicates.view')} <kbd>S</kbd>
              </button>
              <button type="button" onClick={() => void notDuplicates()} data-testid="dup-not">
                {t('duplicates.notDuplicates')} <kbd>N</kbd>
              </button>
              <button type="button" className="primary" onClick={() => void resolve()} data-testid="dup-resolve">
                {t('duplicates.resolve')} <kbd>Shift+C</kbd>
              </button>
              <button type="button" onClick={() => go(1)} disabled={index >= total - 1}>
                {t('duplicates.next')} →
              </button>
            </div>
            <p className="muted small-text">{t('duplicates.keys')}</p>
            <div className="dup-cards">
              {group.files.map((f, i) => {
                const choice = choices.get(f.fileId) ?? 'trash';
                const choiceText = choice === 'keep' ? t('duplicates.keep') : t('duplicates.trash');
                return (
                  <div key={f.fileId} className={`dup-card ${choice}`} data-testid="dup-card" data-choice={choice}>
                    <button
                      ref={(el) => {
                        cards.current[i] = el;
                      }}
                      type="button"
                      className="dup-thumb"
                      aria-pressed={choice === 'keep'}
                      aria-label={t('duplicates.card', { n: i + 1, name: f.name, choice: choiceText })}
                      onClick={() => toggle(f.fileId)}
                      onFocus={() => setFocusCard(i)}
                    >
                      <img src={thumbnailUrl(f.sha256)} alt="" loading="lazy" />
                      <kbd className="card-number">{i + 1}</kbd>
                    </button>
                    <div className="dup-info">
                      <span className={`chip choice-chip ${choice}`}>{choiceText}</span>
                      {f.fileId === group.suggested && <span className="chip suggested-chip">{t('duplicates.suggested')}</span>}
                      <strong className="break">{f.name}</strong>
                      <span>{f.width && f.height ? t('duplicates.resolution', { w: f.width, h: f.height }) : t('common.none')}</span>
                      <span>{formatBytes(lang, f.size)}</span>
                      <span className="muted break" title={f.folder}>
                        {f.folder}
                      </span>
                      <span className="muted">{formatDate(lang, f.takenAt ?? f.mtimeMs)}</span>
                    </div>
                  </div>
                );
              })}
            </div>
          </div>
        )}
      </div>
      {viewing && (
        <Dialog title={viewing.name} onClose={() => setViewing(null)} wide testId="dup-viewer">
          <div className="viewer">{viewUrl && <img src={viewUrl} alt={viewing.name} />}</div>
        </Dialog>
      )}
    </section>
  );
}
