import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, useState } from 'react';
import type { SearchHit } from '../../shared/contract.js';
import { usePlatform } from './platform-context.js';

const CELL = 168;
const GAP = 8;
const CAPTION = 36;

/** Rows of thumbnails; only the rows in view are in the DOM, so 100 000 hits scroll like 100. */
export function ThumbGrid({ hits }: { hits: readonly SearchHit[] }) {
  const { thumbnailUrl } = usePlatform();
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(entry.contentRect.width));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const columns = Math.max(1, Math.floor((width + GAP) / (CELL + GAP)));
  const rows = Math.ceil(hits.length / columns);
  const virtualizer = useVirtualizer({
    count: rows,
    getScrollElement: () => scroller.current,
    estimateSize: () => CELL + CAPTION + GAP,
    overscan: 3,
  });

  return (
    <div ref={scroller} className="grid-scroller">
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((row) => (
          <div key={row.key} className="grid-row" style={{ transform: `translateY(${row.start}px)`, gap: GAP }}>
            {hits.slice(row.index * columns, (row.index + 1) * columns).map((hit) => (
              <figure key={`${hit.contentId}:${hit.path}`} className="cell" style={{ width: CELL }} title={hit.path}>
                <img src={thumbnailUrl(hit.sha256)} alt={hit.name} loading="lazy" width={CELL} height={CELL} />
                <figcaption>
                  <span className="score">{hit.score.toFixed(3)}</span> <span className="name">{hit.name}</span>
                </figcaption>
              </figure>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}
