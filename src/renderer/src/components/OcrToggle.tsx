// The library's "read text in images" switch, with what it costs said in one line. It is the
// library's own setting (remembered in the library file), so a folder dropped on the window later
// follows it as much as one picked here.
import { useEffect, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { useApp, useAppState } from '../state/context.js';

export function OcrToggle({ showCounts = false }: { showCounts?: boolean }) {
  const { t } = useTranslation();
  const app = useApp();
  const ocr = useAppState((s) => s.ocr);
  const running = useAppState((s) => s.index.running);
  const hintId = useId();
  useEffect(() => {
    if (!app.state.ocr) void app.refreshOcr().catch(() => undefined);
  }, [app]);
  const counts = ocr?.counts;
  const read = counts ? counts.text + counts.empty + counts.gated + counts.failed : 0;
  return (
    <div className="ocr-toggle" data-testid="ocr-toggle">
      <label>
        <input
          type="checkbox"
          checked={ocr?.enabled === true}
          disabled={!ocr || running}
          onChange={(e) => void app.setOcr(e.target.checked)}
          aria-describedby={hintId}
          data-testid="ocr-switch"
        />
        {t('ocr.toggle')}
      </label>
      <p id={hintId} className="muted small-text">
        {t('ocr.toggleHint')} {t('ocr.remembered')}
      </p>
      {showCounts && counts && read > 0 && (
        <p className="muted small-text" data-testid="ocr-counts">
          {t('ocr.readSoFar', { text: counts.text, empty: counts.empty, gated: counts.gated })}
        </p>
      )}
    </div>
  );
}
