// The indexer's public surface (re-exported by indexer.ts) and the records its stages hand each other.
import type { ImageFormat } from '../images/formats.js';
import type { RawPixels } from '../images/thumbnail.js';
import type { PhotoMetadata } from '../images/metadata.js';
import type { Library } from '../library/library.js';
import type { ClipModel } from '../models/types.js';
import type { ScannedFile } from './scan.js';
import type { KnownFile } from './store.js';

export interface IndexProgress {
  phase: 'scan' | 'index';
  done: number;
  total: number;
  failed: number;
  ratePerSec: number;
  etaSec: number | null;
  current?: string;
}

export interface IndexFailure {
  path: string;
  error: string;
}

export interface IndexSummary {
  /** Files whose row was written this run: newly encoded, or linked to content already embedded. */
  indexed: number;
  /** Files that are not images we index. */
  skipped: number;
  /** Files with the same size and mtime as last time (and an embedding for this model). */
  unchanged: number;
  /** Of `indexed`, files that needed no encoding: renamed, moved, or duplicates of other files. */
  reused: number;
  failed: IndexFailure[];
  /** Indexed, but the user should know: damaged images decoded leniently, links leading out of the folders (not followed). */
  warnings: { path: string; warning: string }[];
  durationMs: number;
  /** Files whose rows were marked `present = 0` because they are gone from the indexed folders. */
  missing?: number;
  /** Set when the signal stopped the run; what was committed stays, a rerun finishes the rest. */
  cancelled?: boolean;
}

export interface IndexOptions {
  library: Library;
  model: ClipModel;
  folders: string[];
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress) => void;
  /** Write a WebP thumbnail per content to `library.thumbnailPath(sha256)` (default true). */
  thumbnails?: boolean;
  /** Folders (or files) under the roots to leave out, e.g. a sort destination inside the source. */
  exclude?: string[];
  /** How the pipeline is arranged; the defaults are what the app runs (see IndexTuning). */
  tuning?: IndexTuning;
}

/**
 * Switches that bring back the pipeline's earlier arrangement, so the index benchmark can measure the
 * old way beside the new one in one process (on a shared machine only ratios within one run compare).
 */
export interface IndexTuning {
  /**
   * 'deferred' (default): each thumbnail is encoded from the model's frame after its batch is committed,
   * while the decoders are ahead of inference (ThumbnailQueue). 'inline': encoded as soon as the image
   * decodes, racing the decodes the next batch needs.
   */
  thumbnails?: 'deferred' | 'inline';
  /** Hash large files on a worker thread (default true; sha256Bytes), or all of them on the JS thread. */
  hashOffThread?: boolean;
}

/** A scanned file that changed (or is new) since the library last saw it: the read stage's input. */
export interface WorkItem {
  file: ScannedFile;
  previous: KnownFile | undefined;
}

/** A file that read and hashed cleanly, waiting for its row to be committed. */
export interface Entry {
  file: ScannedFile;
  previous: KnownFile | undefined;
  size: number;
  mtimeMs: number;
  meta: PhotoMetadata;
}

/** A distinct new content being decoded and encoded, with every path that holds it. */
export interface PendingContent {
  sha256: string;
  size: number;
  format: ImageFormat;
  width: number;
  height: number;
  tensor: Float32Array | undefined;
  /** The decode's reduced frame, kept for the thumbnail until the batch is committed. */
  frame?: RawPixels;
  files: Entry[];
  /** Set when the image only decoded leniently (damaged data): indexed, and reported. */
  warning?: string;
}

/** A link needs only a row; an encode needs the model first. */
export type LinkItem = { kind: 'link'; entry: Entry; contentId: number };
export type Ready = { kind: 'encode'; content: PendingContent } | LinkItem;

/** Bytes handed from the read stage to a decoder. */
export interface DecodeJob {
  content: PendingContent;
  data: Buffer;
  wantThumbnail: boolean;
}

/** A failure not yet written to the library's `failures` table. */
export interface PendingFailure {
  path: string;
  error: string;
  size: number | null;
  mtimeMs: number | null;
  previousId: number | undefined;
}
