// Loupe previews: one ~1440 px WebP per content, made from the original on first view and cached
// beside the thumbnails (the size Immich serves for its viewer: sharp enough full-screen on a laptop,
// ~150-300 KB instead of a 12-MP original through the bridge).
import fs from 'node:fs/promises';
import { TriagemError } from '../errors.js';
import { readErrorReason } from './formats.js';
import { describeDecodeError, openImage } from './open.js';
import { thumbnailExists, writeThumbnail } from './thumbnail.js';

/** Long side of a preview in pixels. */
export const PREVIEW_SIZE = 1440;

const WEBP = { quality: 80, effort: 2 } as const;

/** The preview for an image, made and cached at `previewPath` when missing; returns its path. */
export async function ensurePreview(previewPath: string, imagePath: string): Promise<string> {
  if (await thumbnailExists(previewPath)) return previewPath;
  let data: Buffer;
  try {
    data = await fs.readFile(imagePath);
  } catch (err) {
    throw new TriagemError(readErrorReason(err), 'unreadable', imagePath);
  }
  let webp: Buffer;
  try {
    webp = await openImage(data, imagePath).resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true }).webp(WEBP).toBuffer();
  } catch (err) {
    throw describeDecodeError(err, imagePath);
  }
  await writeThumbnail(previewPath, webp);
  return previewPath;
}
