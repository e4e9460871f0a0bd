// Where indexing is and what failed: every file that could not be read, with the reason, so a
// reporter knows what is missing from the library and why.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText, usePlatform } from '../platform-context.js';
import { useAppState } from '../state/context.js';
import { Dialog } from './Dialog.js';
import { IndexProgressLine } from './StatusBar.js';

export function IndexDialog({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const { client } = usePlatform();
  const index = useAppState((s) => s.index);
  const [failures, setFailures] = useState<{ path: string; error: string }[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const fromJob = index.result?.failed;
    if (fromJob && fromJob.length) {
      setFailures(fromJob);
      return;
    }
    client.invoke('index.failures', index.folders.length ? { folders: index.folders } : {}).then(
      (out) => setFailures(out.failures),
      (err: unknown) => setError(errorText(err)),
    );
  }, [client, index.result, index.folders]);
  return (
    <Dialog title={t('index.panel')} onClose={onClose} wide testId="index-dialog">
      {index.running && <IndexProgressLine />}
      {index.folders.length > 0 && (
        <>
          <h3>{t('index.folders')}</h3>
          <ul className="plain">
            {index.folders.map((f) => (
              <li key={f} className="mono break">
                {f}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>{t('index.failures')}</h3>
      {error && <p className="error">{error}</p>}
      {failures && failures.length === 0 && <p className="muted">{t('index.noFailures')}</p>}
      {failures && failures.length > 0 && (
        <div className="table-scroll">
          <table className="data" data-testid="failures">
            <thead>
              <tr>
                <th scope="col">{t('index.file')}</th>
                <th scope="col">{t('index.reason')}</th>
              </tr>
            </thead>
            <tbody>
              {failures.map((f) => (
                <tr key={f.path}>
                  <td className="mono break">{f.path}</td>
                  <td>{f.error}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Dialog>
  );
}
