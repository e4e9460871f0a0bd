import { errorMessage } from '../errors.js';
import { classifyFile, isImageExtension, readErrorReason, SNIFF_BYTES } from '../images/formats.js';
import { readPhotoMetadata } from '../images/metadata.js';
import { sha256Bytes, sha256Hex } from '../util/hash.js';
import { readHead, readWholeFile } from './read.js';
import type { IndexRun } from './state.js';
import type { Entry, PendingContent, WorkItem } from './types.js';

/** Images past this size are almost certainly not photos, and would hold that much memory each. */
const MAX_FILE_BYTES = 1024 * 2 ** 20;

/**
 * Read stage, one file: read, sniff, hash and EXIF; then route the file by its content — a row
 * linked to content already embedded, a copy joining the same content already in flight, or bytes
 * handed to the decoders. Large files are hashed on a worker thread (sha256Bytes), so the JS thread,
 * which runs inference between these steps, is not held for them. Bad files are recorded as
 * failures; only a bug or a database error throws.
 */
export async function readStage(run: IndexRun, { file, previous }: WorkItem): Promise<void> {
  if (!isImageExtension(file.ext)) {
    // Unknown extensions are sniffed from their first bytes, so an extensionless JPEG (chat
    // exports) is still found without reading every video in full.
    if (file.size === 0) return run.skip();
    let head: Buffer;
    try {
      head = await readHead(file.path, SNIFF_BYTES);
    } catch {
      return run.skip();
    }
    if (classifyFile(file.ext, head).kind !== 'image') return run.skip();
  }
  await run.readAhead.acquire();
  let handedOff = false;
  try {
    if (run.stopped) return;
    let bytes;
    try {
      bytes = await readWholeFile(file.path, file.size, file.mtimeMs, MAX_FILE_BYTES);
    } catch (err) {
      return run.fail(file.path, readErrorReason(err), undefined, previous);
    }
    const verdict = classifyFile(file.ext, bytes.data.subarray(0, SNIFF_BYTES));
    if (verdict.kind === 'skip') return run.skip();
    if (verdict.kind === 'fail') return run.fail(file.path, verdict.reason, bytes, previous);
    // The read buffer is this stage's own, so it may be lent to the hashing thread.
    let hashed: { sha256: string; data: Buffer };
    try {
      hashed = run.tuning.hashOffThread ? await sha256Bytes(bytes.data) : { sha256: sha256Hex(bytes.data), data: bytes.data };
    } catch (err) {
      // Only the hashing thread dying gets here; its bytes went with it, and a rerun reads the file again.
      return run.fail(file.path, `could not hash the file: ${errorMessage(err)}`, bytes, previous);
    }
    const { sha256, data } = hashed;
    const meta = await readPhotoMetadata(data);
    const entry: Entry = { file, previous, size: bytes.size, mtimeMs: bytes.mtimeMs, meta };

    // Decided synchronously, so two readers holding the same bytes cannot both start an encode,
    // and a content committed a moment ago is seen as embedded.
    const leader = run.inflight.get(sha256);
    if (leader) {
      leader.files.push(entry);
      return;
    }
    const existing = run.store.contentIdBySha(sha256);
    if (existing !== undefined && run.embedded.has(existing)) {
      run.toCommit.push({ kind: 'link', entry, contentId: existing });
      if (run.wantThumbnails && !(await run.thumbnails.has(sha256))) run.thumbnails.add(sha256, { kind: 'file', data, path: file.path });
      return;
    }
    const content: PendingContent = { sha256, size: data.length, format: verdict.format, width: 0, height: 0, tensor: undefined, files: [entry] };
    run.inflight.set(sha256, content);
    // Content the library has never seen has no thumbnail yet (bar a run killed after writing
    // one), so only known content pays for the existence check.
    const wantThumbnail = run.wantThumbnails && (existing === undefined || !(await run.thumbnails.has(sha256)));
    run.toDecode.push({ content, data, wantThumbnail });
    handedOff = true;
  } finally {
    // Handed-off bytes keep their read-ahead slot until the decoder is done with them.
    if (!handedOff) run.readAhead.release();
  }
}
