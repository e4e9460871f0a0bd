import { useTranslation } from 'react-i18next';
import { useApp, useAppState } from '../state/context.js';

/** Transient messages, plus one polite live region so screen readers hear what each action did. */
export function Toasts() {
  const { t } = useTranslation();
  const app = useApp();
  const toasts = useAppState((s) => s.toasts);
  const announcement = useAppState((s) => s.announcement);
  return (
    <>
      <div className="sr-only" role="status" aria-live="polite" data-testid="announcer">
        {announcement}
      </div>
      <div className="toasts">
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast toast-${toast.tone}`} data-testid="toast">
            <span>{toast.text}</span>
            {toast.action && (
              <button
                type="button"
                className="small"
                onClick={() => {
                  toast.action?.run();
                  app.dismissToast(toast.id);
                }}
              >
                {toast.action.label}
              </button>
            )}
            <button type="button" className="icon-button" onClick={() => app.dismissToast(toast.id)} aria-label={t('common.close')}>
              ×
            </button>
          </div>
        ))}
      </div>
    </>
  );
}
