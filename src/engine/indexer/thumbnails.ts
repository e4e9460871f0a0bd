import { thumbnailExists, writeThumbnail } from '../images/thumbnail.js';
import type { Library } from '../library/library.js';

/**
 * Writes thumbnails in the background while indexing goes on. A thumbnail is a cache: failing to
 * write one (disk full, read-only library folder) must not fail the image, and the UI can make it
 * again later.
 */
export class ThumbnailWriter {
  private readonly writes = new Set<Promise<void>>();

  constructor(private readonly library: Library) {}

  /** Whether the content already has a thumbnail: one file-system round trip. */
  has(sha256: string): Promise<boolean> {
    return thumbnailExists(this.library.thumbnailPath(sha256));
  }

  /**
   * Saves `data` once it is encoded, unless a thumbnail appeared meanwhile. The existence check is
   * made here, off the decode path, because every extra libuv round trip before a decode waits out a
   * whole batch of inference (ONNX Runtime holds the event loop while it runs).
   */
  save(sha256: string, data: Promise<Buffer>): void {
    const file = this.library.thumbnailPath(sha256);
    const write = data
      .then(async (buf) => {
        if (!(await thumbnailExists(file))) await writeThumbnail(file, buf);
      })
      .catch(() => undefined)
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  /** Resolves once every write started so far has finished (or failed quietly). */
  async settled(): Promise<void> {
    await Promise.all([...this.writes]);
  }
}
