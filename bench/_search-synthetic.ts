// Synthetic embeddings that behave like CLIP's, for the search benchmark and the search tests.
//
// Real CLIP image embeddings are not spread evenly over the sphere: they share a large common
// direction (a random pair of photos has cosine ~0.45), they bunch into topics (photos of one kind
// ~0.75-0.8), and their variance is concentrated in a few directions. Text embeddings sit in their own
// cone (the "modality gap"): a caption has cosine ~0.3 with its images and ~0.15 with the rest. All of
// that is what makes binary codes lose ranking quality, so a benchmark on isotropic random vectors
// would say little about real libraries. This generator reproduces those statistics:
//   image  = normalize(0.65·m + 0.55·c_k + 0.45·R(s ⊙ z))      m shared mean, c_k one of K centres
//   text   = normalize(0.6·t + 0.3·ĉ_k + 0.5·R(s ⊙ z') + 0.5·u)  t the text mean direction
// with s a power-law spectrum (anisotropy) and R a fixed random rotation (sign flips + Walsh–Hadamard
// transforms, so the anisotropy is not aligned with the coordinate axes). Measured at these settings:
// image–image cosine 0.46 (random pair) / 0.78 (same centre); text–image 0.31 (its centre) / 0.15.
// `isotropic: true` gives uniform random unit vectors instead (the worst case for binary codes).

import { walshHadamard } from '../src/engine/vectors/signatures.js';

export interface SyntheticOptions {
  dim: number;
  /** Number of topic centres. */
  clusters?: number;
  seed?: number;
  isotropic?: boolean;
}

/** Small fast seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform source (polar Box–Muller). */
export function gaussian(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = uniform() * 2 - 1;
      v = uniform() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    spare = v * m;
    return u * m;
  };
}

export function normalizeInPlace(v: Float32Array, offset = 0, dim = v.length - offset): void {
  let s = 0;
  for (let j = 0; j < dim; j++) s += v[offset + j] * v[offset + j];
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < dim; j++) v[offset + j] *= inv;
}

/** A fixed orthogonal map: three rounds of random sign flips and a normalized Hadamard transform (dim padded to a power of two). */
function rotation(dim: number, uniform: () => number): (v: Float32Array) => void {
  let size = 1;
  while (size < dim) size <<= 1;
  const signs = [0, 1, 2].map(() => Float32Array.from({ length: size }, () => (uniform() < 0.5 ? -1 : 1)));
  const buf = new Float32Array(size);
  const scale = 1 / Math.sqrt(size);
  return (v) => {
    buf.fill(0);
    buf.set(v.subarray(0, dim));
    for (const s of signs) {
      for (let j = 0; j < size; j++) buf[j] *= s[j];
      walshHadamard(buf);
      for (let j = 0; j < size; j++) buf[j] *= scale;
    }
    // Padding dims are folded back by taking the first `dim` coordinates; the map stays a contraction
    // of an orthogonal one, which is all the generator needs (every output is normalized).
    v.set(buf.subarray(0, dim));
  };
}

export class SyntheticEmbeddings {
  readonly dim: number;
  readonly clusters: number;
  private readonly isotropic: boolean;
  private readonly mean: Float32Array;
  private readonly textMean: Float32Array;
  private readonly centres: Float32Array;
  private readonly spectrum: Float32Array;
  private readonly rotate: (v: Float32Array) => void;
  private readonly uniform: () => number;
  private readonly normal: () => number;
  private readonly tmp: Float32Array;

  constructor(opts: SyntheticOptions) {
    this.dim = opts.dim;
    this.clusters = opts.clusters ?? 3000;
    this.isotropic = opts.isotropic ?? false;
    this.uniform = prng(opts.seed ?? 1);
    this.normal = gaussian(this.uniform);
    const d = this.dim;
    this.rotate = rotation(d, this.uniform);
    this.spectrum = new Float32Array(d);
    let ss = 0;
    for (let j = 0; j < d; j++) {
      this.spectrum[j] = Math.pow(1 + j, -0.5);
      ss += this.spectrum[j] ** 2;
    }
    for (let j = 0; j < d; j++) this.spectrum[j] /= Math.sqrt(ss);
    this.mean = this.unitRandom();
    const other = this.unitRandom();
    this.textMean = new Float32Array(d);
    for (let j = 0; j < d; j++) this.textMean[j] = 0.35 * this.mean[j] + Math.sqrt(1 - 0.35 ** 2) * other[j];
    normalizeInPlace(this.textMean);
    this.tmp = new Float32Array(d);
    this.centres = new Float32Array(this.clusters * d);
    for (let k = 0; k < this.clusters; k++) {
      this.anisotropic(this.tmp);
      this.centres.set(this.tmp, k * d);
    }
  }

  private unitRandom(): Float32Array {
    const v = Float32Array.from({ length: this.dim }, () => this.normal());
    normalizeInPlace(v);
    return v;
  }

  /** R(s ⊙ z): anisotropic Gaussian noise with unit expected squared norm. */
  private anisotropic(out: Float32Array): void {
    for (let j = 0; j < this.dim; j++) out[j] = this.spectrum[j] * this.normal();
    this.rotate(out);
  }

  /** Writes `count` image embeddings into `out` (row-major) and returns each one's centre. */
  images(count: number, out: Float32Array = new Float32Array(count * this.dim)): { data: Float32Array; centre: Int32Array } {
    const d = this.dim;
    const centre = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const o = i * d;
      if (this.isotropic) {
        for (let j = 0; j < d; j++) out[o + j] = this.normal();
        centre[i] = -1;
      } else {
        const k = Math.floor(this.uniform() * this.clusters);
        centre[i] = k;
        this.anisotropic(this.tmp);
        for (let j = 0; j < d; j++) out[o + j] = 0.65 * this.mean[j] + 0.55 * this.centres[k * d + j] + 0.45 * this.tmp[j];
      }
      normalizeInPlace(out, o, d);
    }
    return { data: out, centre };
  }

  /** A text-like query: cosine ~0.3 with the images of one centre (uniform random when isotropic). */
  textQuery(): Float32Array {
    const d = this.dim;
    const q = new Float32Array(d);
    if (this.isotropic) {
      for (let j = 0; j < d; j++) q[j] = this.normal();
      normalizeInPlace(q);
      return q;
    }
    const k = Math.floor(this.uniform() * this.clusters);
    let cn = 0;
    for (let j = 0; j < d; j++) cn += this.centres[k * d + j] ** 2;
    cn = Math.sqrt(cn);
    this.anisotropic(this.tmp);
    const u = this.unitRandom();
    for (let j = 0; j < d; j++) q[j] = 0.6 * this.textMean[j] + (0.3 * this.centres[k * d + j]) / cn + 0.5 * this.tmp[j] + 0.5 * u[j];
    normalizeInPlace(q);
    return q;
  }

  /** A near-copy of `v` (re-encode / resize in embedding terms): cosine ≈ `cosine` with it. */
  nearCopy(v: Float32Array, cosine: number): Float32Array {
    const d = this.dim;
    const noise = this.unitRandom();
    // Remove the component along v so the mix has the requested cosine.
    let along = 0;
    for (let j = 0; j < d; j++) along += noise[j] * v[j];
    for (let j = 0; j < d; j++) noise[j] -= along * v[j];
    normalizeInPlace(noise);
    const s = Math.sqrt(1 - cosine * cosine);
    const out = new Float32Array(d);
    for (let j = 0; j < d; j++) out[j] = cosine * v[j] + s * noise[j];
    normalizeInPlace(out);
    return out;
  }
}

export interface SyntheticFile {
  folder: string;
  ext: string;
  takenAt: number | null;
  width: number;
  height: number;
}

/**
 * Adds one content + one file + one embedding per row of `data` to a real library, in big
 * transactions. Paths are `/synthetic/<folder>/<i>.<ext>`. Returns the new content ids in row order.
 */
export function addSyntheticImages(
  library: import('../src/engine/library/library.js').Library,
  key: string,
  data: Float32Array,
  dim: number,
  describe: (i: number) => SyntheticFile = () => ({ folder: 'all', ext: 'jpg', takenAt: null, width: 640, height: 480 }),
  onProgress?: (done: number, total: number) => void,
): number[] {
  const db = library.db;
  library.ensureModel(key, dim);
  const n = data.length / dim;
  const first = ((db.prepare('SELECT max(id) FROM contents').pluck().get() as number | null) ?? 0) + 1;
  const insContent = db.prepare('INSERT INTO contents(id, sha256, size, format, width, height) VALUES (?, ?, ?, ?, ?, ?)');
  const insFile = db.prepare(
    `INSERT INTO files(path, folder, name, ext, size, mtime_ms, content_id, taken_at, indexed_at, present) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
  );
  const ids: number[] = [];
  const BATCH = 20_000;
  const now = Date.now();
  for (let start = 0; start < n; start += BATCH) {
    const end = Math.min(n, start + BATCH);
    db.transaction(() => {
      const rows: { contentId: number; vector: Float32Array }[] = [];
      for (let i = start; i < end; i++) {
        const id = first + i;
        const f = describe(i);
        const sha = `${id.toString(16).padStart(16, '0')}${'0'.repeat(48)}`;
        insContent.run(id, sha, 1000 + i, f.ext === 'png' ? 'png' : 'jpeg', f.width, f.height);
        const folder = `/synthetic/${f.folder}`;
        const name = `${id}.${f.ext}`;
        insFile.run(`${folder}/${name}`, folder, name, f.ext, 1000 + i, now, id, f.takenAt, now);
        rows.push({ contentId: id, vector: data.subarray(i * dim, (i + 1) * dim) });
        ids.push(id);
      }
      library.putEmbeddings(key, rows);
    })();
    onProgress?.(end, n);
  }
  return ids;
}
