import fs from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { TriagemError } from '../errors.js';
import { readErrorReason } from './formats.js';
import { describeDecodeError, openImage } from './open.js';
import { processAlive } from '../util/process.js';

/** Long side of a thumbnail in pixels. */
export const THUMBNAIL_SIZE = 256;

// Effort 0 encodes a 256 px thumbnail in ~3.8 ms against ~5.5 ms at effort 2 and ~11 ms at the
// default 4, for ~7% more bytes; the indexer makes one per image, on the same cores as inference.
const WEBP = { quality: 75, effort: 0 } as const;

export interface RawPixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** A thumbnail from pixels already decoded (and reduced) for the model, so the file is decoded once. */
export function thumbnailFromPixels(pixels: RawPixels): Promise<Buffer> {
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } })
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp(WEBP)
    .toBuffer();
}

/** A thumbnail straight from an opened image; the resize lets JPEG/WebP decode at reduced scale. */
export function thumbnailFromImage(img: Sharp): Promise<Buffer> {
  return img.resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true }).webp(WEBP).toBuffer();
}

export async function thumbnailExists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).size > 0;
  } catch {
    return false;
  }
}

const TEMP_NAME = /\.(\d+)\.[a-z0-9]*\.tmp$/;
/** A temporary file this old is stale whatever its pid says (pids are reused). */
const TEMP_MAX_AGE_MS = 60 * 60 * 1000;


/**
 * Removes temporary thumbnail files left by a run that was killed mid-write (`writeThumbnail`
 * names them after its pid): those of processes no longer running, and any older than an hour.
 * A concurrent run's files in progress are left alone. Returns how many were removed.
 */
export async function cleanStaleThumbnailTemps(thumbnailsDir: string): Promise<number> {
  let removed = 0;
  let shards: string[];
  try {
    shards = await fs.readdir(thumbnailsDir);
  } catch {
    return 0;
  }
  const now = Date.now();
  for (const shard of shards) {
    let names: string[];
    try {
      names = await fs.readdir(path.join(thumbnailsDir, shard));
    } catch {
      continue;
    }
    for (const name of names) {
      const m = TEMP_NAME.exec(name);
      if (!m) continue;
      const file = path.join(thumbnailsDir, shard, name);
      try {
        const st = await fs.lstat(file);
        if (!st.isFile()) continue;
        if (processAlive(Number(m[1])) && now - st.mtimeMs < TEMP_MAX_AGE_MS) continue;
        await fs.rm(file, { force: true });
        removed++;
      } catch {
        // Gone already, or not ours to remove: the next run tries again.
      }
    }
  }
  return removed;
}

/**
 * Written under a temporary name and renamed, so a reader never sees half a thumbnail. The folder is
 * made only when the write finds it missing: while indexing, every file-system call waits for an event
 * loop that inference holds a batch at a time, and the shard folders exist after the first few.
 */
export async function writeThumbnail(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    try {
      await fs.writeFile(tmp, data, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await fs.mkdir(path.dirname(file), { recursive: true });
      await fs.writeFile(tmp, data, { flag: 'wx' });
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * The thumbnail for an indexed image, made from the original when it is missing (deleted cache,
 * or indexed with thumbnails off). Returns the thumbnail's path.
 */
export async function ensureThumbnail(thumbnailPath: string, imagePath: string): Promise<string> {
  if (await thumbnailExists(thumbnailPath)) return thumbnailPath;
  let data: Buffer;
  try {
    data = await fs.readFile(imagePath);
  } catch (err) {
    throw new TriagemError(readErrorReason(err), 'unreadable', imagePath);
  }
  let webp: Buffer;
  try {
    webp = await thumbnailFromImage(openImage(data, imagePath));
  } catch (err) {
    throw describeDecodeError(err, imagePath);
  }
  await writeThumbnail(thumbnailPath, webp);
  return thumbnailPath;
}
