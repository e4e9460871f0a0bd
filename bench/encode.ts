// Image-encoder throughput and text-query latency on the random-weight ViT-B/32 stand-in, fp32 and
// the dynamically quantized (q8) graphs that `--precision auto` prefers (same architecture, sizes and
// quantized operators as Xenova/clip-vit-base-patch32's files; numbers, not semantics).
//
//   npm run bench -- encode [--repeats 3] [--images 64]
//
// "bare" is `session.run` on ready input tensors in a session opened with the app's options; "model"
// is the app's ClipModel.encodeImageTensors at the indexer's batch size (batching copy + L2 norm on
// top). Precisions alternate inside every repeat, so a noisy neighbour hits both alike.
import { loadModel } from '../src/engine/models/model.js';
import type { ClipModel } from '../src/engine/models/types.js';
import { vitB32StandInDir } from '../test/support/models.js';
import { bareRate, openBareVision, readyBatches, settle, type BareVision } from './_bare-encoder.js';
import { contentionWarning, machineInfo } from './_machine.js';
import { flag, median, percentile, round } from './_stats.js';

const PRECISIONS = ['fp32', 'quantized'] as const;
type Precision = (typeof PRECISIONS)[number];
const INDEXER_BATCH = 16;

function syntheticImages(count: number, side: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) => {
    const t = new Float32Array(3 * side * side);
    for (let j = 0; j < t.length; j++) t[j] = Math.sin(i * 31 + j * 0.001);
    return t;
  });
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const repeats = flag(args, 'repeats', 3);
  const imagesPerRun = flag(args, 'images', 64);
  const machine = machineInfo();
  const dir = await vitB32StandInDir();
  const models = {} as Record<Precision, ClipModel>;
  models.fp32 = await loadModel(dir, { device: 'cpu', precision: 'fp32', batchSize: INDEXER_BATCH });
  models.quantized = await loadModel(dir, { device: 'cpu', precision: 'auto', batchSize: INDEXER_BATCH });
  if (models.quantized.info.precision !== 'quantized') throw new Error(`--precision auto picked ${models.quantized.info.precision}, not the quantized graphs`);
  const side = models.fp32.info.image.size;
  const images = syntheticImages(8, side);
  const threadCounts = [...new Set([1, machine.cores])];

  try {
    // bare session.run, threads × batch, both precisions
    const bare: Record<string, Record<string, Record<string, number>>> = {};
    const speedup: Record<string, Record<string, number>> = {};
    for (const threads of threadCounts) {
      const sessions = {} as Record<Precision, BareVision>;
      for (const p of PRECISIONS) sessions[p] = await openBareVision(models[p], threads);
      try {
        for (const batch of [1, 8, 32]) {
          const feeds = readyBatches(images, batch, Math.max(batch, imagesPerRun - (imagesPerRun % batch)), side);
          const rates: Record<Precision, number[]> = { fp32: [], quantized: [] };
          for (const p of PRECISIONS) await bareRate(sessions[p], feeds.slice(0, 1)); // warm-up
          for (let r = 0; r < repeats; r++) {
            for (const p of r % 2 ? [...PRECISIONS].reverse() : PRECISIONS) rates[p].push((await bareRate(sessions[p], feeds)).imagesPerS);
          }
          for (const p of PRECISIONS) ((bare[p] ??= {})[`threads_${threads}`] ??= {})[`batch_${batch}`] = round(median(rates[p]));
          (speedup[`threads_${threads}`] ??= {})[`batch_${batch}`] = round(median(rates.quantized.map((q, i) => q / rates.fp32[i])), 2);
        }
      } finally {
        for (const p of PRECISIONS) await sessions[p].close();
      }
    }

    // the app's wrapper at the indexer's batch size, against bare on the same feeds
    const wrapper: Record<string, Record<string, number>> = {};
    const feeds = readyBatches(images, INDEXER_BATCH, 4 * INDEXER_BATCH, side);
    const tensors = Array.from({ length: 4 * INDEXER_BATCH }, (_, i) => images[i % images.length]);
    for (const p of PRECISIONS) {
      const v = await openBareVision(models[p]);
      try {
        await models[p].encodeImageTensors(tensors.slice(0, INDEXER_BATCH));
        const modelRates: number[] = [];
        const bareRates: number[] = [];
        for (let r = 0; r < repeats; r++) {
          await settle();
          const t0 = performance.now();
          for (let i = 0; i < tensors.length; i += INDEXER_BATCH) await models[p].encodeImageTensors(tensors.slice(i, i + INDEXER_BATCH));
          modelRates.push(tensors.length / ((performance.now() - t0) / 1000));
          bareRates.push((await bareRate(v, feeds)).imagesPerS);
        }
        wrapper[p] = {
          model_images_per_s: round(median(modelRates)),
          bare_images_per_s: round(median(bareRates)),
          model_over_bare: round(median(modelRates.map((m, i) => m / bareRates[i])), 3),
        };
      } finally {
        await v.close();
      }
    }

    // text queries
    const queries = ['a photo of a cat', 'tanque destruído perto de uma ponte', 'burned bus near the bridge', 'documento', 'uma foto de um protesto na avenida paulista à noite'];
    const text: Record<string, Record<string, number>> = {};
    for (const p of PRECISIONS) {
      await models[p].encodeTexts([queries[0]]);
      const latencies: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        await models[p].encodeTexts([queries[i % queries.length]]);
        latencies.push(performance.now() - t0);
      }
      text[p] = { p50: round(median(latencies)), p95: round(percentile(latencies, 95)) };
    }

    return {
      model: 'ViT-B/32 stand-in (random weights, real architecture): fp32 and q8 (dynamic int8, as --precision auto loads), CPU',
      machine,
      files: { fp32: models.fp32.info.files, quantized: models.quantized.info.files },
      bare_session_run_images_per_s: bare,
      int8_over_fp32: speedup,
      [`model_wrapper_batch_${INDEXER_BATCH}`]: wrapper,
      text_query_ms: text,
      warning: contentionWarning(machine),
      repeats,
      images_per_run: imagesPerRun,
    };
  } finally {
    for (const p of PRECISIONS) await models[p].close();
  }
}
