// A photo view's body: grid, loupe or compare over one workspace, the info panel, and the mark bar
// (the same actions as the keys, for the mouse). While mounted its workspace is the one the
// window's keys act on.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useApp, useAppState } from '../state/context.js';
import { useStore } from '../state/store.js';
import type { Workspace } from '../state/workspace.js';
import { Grid } from './Grid.js';
import { InfoPanel } from './InfoPanel.js';
import { Compare, Loupe } from './Loupe.js';
import { LayoutButtons, ScoresToggle, TileSlider } from './ViewBar.js';

const TILE_KEY = 'triagem-tile';

export function useTileSize(): [number, (n: number) => void] {
  const [tile, setTile] = useState(() => Number(localStorage.getItem(TILE_KEY)) || 184);
  return [
    tile,
    (n) => {
      localStorage.setItem(TILE_KEY, String(n));
      setTile(n);
    },
  ];
}

export function PhotoArea({ workspace, runId, gridLabel }: { workspace: Workspace; runId: number | undefined; gridLabel: string }) {
  const app = useApp();
  const [tile, setTile] = useTileSize();
  const layout = useAppState((s) => s.layout);
  const showInfo = useAppState((s) => s.showInfo);
  const showScores = useAppState((s) => s.showScores);
  const labels = useAppState((s) => s.summary?.labels) ?? EMPTY;
  const focus = useStore(workspace.selection, (s) => s.focus);
  const [other, setOther] = useState(focus + 1);
  const gridEl = useRef<HTMLDivElement | null>(null);

  useEffect(() => {
    app.setWorkspace(workspace);
    const untrack = app.track(workspace.collection);
    return () => {
      untrack();
      if (app.activeWorkspace() === workspace) app.setWorkspace(null);
    };
  }, [app, workspace]);

  // Remember the selection for "export the selection".
  useEffect(
    () =>
      workspace.selection.subscribe(() => {
        const selected = workspace.selection.get().selected;
        if (selected.size > 0) app.rememberSelection([...selected]);
      }),
    [app, workspace],
  );

  useEffect(() => setOther((o) => (o === focus ? focus + 1 : o)), [focus]);
  useEffect(() => {
    if (layout === 'compare') {
      // Two or more selected: compare the first two of them (Lightroom's C); else the focused and the next.
      const picked = [...workspace.selection.get().selected]
        .map((id) => workspace.collection.index(id))
        .filter((i) => i >= 0)
        .sort((a, b) => a - b);
      if (picked.length >= 2) {
        workspace.focus(picked[0], { keepSelection: true });
        setOther(picked[1]);
      } else setOther(Math.min(focus + 1, workspace.collection.size - 1));
    }
    // Back in the grid, keyboard focus goes back into it.
    if (layout === 'grid') gridEl.current?.focus({ preventScroll: true });
  }, [layout]); // eslint-disable-line react-hooks/exhaustive-deps

  const open = useCallback(
    (index: number) => {
      workspace.focus(index);
      app.setLayout('loupe');
    },
    [app, workspace],
  );
  const setGrid = useCallback((el: HTMLDivElement | null) => {
    gridEl.current = el;
  }, []);

  // ←/→ in the loupe and compare (the grid handles its own arrows).
  useEffect(() => {
    if (layout === 'grid') return;
    const onKey = (e: KeyboardEvent) => {
      if (app.state.dialog || e.defaultPrevented) return;
      const target = e.target as HTMLElement | null;
      if (target && ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) return;
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return;
      e.preventDefault();
      const size = workspace.collection.size;
      if (layout === 'compare' && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) {
        setOther((o) => Math.max(0, Math.min(size - 1, o + (e.key === 'ArrowRight' ? 1 : -1))));
        return;
      }
      const f = workspace.selection.get().focus;
      const next = e.key === 'Home' ? 0 : e.key === 'End' ? size - 1 : f + (e.key === 'ArrowRight' ? 1 : -1);
      workspace.focus(next);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [app, layout, workspace]);

  return (
    <div className="photo-area">
      <div className="photo-column">
        <div className="photo-main">
          {layout === 'grid' && <Grid workspace={workspace} tile={tile} showScores={showScores} labels={labels} label={gridLabel} onOpen={open} gridRef={setGrid} />}
          {layout === 'loupe' && <Loupe workspace={workspace} labels={labels} showScores={showScores} />}
          {layout === 'compare' && <Compare workspace={workspace} other={other} labels={labels} showScores={showScores} />}
        </div>
        <div className="view-strip">
          <LayoutButtons />
          <SelectionCount workspace={workspace} />
          <span className="spacer" />
          <ScoresToggle />
          {layout === 'grid' && <TileSlider tile={tile} setTile={setTile} />}
        </div>
      </div>
      {showInfo && <InfoPanel workspace={workspace} runId={runId} />}
    </div>
  );
}

const EMPTY: readonly string[] = [];

function SelectionCount({ workspace }: { workspace: Workspace }) {
  const { t } = useTranslation();
  const selected = useStore(workspace.selection, (s) => s.selected.size);
  return (
    <span className="muted small-text" data-testid="selection-count">
      {selected > 1 ? t('common.selected', { count: selected }) : ''}
    </span>
  );
}

/** Buttons for every mark, numbered like the keys, for the mouse and for discovering the keys. */
export function MarkBar({ workspace, runId }: { workspace: Workspace; runId: number | undefined }) {
  const { t } = useTranslation();
  const app = useApp();
  const labels = useAppState((s) => s.summary?.labels) ?? EMPTY;
  const layout = useAppState((s) => s.layout);
  const act = (command: Parameters<typeof app.mark>[0]) => void app.mark(command, workspace.targets(layout), runId);
  return (
    <div className="mark-bar" role="toolbar" aria-label={t('review.chips')}>
      {labels.slice(0, 9).map((label, i) => (
        <button key={label} type="button" className="chip-button" onClick={() => act({ kind: 'label', n: i + 1 })} data-testid={`assign-${i + 1}`}>
          <kbd>{i + 1}</kbd> {label}
        </button>
      ))}
      {labels.length > 0 && <span className="sep" aria-hidden="true" />}
      {labels.length > 0 && (
        <button type="button" onClick={() => act({ kind: 'accept' })}>
          {t('review.accept')}
        </button>
      )}
      {labels.length > 0 && (
        <button type="button" onClick={() => act({ kind: 'clear' })}>
          {t('review.clear')}
        </button>
      )}
      <button type="button" className="flag-keep-button" onClick={() => act({ kind: 'keep' })}>
        {t('review.keep')}
      </button>
      <button type="button" className="flag-reject-button" onClick={() => act({ kind: 'reject' })}>
        {t('review.reject')}
      </button>
      <button type="button" onClick={() => act({ kind: 'unflag' })}>
        {t('review.unflag')}
      </button>
      <button type="button" onClick={() => void app.undoMark()}>
        {t('review.undo')}
      </button>
    </div>
  );
}
