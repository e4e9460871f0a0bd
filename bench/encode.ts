// Raw encoder throughput and text-query latency on the random-weight ViT-B/32 stand-in (same
// architecture and sizes as Xenova/clip-vit-base-patch32's fp32 graphs; numbers, not semantics).
import { loadModel } from '../src/engine/models/model.js';
import { vitB32StandInDir } from '../test/support/models.js';
import { flag, median, percentile, round } from './_stats.js';

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const repeats = flag(args, 'repeats', 3);
  const imagesPerRun = flag(args, 'images', 64);
  const dir = await vitB32StandInDir();
  const image: Record<string, Record<string, number>> = {};
  for (const threads of [1, 2]) {
    for (const batch of [1, 8, 32]) {
      const model = await loadModel(dir, { device: 'cpu', precision: 'fp32', threads, batchSize: batch });
      const side = model.info.image.size;
      const tensors = Array.from({ length: Math.max(batch, imagesPerRun - (imagesPerRun % batch)) }, (_, i) => {
        const t = new Float32Array(3 * side * side);
        for (let j = 0; j < t.length; j++) t[j] = Math.sin(i * 31 + j * 0.001);
        return t;
      });
      await model.encodeImageTensors(tensors.slice(0, batch));
      const rates: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        await model.encodeImageTensors(tensors);
        rates.push(tensors.length / ((performance.now() - t0) / 1000));
      }
      image[`threads_${threads}`] ??= {};
      image[`threads_${threads}`][`batch_${batch}`] = round(median(rates));
      await model.close();
    }
  }
  const model = await loadModel(dir, { device: 'cpu', precision: 'fp32' });
  const queries = ['a photo of a cat', 'tanque destruído perto de uma ponte', 'burned bus near the bridge', 'documento', 'uma foto de um protesto na avenida paulista à noite'];
  await model.encodeTexts([queries[0]]);
  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await model.encodeTexts([queries[i % queries.length]]);
    latencies.push(performance.now() - t0);
  }
  await model.close();
  return {
    model: 'ViT-B/32 stand-in (random weights, real architecture), fp32, CPU',
    image_encoder_images_per_s: image,
    text_query_ms: { p50: round(median(latencies)), p95: round(percentile(latencies, 95)) },
    repeats,
    images_per_run: imagesPerRun,
  };
}
