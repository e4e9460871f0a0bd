// The contact sheet: a WAI-ARIA grid (one Tab stop; arrows, Home/End, PageUp/PageDown inside;
// aria-rowcount over every row, not just the rendered ones) virtualized by rows with TanStack
// Virtual, so 100 000 photos keep ~60 tiles in the DOM. Focus stays on the grid element and
// aria-activedescendant names the focused cell, which is always rendered because focus scrolls it
// into view — the pattern that survives virtualization.
import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore, type KeyboardEvent, type MouseEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { BrowseItem } from '../../../shared/contract.js';
import { formatScore } from '../lib/format.js';
import { usePlatform } from '../platform-context.js';
import type { Collection } from '../state/collection.js';
import { useStore } from '../state/store.js';
import type { Workspace } from '../state/workspace.js';

const GAP = 6;
const META = 40;

export interface GridProps {
  workspace: Workspace;
  /** Tile edge in px (the thumbnail box). */
  tile: number;
  showScores: boolean;
  /** The current run's labels, for the numbers printed on label chips. */
  labels: readonly string[];
  label: string;
  onOpen(index: number): void;
  /** The grid element, for callers that move focus into it. */
  gridRef?: (el: HTMLDivElement | null) => void;
}

function cellId(collectionKey: string, fileId: number): string {
  return `cell-${collectionKey}-${fileId}`;
}

let gridCounter = 0;

export function Grid({ workspace, tile, showScores, labels, label, onOpen, gridRef }: GridProps) {
  const { t } = useTranslation();
  const collection = workspace.collection;
  const scroller = useRef<HTMLDivElement | null>(null);
  const [key] = useState(() => `g${++gridCounter}`);
  const [width, setWidth] = useState(0);
  // Re-render when the id list changes length (indexing adds files).
  const size = useSyncExternalStore(collection.subscribe, () => collection.size);
  const focus = useStore(workspace.selection, (s) => s.focus);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const observer = new ResizeObserver(([entry]) => setWidth(entry.contentRect.width));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // As many columns of at least `tile` px as fit; the cells then stretch to fill the row.
  const columns = Math.max(1, Math.floor((width - GAP) / (tile + GAP)));
  const cellWidth = Math.max(tile, Math.floor((width - GAP) / columns) - GAP);
  const thumbHeight = Math.round(cellWidth * 0.78);
  const rows = Math.ceil(size / columns);
  const rowHeight = thumbHeight + META + GAP;
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => rowHeight,
    overscan: 2,
    paddingStart: GAP,
    paddingEnd: GAP,
  });
  useEffect(() => virtualizer.measure(), [rowHeight, virtualizer]);

  const items = virtualizer.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (last >= first) collection.ensure(first * columns, (last + 1) * columns);
  }, [collection, first, last, columns, size]);

  // Keep the focused photo in view whenever focus moves (keys, Shift+mark-and-advance, loupe).
  useEffect(() => {
    if (size === 0) return;
    virtualizer.scrollToIndex(Math.floor(focus / columns), { align: 'auto' });
  }, [focus, columns, size, virtualizer]);

  const setRef = useCallback(
    (el: HTMLDivElement | null) => {
      scroller.current = el;
      gridRef?.(el);
    },
    [gridRef],
  );

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const page = Math.max(1, Math.floor((scroller.current?.clientHeight ?? rowHeight) / rowHeight)) * columns;
    const mod = e.ctrlKey || e.metaKey;
    let next: number | null = null;
    switch (e.key) {
      case 'ArrowRight':
        next = focus + 1;
        break;
      case 'ArrowLeft':
        next = focus - 1;
        break;
      case 'ArrowDown':
        next = focus + columns;
        break;
      case 'ArrowUp':
        next = focus - columns;
        break;
      case 'PageDown':
        next = focus + page;
        break;
      case 'PageUp':
        next = focus - page;
        break;
      case 'Home':
        next = mod ? 0 : focus - (focus % columns);
        break;
      case 'End':
        next = mod ? size - 1 : Math.min(size - 1, focus - (focus % columns) + columns - 1);
        break;
      case ' ':
        e.preventDefault();
        workspace.toggle(focus);
        return;
      case 'Escape':
        if (workspace.selection.get().selected.size > 1) {
          e.preventDefault();
          workspace.focus(focus);
        }
        return;
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
    if (size === 0) return;
    workspace.focus(Math.max(0, Math.min(size - 1, next)), { extend: e.shiftKey, keepSelection: mod && !e.shiftKey && e.key !== 'Home' && e.key !== 'End' });
  }

  const onCellClick = useCallback(
    (index: number, e: MouseEvent) => {
      if (e.shiftKey) workspace.focus(index, { extend: true });
      else if (e.ctrlKey || e.metaKey) workspace.toggle(index);
      else workspace.focus(index);
      scroller.current?.focus({ preventScroll: true });
    },
    [workspace],
  );

  const activeId = collection.ids[focus];
  return (
    <div
      ref={setRef}
      className="grid"
      role="grid"
      tabIndex={0}
      aria-label={label}
      aria-rowcount={rows}
      aria-colcount={columns}
      aria-multiselectable="true"
      aria-activedescendant={activeId !== undefined && size > 0 ? cellId(key, activeId) : undefined}
      data-testid="grid"
      onKeyDown={onKeyDown}
      style={{ ['--cell-w' as string]: `${cellWidth}px`, ['--thumb-h' as string]: `${thumbHeight}px` }}
    >
      <div role="rowgroup" className="grid-rows" style={{ height: virtualizer.getTotalSize() }}>
        {items.map((row) => (
          <div key={row.key} role="row" aria-rowindex={row.index + 1} className="grid-row" style={{ transform: `translateY(${row.start}px)`, gap: GAP, paddingLeft: GAP }}>
            {Array.from({ length: Math.min(columns, size - row.index * columns) }, (_, c) => {
              const index = row.index * columns + c;
              const fileId = collection.ids[index];
              return (
                <Tile
                  key={fileId}
                  id={cellId(key, fileId)}
                  workspace={workspace}
                  collection={collection}
                  fileId={fileId}
                  index={index}
                  column={c + 1}
                  showScores={showScores}
                  labels={labels}
                  onClick={onCellClick}
                  onOpen={onOpen}
                  loadingText={t('common.working')}
                />
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

interface TileProps {
  id: string;
  workspace: Workspace;
  collection: Collection;
  fileId: number;
  index: number;
  column: number;
  showScores: boolean;
  labels: readonly string[];
  loadingText: string;
  onClick(index: number, e: MouseEvent): void;
  onOpen(index: number): void;
}

const Tile = memo(function Tile({ id, workspace, collection, fileId, index, column, showScores, labels, loadingText, onClick, onOpen }: TileProps) {
  const item = useSyncExternalStore(collection.subscribe, () => collection.item(fileId));
  const selected = useStore(workspace.selection, (s) => s.selected.has(fileId));
  const focused = useStore(workspace.selection, (s) => s.focus === index);
  const score = collection.scores?.get(fileId);
  const className = ['tile', selected ? 'selected' : '', focused ? 'focused' : '', item?.mark?.flag === 'reject' || item?.duplicate === 'trash' ? 'dimmed' : ''].join(' ');
  return (
    <div
      id={id}
      role="gridcell"
      aria-colindex={column}
      aria-selected={selected}
      aria-label={item ? undefined : loadingText}
      className={className}
      data-testid="tile"
      data-file-id={fileId}
      onClick={(e) => onClick(index, e)}
      onDoubleClick={() => onOpen(index)}
    >
      {item ? <TileBody item={item} labels={labels} showScores={showScores} score={score} /> : <div className="thumb placeholder" />}
    </div>
  );
});

function TileBody({ item, labels, showScores, score }: { item: BrowseItem; labels: readonly string[]; showScores: boolean; score: number | undefined }) {
  const { t, i18n } = useTranslation();
  const { thumbnailUrl } = usePlatform();
  const [broken, setBroken] = useState(false);
  const confirmed = item.mark?.label ?? null;
  const flag = item.mark?.flag ?? null;
  const suggestion = item.suggestion;
  const number = (l: string) => {
    const n = labels.indexOf(l);
    return n >= 0 && n < 9 ? n + 1 : null;
  };
  const showLabel = (l: string) => (l === 'unsure' ? t('common.unsure') : l);
  const description = [
    item.name,
    confirmed ? t('grid.confirmed', { label: showLabel(confirmed) }) : suggestion ? t('grid.suggestion', { label: showLabel(suggestion.label) }) : '',
    flag === 'keep' ? t('grid.keep') : flag === 'reject' ? t('grid.reject') : '',
    item.duplicate === 'trash' ? t('grid.setAside') : '',
    item.tags.length ? t('grid.tags', { tags: item.tags.join(', ') }) : '',
  ]
    .filter(Boolean)
    .join('. ');
  return (
    <>
      <div className="thumb" title={item.path}>
        {broken ? (
          <span className="no-thumb" aria-hidden="true">
            {t('grid.noThumb')}
          </span>
        ) : (
          <img src={thumbnailUrl(item.sha256)} alt="" loading="lazy" decoding="async" draggable={false} onError={() => setBroken(true)} />
        )}
        {flag && <span className={`flag flag-${flag}`} aria-hidden="true">{flag === 'keep' ? '✓' : '✕'}</span>}
        {item.duplicate === 'trash' && <span className="badge-aside" aria-hidden="true">⧉</span>}
      </div>
      <div className="tile-meta">
        <span className="sr-only">{description}</span>
        <span className="name" aria-hidden="true">
          {item.name}
        </span>
        <span className="chips" aria-hidden="true">
          {confirmed ? (
            <span className="chip confirmed" data-testid="tile-label">
              {number(confirmed) !== null && <kbd>{number(confirmed)}</kbd>}
              {showLabel(confirmed)}
            </span>
          ) : suggestion ? (
            <span className={`chip suggested${suggestion.label === 'unsure' ? ' unsure' : ''}`}>
              {showLabel(suggestion.label)}
              {showScores && <span className="score"> {formatScore(i18n.language, suggestion.score)}</span>}
            </span>
          ) : null}
          {score !== undefined && showScores && <span className="chip score-chip">{formatScore(i18n.language, score)}</span>}
          {item.tags.length > 0 && <span className="chip tag-chip">#{item.tags.length > 1 ? `${item.tags[0]} +${item.tags.length - 1}` : item.tags[0]}</span>}
        </span>
      </div>
    </>
  );
}
