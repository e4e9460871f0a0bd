import { TriagemError, errorMessage } from '../errors.js';
import { decodeImage } from './decode.js';
import type { IndexRun } from './state.js';
import type { DecodeJob } from './types.js';

/** The reason alone: the failure record names the file already. */
function reasonOf(err: unknown): string {
  if (err instanceof TriagemError && err.file && err.message.startsWith(`${err.file}: `)) return err.message.slice(err.file.length + 2);
  return errorMessage(err);
}

/**
 * Decode stage, one content: a single sharp decode makes the model's input tensor (and the frame
 * the thumbnail is made from after the commit, when one is wanted) once a tensor slot is free. A file
 * that cannot be decoded fails with every path holding the same bytes.
 */
export async function decodeStage(run: IndexRun, { content, data, wantThumbnail }: DecodeJob): Promise<void> {
  try {
    await run.tensorSlots.acquire();
    if (run.stopped) {
      run.inflight.delete(content.sha256);
      return;
    }
    const leaderPath = content.files[0].file.path;
    try {
      const decoded = await decodeImage(data, leaderPath, run.model.info.image, wantThumbnail);
      if (decoded.frame && run.tuning.thumbnails === 'inline') run.thumbnails.add(content.sha256, { kind: 'frame', frame: decoded.frame }, { now: true });
      else content.frame = decoded.frame;
      content.tensor = decoded.tensor;
      content.width = decoded.width;
      content.height = decoded.height;
      content.warning = decoded.warning;
    } catch (err) {
      run.inflight.delete(content.sha256);
      run.tensorSlots.release();
      const reason = reasonOf(err);
      for (const e of content.files) run.fail(e.file.path, reason, e, e.previous);
      return;
    }
    run.decoded(content);
  } finally {
    run.readAhead.release();
  }
}
