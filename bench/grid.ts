// The window's library paging at scale, through the real service (contract validation included):
// the grid's ordered id list for each sort and a few filters, a page of tiles, a review queue (a sort
// run's label, least confident first) and a mark on a big selection with its undo.
//
//   npm run bench -- grid [--n 100000] [--repeats 7]
//
// Rows are written through the indexer's store; embeddings are random unit vectors so the sort run
// has something to score (its labels' text goes through the synthetic colour model).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEngineService } from '../src/app/service.js';
import { IndexStore } from '../src/engine/indexer/store.js';
import { Library } from '../src/engine/library/library.js';
import { createClient } from '../src/shared/client.js';
import { colourModelDir } from '../test/support/models.js';
import { flag, median, round } from './_stats.js';

function fakeSha(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'beef').repeat(6).slice(0, 64);
}

async function timed<T>(repeats: number, work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const times: number[] = [];
  let value: T | undefined;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    value = await work();
    times.push(performance.now() - t0);
  }
  return { ms: round(median(times)), value: value as T };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, 'n', 100_000);
  const repeats = flag(args, 'repeats', 7);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-grid-'));
  try {
    const libraryPath = path.join(root, 'library.sqlite');
    const modelsDir = path.join(root, 'models');
    fs.cpSync(await colourModelDir(), path.join(modelsDir, 'colour'), { recursive: true });
    const empty = path.join(root, 'vazia');
    fs.mkdirSync(empty);

    const service = createEngineService({ libraryPath, modelsDir, device: 'cpu', threads: 2 });
    const client = createClient({ invoke: (op, input) => service.invoke(op, input), on: () => () => undefined });
    // Indexing an empty folder opens the model and records it in the library.
    await client.invoke('index.start', { folders: [empty] });
    const { key, dim } = (await client.invoke('library.open', {})).models[0];

    const t0 = performance.now();
    const library = Library.open(libraryPath);
    const store = new IndexStore(library);
    const now = Date.now();
    const ids: number[] = [];
    library.db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const contentId = store.upsertContent({ sha256: fakeSha(i), size: 1000 + i, format: 'jpeg', width: 4000, height: 3000 });
        ids.push(contentId);
        store.upsertFile(
          {
            path: `/material/canal-${String(i % 1000).padStart(4, '0')}/IMG_${String(i).padStart(6, '0')}.jpg`,
            ext: 'jpg',
            size: 1000 + i,
            mtimeMs: 1_700_000_000_000 + i,
            meta: { takenAt: 1_700_000_000_000 + ((i * 7919) % n) * 60_000, gpsLat: null, gpsLon: null, camera: i % 3 ? 'Canon EOS R6' : 'SM-A525M' },
          },
          contentId,
          now,
        );
      }
    })();
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let i = 0; i < ids.length; i += 5000) {
      library.putEmbeddings(
        key,
        ids.slice(i, i + 5000).map((contentId) => {
          const v = Float32Array.from({ length: dim }, rand);
          const norm = Math.hypot(...v);
          return { contentId, vector: v.map((x) => x / norm) };
        }),
      );
    }
    library.close();
    const buildMs = performance.now() - t0;

    const sort = await timed(1, () => client.invoke('sort.run', { labels: ['vermelho', 'verde', 'azul', 'amarelo', 'roxo'], limit: 0 }));
    const byPath = await timed(repeats, () => client.invoke('library.query', { sort: 'path' }));
    const byDate = await timed(repeats, () => client.invoke('library.query', { sort: 'date', descending: true }));
    const byName = await timed(repeats, () => client.invoke('library.query', { sort: 'name' }));
    const folder = await timed(repeats, () => client.invoke('library.query', { filters: { folders: ['/material/canal-0042'] } }));
    const camera = await timed(repeats, () => client.invoke('library.query', { filters: { camera: 'sm-a525' } }));
    const queue = await timed(repeats, () => client.invoke('library.query', { sort: 'score', filters: { label: 'vermelho', onePerContent: true } }));
    const all = byPath.value.fileIds;
    let page = 0;
    const items = await timed(repeats * 3, () => {
      const at = Math.floor(((page++ * 7907) % 97) / 97 * (all.length - 200));
      return client.invoke('library.items', { fileIds: all.slice(at, at + 200) });
    });
    const summary = await timed(repeats, () => client.invoke('review.summary', {}));
    const big = queue.value.fileIds.slice(0, 10_000);
    const mark = await timed(1, () => client.invoke('review.mark', { fileIds: big, action: 'accept' }));
    const undo = await timed(1, () => client.invoke('review.undo', {}));
    await service.close();

    return {
      files: n,
      buildSeconds: round(buildMs / 1000, 1),
      sortRunMs: sort.ms,
      queryMs: { path: byPath.ms, dateDescending: byDate.ms, name: byName.ms, folder: folder.ms, camera: camera.ms, reviewQueue: queue.ms },
      idListKB: round(JSON.stringify(all).length / 1024, 0),
      reviewQueueSize: queue.value.total,
      itemsPage200Ms: items.ms,
      reviewSummaryMs: summary.ms,
      mark10kMs: mark.ms,
      undo10kMs: undo.ms,
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
