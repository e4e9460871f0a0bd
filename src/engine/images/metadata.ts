import exifr from 'exifr';

export interface PhotoMetadata {
  /** Capture time, ms since the epoch. */
  takenAt: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  /** "Make Model", with the make dropped when the model already starts with it. */
  camera: string | null;
}

export const EMPTY_METADATA: PhotoMetadata = Object.freeze({ takenAt: null, gpsLat: null, gpsLon: null, camera: null });

// Only the blocks and tags we store: exifr then skips maker notes, XMP and ICC, which dominate its
// cost on camera JPEGs. Dates stay raw strings so we decide how to read the time zone.
const OPTIONS: Parameters<typeof exifr.parse>[1] = {
  tiff: true,
  ifd0: { pick: ['Make', 'Model', 'DateTime'], reviveValues: false },
  exif: { pick: ['DateTimeOriginal', 'CreateDate', 'OffsetTimeOriginal', 'OffsetTime'], reviveValues: false },
  gps: { pick: ['GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef'] },
  ifd1: false,
  interop: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  mergeOutput: true,
  sanitize: true,
};

interface RawTags {
  Make?: unknown;
  Model?: unknown;
  DateTime?: unknown;
  DateTimeOriginal?: unknown;
  CreateDate?: unknown;
  OffsetTimeOriginal?: unknown;
  OffsetTime?: unknown;
  latitude?: unknown;
  longitude?: unknown;
}

const EXIF_DATE = /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/;
const OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

/**
 * EXIF date strings carry no zone. With an OffsetTime tag we know the instant; without one we read
 * the wall-clock as local time, as photo viewers do.
 */
export function parseExifDate(value: unknown, offset?: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = EXIF_DATE.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  if (y < 1800 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const off = typeof offset === 'string' ? OFFSET.exec(offset.trim()) : null;
  if (off) {
    const minutes = (off[1] === '-' ? -1 : 1) * (Number(off[2]) * 60 + Number(off[3]));
    return Date.UTC(y, mo - 1, d, h, mi, s, ms) - minutes * 60_000;
  }
  const t = new Date(y, mo - 1, d, h, mi, s, ms).getTime();
  return Number.isFinite(t) ? t : null;
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // Cameras pad these fields with NULs and spaces.
  const t = value.replace(/\0/g, '').trim();
  return t.length ? t : null;
}

function cameraName(make: unknown, model: unknown): string | null {
  const mk = text(make);
  const md = text(model);
  if (mk && md) return md.toLowerCase().startsWith(mk.split(/\s+/)[0].toLowerCase()) ? md : `${mk} ${md}`;
  return md ?? mk;
}

function coordinate(value: unknown, limit: number): number | null {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= limit ? value : null;
}

/**
 * Capture date, GPS and camera from the bytes already read for hashing. Missing or malformed
 * metadata is not an error: most images (screenshots, memes, GIFs) have none.
 */
export async function readPhotoMetadata(data: Uint8Array): Promise<PhotoMetadata> {
  let tags: RawTags | undefined;
  try {
    tags = (await exifr.parse(data, OPTIONS)) as RawTags | undefined;
  } catch {
    return EMPTY_METADATA;
  }
  if (!tags) return EMPTY_METADATA;
  const lat = coordinate(tags.latitude, 90);
  const lon = coordinate(tags.longitude, 180);
  const hasGps = lat !== null && lon !== null && !(lat === 0 && lon === 0);
  return {
    takenAt:
      parseExifDate(tags.DateTimeOriginal, tags.OffsetTimeOriginal) ??
      parseExifDate(tags.CreateDate, tags.OffsetTime) ??
      parseExifDate(tags.DateTime, tags.OffsetTime),
    gpsLat: hasGps ? lat : null,
    gpsLon: hasGps ? lon : null,
    camera: cameraName(tags.Make, tags.Model),
  };
}
