// What reading text and decoding said about one photo, for the info panel: the recognised text
// (selectable, with a Copy button, its languages and confidence) or, plainly, why there is none;
// and a damaged image's warning, so it is never taken for a clean one.
import { useTranslation } from 'react-i18next';
import type { ImageTextRecord } from '../../../shared/contract.js';
import { snippetParts, type Snippet } from '../lib/snippet.js';

/** `hidden`: the text is already said elsewhere for screen readers (a tile's description). */
export function Highlighted({ snippet, className, hidden }: { snippet: Snippet; className?: string; hidden?: boolean }) {
  return (
    <span className={className} aria-hidden={hidden || undefined} data-testid="snippet">
      {snippetParts(snippet).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </span>
  );
}

export function DamageNote({ warning }: { warning: string }) {
  const { t } = useTranslation();
  return (
    <p className="damage-note" role="note" data-testid="info-warning">
      <strong>{t('ocr.damaged')}.</strong> {t('ocr.damagedInfo', { reason: warning })}
    </p>
  );
}

export function ImageText({ record, onCopy }: { record: ImageTextRecord | null; onCopy(text: string): void }) {
  const { t } = useTranslation();
  const langs = record?.langs.map((l) => (l === 'por' || l === 'eng' ? t(`ocr.lang.${l}`) : l)).join(' + ');
  return (
    <section className="image-text" aria-labelledby="image-text-title" data-testid="info-ocr">
      <h3 id="image-text-title">{t('ocr.title')}</h3>
      {record === null && (
        <>
          <p className="muted" data-testid="ocr-status">
            {t('ocr.notRead')}
          </p>
          <p className="muted small-text">{t('ocr.notReadHint')}</p>
        </>
      )}
      {record?.status === 'empty' && (
        <p className="muted" data-testid="ocr-status">
          {t('ocr.empty')}
        </p>
      )}
      {record?.status === 'gated' && (
        <p className="muted" data-testid="ocr-status">
          {t('ocr.gated')}
        </p>
      )}
      {record?.status === 'failed' && (
        <p className="error" data-testid="ocr-status">
          {t('ocr.failed', { reason: record.error ?? '—' })}
        </p>
      )}
      {record?.status === 'text' && (
        <>
          {/* A focusable region: keyboard users reach it and select its text (Ctrl+A selects only it). */}
          <pre className="ocr-text" tabIndex={0} role="region" aria-label={t('ocr.title')} data-testid="ocr-text">
            {record.text}
          </pre>
          <p className="muted small-text" data-testid="ocr-meta">
            {[langs ? t('ocr.languages', { langs }) : '', record.confidence !== null ? t('ocr.confidence', { value: Math.round(record.confidence) }) : ''].filter(Boolean).join(' · ')}
          </p>
          <div className="panel-actions">
            <button type="button" onClick={() => onCopy(record.text)} data-testid="ocr-copy">
              {t('ocr.copy')}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
