// Controls every photo view shares: layout (G/E/C), the info panel (I), scores, thumbnail size.
import { useTranslation } from 'react-i18next';
import { useApp, useAppState } from '../state/context.js';

export function LayoutButtons() {
  const { t } = useTranslation();
  const app = useApp();
  const layout = useAppState((s) => s.layout);
  const showInfo = useAppState((s) => s.showInfo);
  return (
    <div className="segmented" role="group" aria-label={t('layout.label')}>
      {(['grid', 'loupe', 'compare'] as const).map((l) => (
        <button key={l} type="button" aria-pressed={layout === l} onClick={() => app.setLayout(l)} title={`${t(`layout.${l}`)} (${l === 'grid' ? 'G' : l === 'loupe' ? 'E' : 'C'})`} data-testid={`layout-${l}`}>
          {t(`layout.${l}`)}
        </button>
      ))}
      <button type="button" aria-pressed={showInfo} onClick={() => app.store.update({ showInfo: !showInfo })} title={`${t('layout.info')} (I)`}>
        {t('layout.info')}
      </button>
    </div>
  );
}

export function ScoresToggle() {
  const { t } = useTranslation();
  const app = useApp();
  const showScores = useAppState((s) => s.showScores);
  return (
    <label className="inline check">
      <input type="checkbox" checked={showScores} onChange={(e) => app.store.update({ showScores: e.target.checked })} data-testid="show-scores" />
      {t('search.showScores')}
    </label>
  );
}

export function TileSlider({ tile, setTile }: { tile: number; setTile(n: number): void }) {
  const { t } = useTranslation();
  return (
    <label className="inline">
      <span className="sr-only">{t('browse.tileSize')}</span>
      <input type="range" min={112} max={320} step={8} value={tile} onChange={(e) => setTile(Number(e.target.value))} aria-label={t('browse.tileSize')} title={t('browse.tileSize')} />
    </label>
  );
}
