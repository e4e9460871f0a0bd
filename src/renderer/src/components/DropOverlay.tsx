// Drag folders or photos from the file manager anywhere on the window. While dragging, two targets:
// index them, or find photos similar to the one dropped. The payload (paths) is only readable on
// drop: `text/uri-list` in a browser, real paths through the Electron preload.
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { carriesFiles, droppedPaths, looksLikeImage } from '../lib/drop.js';
import { usePlatform } from '../platform-context.js';
import { useApp } from '../state/context.js';

export function DropOverlay() {
  const { t } = useTranslation();
  const app = useApp();
  const { shell } = usePlatform();
  const [active, setActive] = useState(false);
  const [over, setOver] = useState<'index' | 'similar' | null>(null);
  const depth = useRef(0);

  useEffect(() => {
    const enter = (e: globalThis.DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      e.preventDefault();
      depth.current++;
      setActive(true);
    };
    const leave = (e: globalThis.DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      depth.current = Math.max(0, depth.current - 1);
      if (depth.current === 0) setActive(false);
    };
    const overWindow = (e: globalThis.DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      // Without this the browser would navigate to the dropped file.
      e.preventDefault();
    };
    const dropWindow = (e: globalThis.DragEvent) => {
      if (!carriesFiles(e.dataTransfer)) return;
      e.preventDefault();
      depth.current = 0;
      setActive(false);
      // A drop outside both targets indexes, the common case.
      if (!(e.target instanceof Element && e.target.closest('.drop-target'))) handle('index', e.dataTransfer);
    };
    window.addEventListener('dragenter', enter);
    window.addEventListener('dragleave', leave);
    window.addEventListener('dragover', overWindow);
    window.addEventListener('drop', dropWindow);
    return () => {
      window.removeEventListener('dragenter', enter);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('dragover', overWindow);
      window.removeEventListener('drop', dropWindow);
    };
  }); // re-bound each render so `handle` sees the current app

  function handle(target: 'index' | 'similar', data: DataTransfer | null) {
    const paths = droppedPaths(data, shell);
    if (paths.length === 0) {
      app.toast(t('drop.nothing'), 'error');
      return;
    }
    if (target === 'similar') {
      const image = paths.find(looksLikeImage);
      if (!image) {
        app.toast(t('drop.notImage'), 'error');
        return;
      }
      void app.searchSimilar(image);
      return;
    }
    void app.startIndex(paths);
  }

  const onDrop = (target: 'index' | 'similar') => (e: DragEvent) => {
    e.preventDefault();
    e.stopPropagation();
    depth.current = 0;
    setActive(false);
    setOver(null);
    handle(target, e.dataTransfer);
  };

  if (!active) return null;
  return (
    <div className="drop-overlay" data-testid="drop-overlay">
      <div
        className={`drop-target${over === 'index' ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver('index');
        }}
        onDragLeave={() => setOver(null)}
        onDrop={onDrop('index')}
        data-testid="drop-index"
      >
        <strong>{t('drop.index')}</strong>
        <span>{t('drop.indexHint')}</span>
      </div>
      <div
        className={`drop-target${over === 'similar' ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver('similar');
        }}
        onDragLeave={() => setOver(null)}
        onDrop={onDrop('similar')}
        data-testid="drop-similar"
      >
        <strong>{t('drop.similar')}</strong>
        <span>{t('drop.similarHint')}</span>
      </div>
    </div>
  );
}
