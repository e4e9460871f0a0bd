// The typed surface of the model runtime. Everything above `models/` (indexer, sort, search, CLI,
// Electron) talks to a model only through these types.

export const DEVICE_REQUESTS = ['auto', 'cpu', 'cuda', 'dml', 'coreml'] as const;
export type DeviceRequest = (typeof DEVICE_REQUESTS)[number];
export type ExecutionProvider = Exclude<DeviceRequest, 'auto'>;

/** Which execution provider a session really runs on, and why it is not the one asked for. */
export interface DeviceReport {
  requested: DeviceRequest;
  provider: ExecutionProvider;
  /** Set when the requested (or platform-preferred) accelerator could not be used. */
  fallbackReason?: string;
}

// The model vocabulary, declared once: the catalog, manifests, folder layouts and the app contract
// all take their enums from these lists.

/** Weight variants a folder can hold, named as transformers.js names its dtype suffixes. */
export const CONCRETE_PRECISIONS = ['fp32', 'fp16', 'quantized', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type ConcretePrecision = (typeof CONCRETE_PRECISIONS)[number];

/** What a user may ask for: a concrete variant, or `auto` (the fastest one installed). */
export const PRECISIONS = ['auto', ...CONCRETE_PRECISIONS] as const;
export type Precision = (typeof PRECISIONS)[number];

/** Model families: they differ in preprocessing, tokenizer handling and scoring (softmax vs sigmoid). */
export const MODEL_FAMILIES = ['clip', 'siglip', 'siglip2'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];

export function isModelFamily(value: unknown): value is ModelFamily {
  return (MODEL_FAMILIES as readonly unknown[]).includes(value);
}

/** On-disk arrangements of a model folder: transformers.js (`onnx/…`) or Immich (`visual/`, `textual/`). */
export const MODEL_LAYOUTS = ['xenova', 'immich'] as const;
export type ModelLayout = (typeof MODEL_LAYOUTS)[number];

export interface ImageSpec {
  /** Square model input side, e.g. 224. */
  size: number;
  /** `shortest-crop`: shortest edge to `size`, then centre crop (CLIP). `squash`: resize to size×size (SigLIP). */
  resizeMode: 'shortest-crop' | 'squash';
  interpolation: 'bicubic' | 'bilinear';
  rescaleFactor: number;
  mean: [number, number, number];
  std: [number, number, number];
}

export interface TextSpec {
  contextLength: number;
  /** Pad every sequence to `contextLength` (SigLIP: the tower pools the last position) or to the longest in the batch. */
  padding: 'max_length' | 'longest';
  padId: number;
  /** Kept as the last id when a text is truncated. */
  eosId: number;
  lowercase: boolean;
  /** Immich/open_clip SigLIP cleaning: strip ASCII punctuation. */
  stripPunctuation: boolean;
}

/** How the model turns cosine similarities into label scores. */
export interface Scoring {
  kind: 'softmax' | 'sigmoid';
  /** Multiplier applied to cosine similarity (exp of the trained logit_scale). */
  logitScale: number;
  /** Added after scaling (SigLIP); 0 for CLIP. */
  logitBias: number;
}

export interface ModelInfo {
  id: string;
  dir: string;
  family: ModelFamily;
  layout: ModelLayout;
  dim: number;
  precision: ConcretePrecision;
  files: { vision: string; text: string };
  image: ImageSpec;
  text: TextSpec;
  scoring: Scoring;
  device: DeviceReport;
}

export interface TokenizedText {
  input_ids: number[];
  attention_mask: number[];
}

export type ImageSource = string | Buffer;

export interface ClipModel {
  readonly info: ModelInfo;
  tokenize(text: string): TokenizedText;
  /** Decoded, oriented, resized and normalized vision input, channel-first [3,size,size]. */
  preprocess(source: ImageSource): Promise<Float32Array>;
  /** L2-normalized embeddings for already preprocessed tensors (one per image), run in batches. */
  encodeImageTensors(tensors: readonly Float32Array[]): Promise<Float32Array[]>;
  encodeImages(sources: readonly ImageSource[]): Promise<Float32Array[]>;
  /** L2-normalized text embeddings, run in batches. */
  encodeTexts(texts: readonly string[]): Promise<Float32Array[]>;
  /** The model family's own scoring of one image against several texts (softmax or sigmoid). */
  scoreLabels(imageEmbedding: Float32Array, textEmbeddings: readonly Float32Array[]): number[];
  /** Runs one dummy text and image pass so the first real query does not pay session start-up. */
  warmup(): Promise<void>;
  close(): Promise<void>;
}

export interface LoadModelOptions {
  id?: string;
  device?: DeviceRequest;
  precision?: Precision;
  /** ONNX Runtime intra-op threads; default: all cores. */
  threads?: number;
  /** ONNX Runtime session config entries over the app's own (runtime.ts SESSION_CONFIG), for benchmarks. */
  sessionConfig?: Readonly<Record<string, string>>;
  /** Inference batch size for images and texts. */
  batchSize?: number;
  /** Scoring from the catalog; overrides the family default. */
  scoring?: Partial<Scoring>;
  /**
   * 'now' (default) opens and checks both towers before returning; 'on-first-use' opens the image
   * tower when an image is first encoded (a text search never pays for it).
   */
  openVision?: 'now' | 'on-first-use';
}
