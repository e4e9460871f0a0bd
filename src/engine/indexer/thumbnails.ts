import { decodeThumbnail } from './decode.js';
import { thumbnailExists, thumbnailFromPixels, writeThumbnail, type RawPixels } from '../images/thumbnail.js';
import type { Library } from '../library/library.js';

/**
 * What a thumbnail is made from: the reduced frame the model's decode already produced, or, for
 * content embedded before whose thumbnail is missing, the file's bytes (read once, for that alone).
 */
export type ThumbnailSource = { kind: 'frame'; frame: RawPixels } | { kind: 'file'; data: Buffer; path: string };

export interface ThumbnailQueueOptions {
  /**
   * Whether encoding may start now without slowing inference: the indexer says yes while the
   * decoders are a batch ahead of the model (see IndexRun.decodersAhead), and when production ends.
   */
  hasRoom: () => boolean;
  /** Sources held waiting, in bytes, past which encoding starts whatever `hasRoom` says: the memory bound. */
  maxHeldBytes?: number;
}

/** 32 MiB: ~160 frames of web-size photos (298×224 RGB), several batches' worth. */
const DEFAULT_MAX_HELD_BYTES = 32 * 2 ** 20;

function sourceBytes(s: ThumbnailSource): number {
  return s.kind === 'frame' ? s.frame.data.length : s.data.length;
}

/**
 * Thumbnails made off the indexing hot path. Every image's WebP is made from pixels the pipeline
 * already has (never by decoding the file again), but only once its embedding is committed and the
 * decoders are ahead of inference, so the encodes queue in libuv's pool behind the decodes the next
 * batch needs instead of in front of them. What is left when production ends is made before the run
 * returns (`drain`), so an index run is done only once its thumbnails are written.
 *
 * A thumbnail is a cache: failing to write one (disk full, read-only library folder) must not fail
 * the image, and the UI makes a missing one on demand. Each file is written under a temporary name
 * and renamed (writeThumbnail), so a killed run leaves no half-written thumbnail.
 */
export class ThumbnailQueue {
  private readonly waiting: ({ sha256: string; source: ThumbnailSource } | undefined)[] = [];
  private head = 0;
  private heldBytes = 0;
  private readonly writes = new Set<Promise<void>>();
  private draining = false;
  private readonly maxHeldBytes: number;
  /** Thumbnails written by this queue. */
  written = 0;

  constructor(
    private readonly library: Library,
    private readonly opts: ThumbnailQueueOptions,
  ) {
    this.maxHeldBytes = opts.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
  }

  /** Whether the content already has a thumbnail: one file-system round trip. */
  has(sha256: string): Promise<boolean> {
    return thumbnailExists(this.library.thumbnailPath(sha256));
  }

  /** Thumbnails queued and not yet started. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /**
   * Queues a thumbnail the caller found missing (or for content new to the library); it starts when
   * there is room, or at once with `now` (the old inline way, which the benchmark measures beside).
   * Another writer racing for the same file is harmless: each renames a whole file into place.
   */
  add(sha256: string, source: ThumbnailSource, opts: { now?: boolean } = {}): void {
    if (opts.now) {
      this.start(sha256, source);
      return;
    }
    this.waiting.push({ sha256, source });
    this.heldBytes += sourceBytes(source);
    this.pump();
  }

  /** Starts what may start: everything waiting while there is room, or enough to get back under the memory bound. */
  pump(): void {
    while (this.head < this.waiting.length && (this.draining || this.heldBytes > this.maxHeldBytes || this.opts.hasRoom())) {
      const next = this.waiting[this.head]!;
      // Let go of the slot at once: the queue holds frames of whole batches.
      this.waiting[this.head++] = undefined;
      this.heldBytes -= sourceBytes(next.source);
      this.start(next.sha256, next.source);
    }
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    }
  }

  /** Makes everything still queued, now, and resolves once every write has finished (or failed quietly). */
  async drain(): Promise<void> {
    this.draining = true;
    this.pump();
    while (this.writes.size) await Promise.all([...this.writes]);
  }

  private start(sha256: string, source: ThumbnailSource): void {
    const file = this.library.thumbnailPath(sha256);
    const write = this.make(file, source)
      .catch(() => undefined)
      .finally(() => this.writes.delete(write));
    this.writes.add(write);
  }

  private async make(file: string, source: ThumbnailSource): Promise<void> {
    const webp = source.kind === 'frame' ? await thumbnailFromPixels(source.frame) : await decodeThumbnail(source.data, source.path);
    await writeThumbnail(file, webp);
    this.written++;
  }
}
