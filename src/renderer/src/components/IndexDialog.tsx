// Where indexing is and what failed: every file that could not be read, with the reason, so a
// reporter knows what is missing from the library and why; damaged images that were indexed anyway,
// so none is taken for a clean one; and the library's switch for reading text in images.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { errorText, usePlatform } from '../platform-context.js';
import { useAppState } from '../state/context.js';
import { Dialog } from './Dialog.js';
import { OcrToggle } from './OcrToggle.js';
import { IndexProgressLine } from './StatusBar.js';

type Listed = { path: string; reason: string }[];

function FileTable({ rows, testId, reasonHeader }: { rows: Listed; testId: string; reasonHeader: string }) {
  const { t } = useTranslation();
  return (
    <div className="table-scroll">
      <table className="data" data-testid={testId}>
        <thead>
          <tr>
            <th scope="col">{t('index.file')}</th>
            <th scope="col">{reasonHeader}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.path}>
              <td className="mono break">{f.path}</td>
              <td>{f.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function IndexDialog({ onClose }: { onClose(): void }) {
  const { t } = useTranslation();
  const { client } = usePlatform();
  const index = useAppState((s) => s.index);
  const [failures, setFailures] = useState<Listed | null>(null);
  const [warnings, setWarnings] = useState<Listed | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    client.invoke('index.failures', index.folders.length ? { folders: index.folders } : {}).then(
      (out) => {
        if (!live) return;
        const fromJob = index.result;
        // The last run's own lists when it has them (they include files outside the library, such
        // as links leading out of the folders); the library's records otherwise.
        setFailures((fromJob?.failed.length ? fromJob.failed : out.failures).map((f) => ({ path: f.path, reason: f.error })));
        const stored = out.warnings.map((w) => ({ path: w.path, reason: w.warning }));
        const extra = (fromJob?.warnings ?? []).filter((w) => !stored.some((s) => s.path === w.path)).map((w) => ({ path: w.path, reason: w.warning }));
        setWarnings([...stored, ...extra].sort((a, b) => a.path.localeCompare(b.path)));
      },
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [client, index.result, index.folders]);
  const ocrFailed = (index.result?.ocr?.failed ?? []).map((f) => ({ path: f.path, reason: f.error }));
  return (
    <Dialog title={t('index.panel')} onClose={onClose} wide testId="index-dialog">
      {index.running && <IndexProgressLine />}
      <OcrToggle showCounts />
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
      {failures && failures.length > 0 && <FileTable rows={failures} testId="failures" reasonHeader={t('index.reason')} />}
      <h3>{t('ocr.warnings')}</h3>
      {warnings && warnings.length === 0 && <p className="muted">{t('ocr.noWarnings')}</p>}
      {warnings && warnings.length > 0 && <FileTable rows={warnings} testId="warnings" reasonHeader={t('ocr.warning')} />}
      {ocrFailed.length > 0 && (
        <>
          <h3>{t('ocr.failures')}</h3>
          <FileTable rows={ocrFailed} testId="ocr-failures" reasonHeader={t('index.reason')} />
        </>
      )}
    </Dialog>
  );
}
