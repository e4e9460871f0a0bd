import { Fragment } from 'react';
import { useTranslation } from 'react-i18next';
import { HELP } from '../lib/keys.js';
import { Dialog } from './Dialog.js';

const SECTIONS = ['marks', 'navigate', 'views', 'other'] as const;

export function HelpDialog({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const keyName = (k: string) => (k === '@key' ? t('help.key') : k === '@space' ? t('help.space') : k);
  return (
    <Dialog title={t('help.title')} onClose={onClose} wide testId="help">
      <p className="muted">{t('help.note')}</p>
      <div className="help-grid">
        {SECTIONS.map((section) => (
          <section key={section}>
            <h3>{t(`help.${section}`)}</h3>
            <dl className="keys">
              {HELP.filter((h) => h.section === section).map((h) => (
                <Fragment key={h.does}>
                  <dt>
                    {h.keys.map((k, i) => (k === '+' || k === '…' ? <span key={i}> {k} </span> : <kbd key={i}>{keyName(k)}</kbd>))}
                  </dt>
                  <dd>{t(h.does)}</dd>
                </Fragment>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </Dialog>
  );
}
