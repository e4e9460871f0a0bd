// Search at scale: `npm run bench -- search --n 1000000 [--queries 100] [--isotropic-n N] [--duplicates 0|1]
// [--bitvec 0|1] [--first-query 0|1]`.
//
// A real library file holds n synthetic 512-d embeddings that look like CLIP's (see _search-synthetic.ts:
// clustered, anisotropic, a shared mean direction; text-like queries with cosine ~0.3 to their images),
// with one file row per content spread over folders and file types. Built once per n under
// .cache/bench/ and reused. Measured in one run:
//   exact      sqlite-vec brute-force float KNN (vec0 MATCH, k = 10): the ground truth and the baseline
//   two_stage  the search index (sign-code Hamming scan → 2-bit re-rank → exact re-score), k = 10
//   filtered   two-stage under a ~10% folder filter, against exact search over the same subset
//   isotropic  the same on uniform random unit vectors: the worst case for binary codes
//   first_query_100k_ms  open a 100k library and answer one text query with the ViT-B/32 stand-in
//              (codes load while the text model warms up); model file loading reported apart
//   sqlite_vec_bit  sqlite-vec's own bit vectors (vec0 bit[512], hamming KNN) for the coarse stage
//   duplicates near-duplicate grouping time and recall of planted near-copies (cos 0.95-0.995)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Library } from '../src/engine/library/library.js';
import { loadModel } from '../src/engine/models/model.js';
import { findDuplicates } from '../src/engine/search/duplicates.js';
import { SearchSession } from '../src/engine/search/search.js';
import { VectorIndex } from '../src/engine/search/vector-index.js';
import { vitB32StandInDir } from '../test/support/models.js';
import { SyntheticEmbeddings, addSyntheticImages } from './_search-synthetic.js';
import { flag, median, percentile, round } from './_stats.js';

const DIM = 512;
const KEY = 'bench-synthetic:fp32';
/** Bump when the generated data changes, so cached libraries are rebuilt. */
const DATA_VERSION = 1;
const CHUNK = 50_000;
/** Share of contents that get a planted near-copy. */
const PLANT_SHARE = 0.001;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(repoRoot, '.cache', 'bench');

interface Built {
  file: string;
  planted: [number, number, number][]; // content a, content b, cosine
  buildMs: number | null;
}

function removeDb(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
}

/** The cached library for (n, kind), built (to a temp name, then renamed) when missing. */
function library(n: number, isotropic: boolean, log: (s: string) => void): Built {
  fs.mkdirSync(cacheDir, { recursive: true });
  const name = `search-${isotropic ? 'iso' : 'clip'}-${n}-d${DIM}-v${DATA_VERSION}`;
  const file = path.join(cacheDir, `${name}.sqlite`);
  const sidecar = path.join(cacheDir, `${name}.json`);
  if (fs.existsSync(file) && fs.existsSync(sidecar)) {
    return { file, planted: JSON.parse(fs.readFileSync(sidecar, 'utf8')) as [number, number, number][], buildMs: null };
  }
  const tmp = `${file}.building`;
  removeDb(tmp);
  const started = performance.now();
  const lib = Library.open(tmp);
  const gen = new SyntheticEmbeddings({ dim: DIM, seed: 101, isotropic });
  const planted: [number, number, number][] = [];
  const base = new Date(2020, 0, 1).getTime();
  try {
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      const { data } = gen.images(count);
      // The last rows of each chunk become near-copies of earlier rows (re-encodes, resizes).
      const plant = isotropic ? 0 : Math.floor(count * PLANT_SHARE);
      const pairs: [number, number, number][] = [];
      for (let p = 0; p < plant; p++) {
        const src = p * 7;
        const dst = count - plant + p;
        const cos = 0.95 + 0.045 * ((p * 37) % 100) / 100;
        data.set(gen.nearCopy(data.subarray(src * DIM, (src + 1) * DIM), cos), dst * DIM);
        pairs.push([src, dst, cos]);
      }
      const ids = addSyntheticImages(lib, KEY, data, DIM, (i) => {
        const g = start + i;
        return { folder: `pasta-${g % 100}`, ext: g % 4 === 0 ? 'png' : 'jpg', takenAt: base + g * 60_000, width: 640 + (g % 3) * 320, height: 480 };
      });
      for (const [a, b, c] of pairs) planted.push([ids[a], ids[b], c]);
      log(`built ${start + count}/${n}`);
    }
    const sync = performance.now();
    VectorIndex.open(lib, KEY);
    log(`codes synced in ${Math.round(performance.now() - sync)} ms`);
  } finally {
    lib.close();
  }
  removeDb(file);
  fs.renameSync(tmp, file);
  fs.writeFileSync(sidecar, JSON.stringify(planted));
  return { file, planted, buildMs: performance.now() - started };
}

function stats(xs: number[]): { p50_ms: number; p95_ms: number } {
  return { p50_ms: round(median(xs), 2), p95_ms: round(percentile(xs, 95), 2) };
}

/** Exact and two-stage over the same queries; recall@10 against sqlite-vec's float KNN. */
function compare(lib: Library, index: VectorIndex, queries: Float32Array[]): Record<string, unknown> {
  const table = lib.embeddingTable(KEY);
  const knn = lib.db.prepare(`SELECT rowid, distance FROM ${table} WHERE embedding MATCH ? AND k = 10`).raw();
  const exactMs: number[] = [];
  const fastMs: number[] = [];
  let recall = 0;
  const rescored: number[] = [];
  for (const q of queries) {
    let t = performance.now();
    const truth = knn.all(Buffer.from(q.buffer, q.byteOffset, q.byteLength)) as [number, number][];
    exactMs.push(performance.now() - t);
    t = performance.now();
    const fast = index.knn(q, { k: 10 });
    fastMs.push(performance.now() - t);
    const want = new Set(truth.map(([id]) => id));
    recall += fast.hits.filter((h) => want.has(h.contentId)).length / Math.max(1, want.size);
    rescored.push(fast.rescored);
  }
  return {
    exact: { ...stats(exactMs), method: 'sqlite-vec vec0 float KNN, k=10' },
    two_stage: { ...stats(fastMs), recall_at_10: round(recall / queries.length, 4), rescored: median(rescored) },
  };
}

function filtered(lib: Library, index: VectorIndex, queries: Float32Array[]): Record<string, unknown> {
  // Ten of the hundred folders: ~10% of the library.
  const allowed = new Set(
    lib.db.prepare("SELECT content_id FROM files WHERE folder IN ('/synthetic/pasta-1','/synthetic/pasta-2','/synthetic/pasta-3','/synthetic/pasta-4','/synthetic/pasta-5','/synthetic/pasta-6','/synthetic/pasta-7','/synthetic/pasta-8','/synthetic/pasta-9','/synthetic/pasta-10')").pluck().all() as number[],
  );
  const ms: number[] = [];
  let recall = 0;
  const sample = queries.slice(0, 30);
  for (const q of sample) {
    const t = performance.now();
    const fast = index.knn(q, { k: 10, allowed });
    ms.push(performance.now() - t);
    const exact = new Set(index.knn(q, { k: 10, allowed, exact: true }).hits.map((h) => h.contentId));
    recall += fast.hits.filter((h) => exact.has(h.contentId)).length / Math.max(1, exact.size);
  }
  return { share: round(allowed.size / index.size, 3), ...stats(ms), recall_at_10: round(recall / sample.length, 4) };
}

function bitVectors(built: Built, index: VectorIndex, queries: Float32Array[], log: (s: string) => void): Record<string, unknown> {
  const file = built.file.replace(/\.sqlite$/, '-bitvec.sqlite');
  const lib = Library.open(file);
  try {
    lib.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS codes USING vec0(code bit[${DIM}])`);
    const have = lib.db.prepare('SELECT count(*) FROM codes').pluck().get() as number;
    if (have !== index.size) {
      lib.db.exec('DELETE FROM codes');
      const { codes, signBytes } = index.signCodes();
      const ins = lib.db.prepare('INSERT INTO codes(rowid, code) VALUES (?, vec_bit(?))');
      const copy = Uint8Array.from(codes);
      for (let s = 0; s < index.size; s += 50_000) {
        lib.db.transaction(() => {
          for (let i = s; i < Math.min(index.size, s + 50_000); i++) ins.run(BigInt(index.contentIdAt(i)), Buffer.from(copy.buffer, i * signBytes, signBytes));
        })();
      }
      log('sqlite-vec bit table built');
    }
    const out: Record<string, unknown> = {};
    for (const k of [10, 1000]) {
      const stmt = lib.db.prepare(`SELECT rowid, distance FROM codes WHERE code MATCH vec_bit(?) AND k = ${k}`);
      const ms: number[] = [];
      for (const q of queries.slice(0, 10)) {
        const code = Buffer.alloc(DIM / 8);
        for (let j = 0; j < DIM; j++) if (q[j] > 0) code[j >> 3] |= 1 << (j & 7);
        const t = performance.now();
        stmt.all(code);
        ms.push(performance.now() - t);
      }
      out[`k${k}_p50_ms`] = round(median(ms), 2);
    }
    return out;
  } finally {
    lib.close();
  }
}

async function firstQuery(log: (s: string) => void): Promise<Record<string, unknown>> {
  const built = library(100_000, false, log);
  const modelDir = await vitB32StandInDir();
  let t = performance.now();
  const model = await loadModel(modelDir, { device: 'cpu' });
  const modelLoadMs = performance.now() - t;
  try {
    t = performance.now();
    const lib = Library.open(built.file);
    try {
      const session = await SearchSession.open(lib, model, { modelKey: KEY });
      const openMs = performance.now() - t;
      const q = performance.now();
      const r = await session.searchText('ônibus queimado perto da ponte', { limit: 20 });
      const queryMs = performance.now() - q;
      // Later queries, for comparison with the first.
      const later: number[] = [];
      for (const text of ['protesto na avenida', 'a burned bus near a bridge', 'documento oficial', 'criança na praia']) {
        const s = performance.now();
        await session.searchText(text, { limit: 20 });
        later.push(performance.now() - s);
      }
      return {
        first_query_100k_ms: round(openMs + queryMs, 1),
        breakdown: {
          open_ms: round(openMs, 1),
          first_search_ms: round(queryMs, 1),
          first_encode_ms: round(r.encodeMs, 1),
          later_search_p50_ms: round(median(later), 1),
          model_file_load_ms: round(modelLoadMs, 1),
          model: `${model.info.id} (${model.info.precision}, random weights, real ViT-B/32 text tower)`,
        },
      };
    } finally {
      lib.close();
    }
  } finally {
    await model.close();
  }
}

function duplicates(lib: Library, index: VectorIndex, built: Built): Record<string, unknown> {
  const t = performance.now();
  const report = findDuplicates(lib, index, { threshold: 0.95, exact: false });
  const ms = performance.now() - t;
  const groupOf = new Map<number, number>();
  report.groups.forEach((g, i) => g.files.forEach((f) => groupOf.set(f.contentId, i)));
  const together = ([a, b]: [number, number, number]) => groupOf.has(a) && groupOf.get(a) === groupOf.get(b);
  // Copies planted at exactly 0.95 can land a hair under it once stored; count those above 0.951.
  const above = built.planted.filter(([, , c]) => c >= 0.951);
  const edge = above.filter(([, , c]) => c < 0.96);
  return {
    ms: Math.round(ms),
    method: report.method,
    groups: report.groups.length,
    planted: above.length,
    planted_recall: round(above.filter(together).length / Math.max(1, above.length), 4),
    planted_recall_cos_0_951_to_0_96: round(edge.filter(together).length / Math.max(1, edge.length), 4),
    pairs_checked: report.pairsChecked,
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const n = flag(args, 'n', 100_000);
  const queryCount = flag(args, 'queries', 100);
  const isoN = flag(args, 'isotropic-n', n);
  const log = (s: string) => process.stderr.write(`[search] ${s}\n`);

  const built = library(n, false, log);
  const lib = Library.open(built.file);
  const result: Record<string, unknown> = { n, dim: DIM, queries: queryCount };
  try {
    const t = performance.now();
    const index = VectorIndex.open(lib, KEY);
    result.open = { ms: round(performance.now() - t, 1), sync: index.sync, build_ms: built.buildMs === null ? 'cached' : Math.round(built.buildMs) };
    const gen = new SyntheticEmbeddings({ dim: DIM, seed: 101 });
    const queries = Array.from({ length: queryCount }, () => gen.textQuery());
    log('exact vs two-stage…');
    Object.assign(result, compare(lib, index, queries));
    result.filtered = filtered(lib, index, queries);
    if (flag(args, 'bitvec', 1)) result.sqlite_vec_bit = bitVectors(built, index, queries, log);
    if (flag(args, 'duplicates', 1)) {
      log('duplicates…');
      result.duplicates = duplicates(lib, index, built);
    }
  } finally {
    lib.close();
  }

  if (isoN > 0) {
    log('isotropic worst case…');
    const iso = library(isoN, true, log);
    const isoLib = Library.open(iso.file);
    try {
      const index = VectorIndex.open(isoLib, KEY);
      const gen = new SyntheticEmbeddings({ dim: DIM, seed: 202, isotropic: true });
      const queries = Array.from({ length: queryCount }, () => gen.textQuery());
      result.isotropic = { n: isoN, ...compare(isoLib, index, queries), note: 'uniform random unit vectors and queries: no structure for the codes to keep' };
    } finally {
      isoLib.close();
    }
  }

  if (n >= 100_000 && flag(args, 'first-query', 1)) {
    log('first query on a 100k library…');
    Object.assign(result, await firstQuery(log));
  }
  return result;
}
