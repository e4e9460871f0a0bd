import path from 'node:path';
import { TriagemError } from '../errors.js';
import { DEFAULT_SCORING, pickGraph, readModelFolder, type ModelFolderSpec } from './layout.js';
import { preprocessImage } from './preprocess.js';
import { ort, openSession } from './runtime.js';
import { TextTokenizer } from './tokenizer.js';
import type { ClipModel, DeviceReport, ImageSource, LoadModelOptions, ModelInfo, Scoring, TokenizedText } from './types.js';

type Session = ort.InferenceSession;
type TensorMeta = ort.InferenceSession.TensorValueMetadata;

const VISION_INPUTS = ['pixel_values', 'image'];
const TEXT_ID_INPUTS = ['input_ids', 'text'];
// Preferred embedding outputs, by name, for the layouts we know. SigLIP's `pooler_output` is the
// projected embedding; `last_hidden_state` is per token and never what we want.
const EMBEDDING_OUTPUTS = ['image_embeds', 'text_embeds', 'pooler_output', 'embedding', 'image_embedding', 'text_embedding'];

function tensorMeta(session: Session, kind: 'input' | 'output', name: string): TensorMeta | undefined {
  const list = kind === 'input' ? session.inputMetadata : session.outputMetadata;
  const meta = list.find((m) => m.name === name);
  return meta && meta.isTensor ? meta : undefined;
}

/** How one tower's graph is fed and read, derived from what the session itself declares. */
export interface TowerIo {
  input: string;
  inputType: 'float32' | 'int32' | 'int64';
  maskInput: string | null;
  output: string;
  /** Fixed batch size declared by the graph (Immich exports: 1), or null when dynamic. */
  fixedBatch: number | null;
  /** Fixed sequence length (text) or side (vision), or null when dynamic. */
  fixedLength: number | null;
}

export function describeTower(session: Session, tower: 'vision' | 'text', file: string): TowerIo {
  const names = session.inputNames;
  const input = (tower === 'vision' ? VISION_INPUTS : TEXT_ID_INPUTS).find((n) => names.includes(n));
  if (!input) {
    const want = (tower === 'vision' ? VISION_INPUTS : TEXT_ID_INPUTS).join(' or ');
    throw new TriagemError(`${tower} graph has inputs [${names.join(', ')}], expected ${want}`, 'bad-contract', file);
  }
  const known = new Set([input, 'attention_mask']);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length) throw new TriagemError(`${tower} graph declares unsupported inputs [${unknown.join(', ')}]`, 'bad-contract', file);
  const meta = tensorMeta(session, 'input', input);
  const type = meta?.type;
  const rank = meta?.shape.length;
  if (tower === 'vision' && (type !== 'float32' || (rank !== undefined && rank !== 0 && rank !== 4))) {
    throw new TriagemError(`vision input "${input}" must be float32 [N,3,H,W], got ${type} rank ${rank}`, 'bad-contract', file);
  }
  if (tower === 'text' && ((type !== 'int64' && type !== 'int32') || (rank !== undefined && rank !== 0 && rank !== 2))) {
    throw new TriagemError(`text input "${input}" must be int64/int32 [N,L], got ${type} rank ${rank}`, 'bad-contract', file);
  }
  const outputs = session.outputNames;
  const output = EMBEDDING_OUTPUTS.find((n) => outputs.includes(n)) ?? (outputs.length === 1 ? outputs[0] : undefined);
  if (!output) throw new TriagemError(`${tower} graph has outputs [${outputs.join(', ')}], none is an embedding`, 'bad-contract', file);
  const shape = meta?.shape ?? [];
  const batch = shape[0];
  const length = tower === 'text' ? shape[1] : shape[2];
  return {
    input,
    inputType: type as TowerIo['inputType'],
    maskInput: names.includes('attention_mask') ? 'attention_mask' : null,
    output,
    fixedBatch: typeof batch === 'number' && batch > 0 ? batch : null,
    fixedLength: typeof length === 'number' && length > 0 ? length : null,
  };
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The model family's own label scores from cosine similarities. */
export function scoreSimilarities(cosines: readonly number[], scoring: Scoring): number[] {
  const logits = cosines.map((c) => c * scoring.logitScale + scoring.logitBias);
  if (scoring.kind === 'sigmoid') return logits.map((l) => 1 / (1 + Math.exp(-l)));
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

interface VisionTower {
  session: Session;
  io: TowerIo;
}

class OnnxClipModel implements ClipModel {
  private vision: Promise<VisionTower> | undefined;
  private closed = false;

  constructor(
    readonly info: ModelInfo,
    private readonly openVision: () => Promise<VisionTower>,
    private readonly text: Session,
    private readonly textIo: TowerIo,
    private readonly tokenizer: TextTokenizer,
    private readonly batchSize: number,
  ) {}

  private visionTower(): Promise<VisionTower> {
    if (this.closed) return Promise.reject(new Error('the model is closed'));
    if (!this.vision) {
      const opening = this.openVision();
      this.vision = opening;
      // A failed open is tried again by the next call, not remembered.
      opening.catch(() => {
        if (this.vision === opening) this.vision = undefined;
      });
    }
    return this.vision;
  }

  tokenize(text: string): TokenizedText {
    return this.tokenizer.encodeBatch([text])[0];
  }

  preprocess(source: ImageSource): Promise<Float32Array> {
    return preprocessImage(source, this.info.image);
  }

  async encodeImages(sources: readonly ImageSource[]): Promise<Float32Array[]> {
    const tensors = await Promise.all(sources.map((s) => this.preprocess(s)));
    return this.encodeImageTensors(tensors);
  }

  async encodeImageTensors(tensors: readonly Float32Array[]): Promise<Float32Array[]> {
    const side = this.info.image.size;
    const plane = 3 * side * side;
    const vision = await this.visionTower();
    const step = vision.io.fixedBatch ?? this.batchSize;
    const out: Float32Array[] = [];
    for (let start = 0; start < tensors.length; start += step) {
      const chunk = tensors.slice(start, start + step);
      const data = new Float32Array(chunk.length * plane);
      chunk.forEach((t, i) => {
        if (t.length !== plane) throw new Error(`image tensor has ${t.length} values, expected ${plane}`);
        data.set(t, i * plane);
      });
      const feeds = { [vision.io.input]: new ort.Tensor('float32', data, [chunk.length, 3, side, side]) };
      out.push(...(await this.run(vision.session, feeds, vision.io.output, chunk.length)));
    }
    return out;
  }

  async encodeTexts(texts: readonly string[]): Promise<Float32Array[]> {
    const step = this.textIo.fixedBatch ?? this.batchSize;
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += step) {
      const chunk = texts.slice(start, start + step);
      const encoded = this.textIo.fixedLength
        ? chunk.map((t) => this.tokenizer.encode(t, this.textIo.fixedLength ?? undefined))
        : this.tokenizer.encodeBatch(chunk);
      const length = encoded[0].input_ids.length;
      const feeds: Record<string, ort.Tensor> = {
        [this.textIo.input]: intTensor(this.textIo.inputType, encoded.flatMap((e) => e.input_ids), [chunk.length, length]),
      };
      if (this.textIo.maskInput) {
        feeds[this.textIo.maskInput] = intTensor(this.textIo.inputType, encoded.flatMap((e) => e.attention_mask), [chunk.length, length]);
      }
      out.push(...(await this.run(this.text, feeds, this.textIo.output, chunk.length)));
    }
    return out;
  }

  private async run(session: Session, feeds: Record<string, ort.Tensor>, output: string, n: number): Promise<Float32Array[]> {
    const result = await session.run(feeds, [output]);
    const tensor = result[output];
    const data = tensor.data as Float32Array;
    const dim = data.length / n;
    if (!Number.isInteger(dim) || dim !== this.info.dim) {
      throw new Error(`model output "${output}" has shape [${tensor.dims.join(',')}], expected [${n},${this.info.dim}]`);
    }
    const rows: Float32Array[] = [];
    for (let i = 0; i < n; i++) rows.push(l2normalize(data.slice(i * dim, (i + 1) * dim)));
    tensor.dispose?.();
    return rows;
  }

  scoreLabels(imageEmbedding: Float32Array, textEmbeddings: readonly Float32Array[]): number[] {
    return scoreSimilarities(textEmbeddings.map((t) => dot(imageEmbedding, t)), this.info.scoring);
  }

  async warmup(): Promise<void> {
    const side = this.info.image.size;
    await this.encodeTexts(['warm-up']);
    await this.encodeImageTensors([new Float32Array(3 * side * side)]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const vision = this.vision?.catch(() => undefined);
    await Promise.all([vision?.then((v) => v?.session.release()), this.text.release()]);
  }
}

function intTensor(type: TowerIo['inputType'], values: number[], dims: number[]): ort.Tensor {
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(values), dims);
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

/** Output width of a tower, from its declared shape or, when symbolic, from one tiny run. */
async function embeddingDim(session: Session, io: TowerIo, tower: 'vision' | 'text', probe: () => Record<string, ort.Tensor>, file: string): Promise<number> {
  const declared = tensorMeta(session, 'output', io.output)?.shape;
  const last = declared?.[declared.length - 1];
  if (typeof last === 'number' && last > 0 && declared?.length === 2) return last;
  const result = await session.run(probe(), [io.output]);
  const t = result[io.output];
  if (t.dims.length !== 2) throw new TriagemError(`${tower} output "${io.output}" has rank ${t.dims.length}, expected [N,D]`, 'bad-contract', file);
  return t.dims[1];
}

/** Loads a model folder (transformers.js or Immich layout) with the requested device and precision. */
export async function loadModel(dir: string, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const spec = readModelFolder(dir);
  return loadFromSpec(spec, opts);
}

export async function loadFromSpec(spec: ModelFolderSpec, opts: LoadModelOptions = {}): Promise<ClipModel> {
  const precision = opts.precision ?? 'auto';
  const visionGraph = pickGraph(spec.vision, precision, spec.dir, 'vision');
  const textGraph = pickGraph(spec.text, precision === 'auto' ? 'auto' : precision, spec.dir, 'text');
  const visionFile = path.join(spec.dir, visionGraph.file);
  const textFile = path.join(spec.dir, textGraph.file);
  const tokenizer = TextTokenizer.load(path.join(spec.dir, spec.tokenizerDir), spec.text_);

  const device = opts.device ?? 'auto';
  const tuning = { threads: opts.threads, config: opts.sessionConfig };
  const side = spec.image.size;
  // Opens the image tower (on the device the first tower settled on, when given) and checks it
  // against the text tower's width once that is known.
  const openVision = async (pinned: DeviceReport | undefined, textDim?: number): Promise<VisionTower & { report: DeviceReport; dim: number }> => {
    const opened = await openSession(visionFile, device, pinned ? { ...tuning, pinned } : tuning);
    try {
      const io = describeTower(opened.session, 'vision', visionFile);
      if (io.fixedLength && io.fixedLength !== side) {
        throw new TriagemError(`vision graph expects ${io.fixedLength}px input but the preprocessor config says ${side}px`, 'bad-contract', visionFile);
      }
      const dim = await embeddingDim(opened.session, io, 'vision', () => ({
        [io.input]: new ort.Tensor('float32', new Float32Array(3 * side * side), [1, 3, side, side]),
      }), visionFile);
      if (textDim !== undefined && dim !== textDim) {
        throw new TriagemError(`vision embeddings have ${dim} dimensions but text embeddings ${textDim}`, 'bad-contract', spec.dir);
      }
      return { session: opened.session, io, report: opened.report, dim };
    } catch (err) {
      await opened.session.release();
      throw err;
    }
  };

  // Text search needs only the text tower: with `openVision: 'on-first-use'` the image tower (the
  // larger file, most of a load's time) waits until an image is encoded.
  const eager = opts.openVision !== 'on-first-use';
  const visionNow = eager ? await openVision(undefined) : undefined;
  const openedText = await openSession(textFile, device, visionNow ? { ...tuning, pinned: visionNow.report } : tuning);
  const text = openedText.session;
  const report: DeviceReport = visionNow?.report ?? openedText.report;

  const textIo = describeTower(text, 'text', textFile);
  const textSpec = { ...tokenizer.spec };
  if (textIo.fixedLength) textSpec.contextLength = textIo.fixedLength;

  const textDim = await embeddingDim(text, textIo, 'text', () => {
    const enc = tokenizer.encode('a', textIo.fixedLength ?? undefined);
    const feeds: Record<string, ort.Tensor> = { [textIo.input]: intTensor(textIo.inputType, enc.input_ids, [1, enc.input_ids.length]) };
    if (textIo.maskInput) feeds[textIo.maskInput] = intTensor(textIo.inputType, enc.attention_mask, [1, enc.input_ids.length]);
    return feeds;
  }, textFile);
  if (visionNow && visionNow.dim !== textDim) {
    await Promise.all([visionNow.session.release(), text.release()]);
    throw new TriagemError(`vision embeddings have ${visionNow.dim} dimensions but text embeddings ${textDim}`, 'bad-contract', spec.dir);
  }

  const scoring: Scoring = { ...DEFAULT_SCORING[spec.family], ...spec.manifest?.scoring, ...opts.scoring };
  const info: ModelInfo = {
    id: opts.id ?? spec.manifest?.id ?? path.basename(path.resolve(spec.dir)),
    dir: spec.dir,
    family: spec.family,
    layout: spec.layout,
    dim: textDim,
    precision: visionGraph.precision,
    files: { vision: visionGraph.file, text: textGraph.file },
    image: spec.image,
    text: textSpec,
    scoring,
    device: report,
  };
  const model = new OnnxClipModel(info, visionNow ? () => Promise.resolve(visionNow) : () => openVision(report, textDim), text, textIo, tokenizer, opts.batchSize ?? 16);
  // The tokenizer spec may have been narrowed to the graph's fixed length.
  Object.assign(tokenizer.spec, textSpec);
  return model;
}
