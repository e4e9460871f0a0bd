import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { MODEL_FAMILIES, isModelFamily, type ConcretePrecision, type ImageSpec, type ModelFamily, type ModelLayout, type Precision, type Scoring, type TextSpec } from './types.js';

/** What a model folder declares about itself, read from its config files only (no ONNX session yet). */
export interface ModelFolderSpec {
  dir: string;
  layout: ModelLayout;
  family: ModelFamily;
  /** Graph files per tower and precision, relative to `dir`. */
  vision: Partial<Record<ConcretePrecision, string>>;
  text: Partial<Record<ConcretePrecision, string>>;
  /** Folder holding tokenizer.json / tokenizer_config.json, relative to `dir`. */
  tokenizerDir: string;
  image: ImageSpec;
  /** Padding is refined once the text session's declared shape is known. */
  text_: Omit<TextSpec, 'padId' | 'eosId'> & { padToken: string | null; eosToken: string | null };
  /** Config files this layout needs, relative to `dir` (for import/copy). */
  configFiles: string[];
  /** The manifest the model manager writes (`triagem-model.json`), when present. */
  manifest: ModelManifestLite | null;
}

// Re-exported: validate.ts and older importers take the type from here.
export type { ConcretePrecision };

export interface ModelManifestLite {
  id?: string;
  scoring?: Partial<Scoring>;
}

export const MANIFEST_FILE = 'triagem-model.json';

/** transformers.js file-name suffix per dtype. */
export const PRECISION_SUFFIX: Record<ConcretePrecision, string> = {
  fp32: '',
  fp16: '_fp16',
  quantized: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/**
 * Order tried for `--precision auto`: 8-bit first because on a reporter's CPU it is ~3× faster than fp32
 * for a negligible loss; fp16 last among the common ones because CPU kernels for it are sparse.
 */
export const AUTO_PRECISION_ORDER: ConcretePrecision[] = ['quantized', 'int8', 'uint8', 'fp32', 'fp16', 'q4', 'q4f16', 'bnb4'];

/** Family defaults for scoring when neither the catalog nor a manifest says otherwise. */
export const DEFAULT_SCORING: Record<ModelFamily, Scoring> = {
  // OpenAI CLIP's trained logit_scale is ln(100); config.json only holds the init value.
  clip: { kind: 'softmax', logitScale: 100, logitBias: 0 },
  siglip: { kind: 'sigmoid', logitScale: 117.330765, logitBias: -12.932437 },
  siglip2: { kind: 'sigmoid', logitScale: Math.exp(4.724453449249268), logitBias: -16.771724700927734 },
};

type Json = Record<string, unknown>;

export function readJson(file: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new TriagemError(missing ? 'required file is missing' : `cannot read: ${errorMessage(err)}`, missing ? 'missing-file' : 'unreadable', file);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
    return value as Json;
  } catch (err) {
    throw new TriagemError(`invalid JSON: ${errorMessage(err)}`, 'bad-config', file);
  }
}

function optionalJson(file: string): Json | null {
  return fs.existsSync(file) ? readJson(file) : null;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

function triple(v: unknown, fallback: [number, number, number], file: string, key: string): [number, number, number] {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')) return [v[0], v[1], v[2]];
  throw new TriagemError(`"${key}" must be a number or three numbers`, 'bad-config', file);
}

/** Token string of a special token as tokenizer_config.json writes it (plain or AddedToken object). */
function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  const o = obj(v);
  return o && typeof o.content === 'string' ? o.content : null;
}

/** Reads a model folder's layout and configs. Throws TriagemError naming the offending file. */
export function readModelFolder(dir: string): ModelFolderSpec {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new TriagemError('not a folder', 'not-a-model', dir);
  }
  const manifest = optionalJson(path.join(dir, MANIFEST_FILE)) as ModelManifestLite | null;
  if (fs.existsSync(path.join(dir, 'visual')) || fs.existsSync(path.join(dir, 'textual'))) return readImmich(dir, manifest);
  if (fs.existsSync(path.join(dir, 'onnx'))) return readXenova(dir, manifest);
  throw new TriagemError(
    'not a model folder: expected the transformers.js layout (config.json + onnx/vision_model*.onnx + onnx/text_model*.onnx) or the Immich layout (visual/model.onnx + textual/model.onnx)',
    'not-a-model',
    dir,
  );
}

function graphVariants(dir: string, base: string): Partial<Record<ConcretePrecision, string>> {
  const found: Partial<Record<ConcretePrecision, string>> = {};
  for (const [precision, suffix] of Object.entries(PRECISION_SUFFIX) as [ConcretePrecision, string][]) {
    const rel = `onnx/${base}${suffix}.onnx`;
    if (fs.existsSync(path.join(dir, rel))) found[precision] = rel;
  }
  return found;
}

function readXenova(dir: string, manifest: ModelManifestLite | null): ModelFolderSpec {
  const configFile = path.join(dir, 'config.json');
  const config = readJson(configFile);
  const modelType = str(config.model_type);
  if (!isModelFamily(modelType)) {
    throw new TriagemError(`unsupported model_type "${modelType ?? '(none)'}": expected ${MODEL_FAMILIES.join(', ')}`, 'unsupported-model', configFile);
  }
  let family: ModelFamily = modelType;

  const vision = graphVariants(dir, 'vision_model');
  const text = graphVariants(dir, 'text_model');
  if (Object.keys(vision).length === 0) throw new TriagemError('no vision graph (onnx/vision_model*.onnx)', 'missing-file', path.join(dir, 'onnx/vision_model.onnx'));
  if (Object.keys(text).length === 0) throw new TriagemError('no text graph (onnx/text_model*.onnx)', 'missing-file', path.join(dir, 'onnx/text_model.onnx'));

  const preFile = path.join(dir, 'preprocessor_config.json');
  const pre = readJson(preFile);
  const image = imageSpecFromProcessor(pre, preFile, family);

  const tokConfigFile = path.join(dir, 'tokenizer_config.json');
  const tokConfig = readJson(tokConfigFile);
  requireFile(path.join(dir, 'tokenizer.json'));
  // The onnx-community SigLIP2 exports are tagged `siglip`; their Gemma tokenizer gives them away.
  if (family === 'siglip' && /gemma/i.test(str(tokConfig.tokenizer_class) ?? '')) family = 'siglip2';

  const textConfig = obj(config.text_config) ?? {};
  const isSiglip = family !== 'clip';
  const maxLen = positive(num(tokConfig.model_max_length)) ?? positive(num(textConfig.max_position_embeddings)) ?? (isSiglip ? 64 : 77);
  const positions = positive(num(textConfig.max_position_embeddings));
  const contextLength = Math.min(maxLen, positions ?? maxLen, 4096);

  const configFiles = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json'];
  for (const optional of ['special_tokens_map.json', 'vocab.json', 'merges.txt', 'spiece.model', 'tokenizer.model', MANIFEST_FILE]) {
    if (fs.existsSync(path.join(dir, optional))) configFiles.push(optional);
  }
  return {
    dir,
    layout: 'xenova',
    family,
    vision,
    text,
    tokenizerDir: '.',
    image,
    text_: {
      contextLength,
      // SigLIP pools the last position, so every sequence must be exactly the trained length.
      padding: isSiglip ? 'max_length' : 'longest',
      lowercase: isSiglip || tokConfig.do_lower_case === true,
      stripPunctuation: false,
      padToken: tokenString(tokConfig.pad_token),
      eosToken: tokenString(tokConfig.eos_token),
    },
    configFiles,
    manifest,
  };
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 && n < 1e6 ? Math.floor(n) : undefined;
}

function requireFile(file: string): void {
  if (!fs.existsSync(file)) throw new TriagemError('required file is missing', 'missing-file', file);
}

function imageSpecFromProcessor(pre: Json, file: string, family: ModelFamily): ImageSpec {
  const size = obj(pre.size);
  const crop = obj(pre.crop_size);
  const resample = num(pre.resample);
  const interpolation = resample === 2 ? 'bilinear' : 'bicubic';
  const rescaleFactor = num(pre.rescale_factor) ?? 1 / 255;
  const defaults: [number, number, number] = family === 'clip' ? [0.48145466, 0.4578275, 0.40821073] : [0.5, 0.5, 0.5];
  const defaultStd: [number, number, number] = family === 'clip' ? [0.26862954, 0.26130258, 0.27577711] : [0.5, 0.5, 0.5];
  const mean = pre.do_normalize === false ? ([0, 0, 0] as [number, number, number]) : triple(pre.image_mean, defaults, file, 'image_mean');
  const std = pre.do_normalize === false ? ([1, 1, 1] as [number, number, number]) : triple(pre.image_std, defaultStd, file, 'image_std');
  const shortest = num(size?.shortest_edge) ?? (typeof pre.size === 'number' ? pre.size : undefined);
  if (shortest !== undefined) {
    const cropSide = num(crop?.height) ?? num(crop?.width) ?? (typeof pre.crop_size === 'number' ? pre.crop_size : undefined) ?? shortest;
    if (pre.do_center_crop === false && cropSide !== shortest) {
      throw new TriagemError('shortest_edge resizing without a centre crop is not supported', 'unsupported-model', file);
    }
    return { size: cropSide, resizeMode: 'shortest-crop', interpolation, rescaleFactor, mean, std };
  }
  const h = num(size?.height);
  const w = num(size?.width);
  if (h !== undefined && w !== undefined) {
    if (h !== w) throw new TriagemError(`non-square input ${w}×${h} is not supported`, 'unsupported-model', file);
    return { size: h, resizeMode: 'squash', interpolation, rescaleFactor, mean, std };
  }
  throw new TriagemError('"size" must give shortest_edge or height and width', 'bad-config', file);
}

function readImmich(dir: string, manifest: ModelManifestLite | null): ModelFolderSpec {
  const configFile = path.join(dir, 'config.json');
  const config = readJson(configFile);
  const visionFile = 'visual/model.onnx';
  const textFile = 'textual/model.onnx';
  requireFile(path.join(dir, visionFile));
  requireFile(path.join(dir, textFile));
  const preFile = path.join(dir, 'visual/preprocess_cfg.json');
  const pre = readJson(preFile);
  const tokConfigFile = path.join(dir, 'textual/tokenizer_config.json');
  const tokConfig = readJson(tokConfigFile);
  requireFile(path.join(dir, 'textual/tokenizer.json'));

  const textCfg = obj(config.text_cfg) ?? {};
  const visionCfg = obj(config.vision_cfg) ?? {};
  const tokenizerKwargs = obj(textCfg.tokenizer_kwargs) ?? {};
  const canonicalize = tokenizerKwargs.clean === 'canonicalize';
  const family: ModelFamily = canonicalize || /siglip/i.test(path.basename(dir)) ? 'siglip' : 'clip';

  const sizeRaw = pre.size ?? visionCfg.image_size;
  const size = Array.isArray(sizeRaw) ? num(sizeRaw[0]) : num(sizeRaw);
  if (!size) throw new TriagemError('"size" is missing or not a number', 'bad-config', preFile);
  const resizeMode = str(pre.resize_mode) === 'squash' ? 'squash' : 'shortest-crop';
  const interpolation = str(pre.interpolation) === 'bilinear' ? 'bilinear' : 'bicubic';
  const image: ImageSpec = {
    size,
    resizeMode,
    interpolation,
    rescaleFactor: 1 / 255,
    mean: triple(pre.mean, [0.48145466, 0.4578275, 0.40821073], preFile, 'mean'),
    std: triple(pre.std, [0.26862954, 0.26130258, 0.27577711], preFile, 'std'),
  };
  const configFiles = ['config.json', 'visual/preprocess_cfg.json', 'textual/tokenizer.json', 'textual/tokenizer_config.json'];
  for (const optional of ['textual/special_tokens_map.json', MANIFEST_FILE]) {
    if (fs.existsSync(path.join(dir, optional))) configFiles.push(optional);
  }
  return {
    dir,
    layout: 'immich',
    family,
    vision: { fp32: visionFile },
    text: { fp32: textFile },
    tokenizerDir: 'textual',
    image,
    text_: {
      // Immich always pads to the context length; its textual graphs take a fixed-size [1,L] input.
      contextLength: positive(num(textCfg.context_length)) ?? (family === 'siglip' ? 64 : 77),
      padding: 'max_length',
      lowercase: canonicalize,
      stripPunctuation: canonicalize,
      padToken: tokenString(tokConfig.pad_token),
      eosToken: tokenString(tokConfig.eos_token),
    },
    configFiles,
    manifest,
  };
}

/** Picks the graph file for a tower at the requested precision (auto: first available in AUTO_PRECISION_ORDER). */
export function pickGraph(
  variants: Partial<Record<ConcretePrecision, string>>,
  precision: Precision,
  dir: string,
  tower: 'vision' | 'text',
): { precision: ConcretePrecision; file: string } {
  if (precision !== 'auto') {
    const file = variants[precision];
    if (!file) {
      const have = Object.keys(variants).join(', ');
      throw new TriagemError(`no ${tower} graph at precision "${precision}" (available: ${have})`, 'missing-precision', dir);
    }
    return { precision, file };
  }
  for (const p of AUTO_PRECISION_ORDER) {
    const file = variants[p];
    if (file) return { precision: p, file };
  }
  throw new TriagemError(`no ${tower} graph`, 'missing-file', dir);
}
