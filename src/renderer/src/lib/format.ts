// Numbers, sizes, dates and durations through Intl in the window's language ("1.240 fotos", "3,2 MB").

export function formatNumber(lang: string, n: number, digits = 0): string {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(n);
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;

export function formatBytes(lang: string, bytes: number): string {
  if (bytes < 1000) return `${formatNumber(lang, bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return new Intl.NumberFormat(lang, { style: 'unit', unit: UNITS[unit], unitDisplay: 'short', maximumFractionDigits: value < 10 && unit > 0 ? 1 : 0 }).format(value);
}

export function formatDate(lang: string, ms: number | null | undefined, withTime = true): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return new Intl.DateTimeFormat(lang, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(new Date(ms));
}

/** Seconds left, as "45 s", "3 min" or "1 h 20 min" with Intl's unit names. */
export function formatDuration(lang: string, seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const unit = (value: number, u: 'second' | 'minute' | 'hour') => new Intl.NumberFormat(lang, { style: 'unit', unit: u, unitDisplay: 'narrow' }).format(value);
  if (s < 60) return unit(s, 'second');
  const m = Math.round(s / 60);
  if (m < 60) return unit(m, 'minute');
  return `${unit(Math.floor(m / 60), 'hour')} ${unit(m % 60, 'minute')}`;
}

/** A model score (0–1 probability or cosine) with three decimals. */
export function formatScore(lang: string, score: number): string {
  return formatNumber(lang, score, 3);
}

export function formatPercent(lang: string, fraction: number): string {
  return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 0 }).format(fraction);
}

/** Decimal degrees with hemisphere letters. */
export function formatGps(lang: string, lat: number, lon: number): string {
  const f = (v: number, pos: string, neg: string) => `${formatNumber(lang, Math.abs(v), 5)}° ${v >= 0 ? pos : neg}`;
  return `${f(lat, 'N', 'S')}, ${f(lon, 'E', 'W')}`;
}

/** Last path segment, for either separator. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts.at(-1) ?? p;
}
