// Writes the synthetic "colour" CLIP-family model folders used by the test suite.
//
// Vision tower: undo the preprocessor's normalization, average the image to one RGB, weigh each palette
// prototype by a normalized RBF in opponent-colour space, project onto per-colour directions (+ a
// constant image offset).
// Text tower: sum per-token latent vectors (colour words' pieces were fitted to land on their colour),
// pooled like the real tower, then project. So a solid red photo embeds nearest "red" and "vermelho".
// None of this is a real CLIP/SigLIP: config.json says so under `_triagem_synthetic`.

import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_MEAN, CLIP_STD, SIGLIP_MEAN, SIGLIP_STD } from './colour-palette.js';
import { clipTextGraph, clipVisionGraph, siglipTextGraph, siglipVisionGraph, type Precision } from './colour-graphs.js';
import { EOS_ID, buildColourSpace } from './colour-space.js';
import { fitColourTokens, loadClipTokenizer } from './colour-tokens.js';
import {
  CLIP_PREPROCESSOR,
  CLIP_SPECIAL_TOKENS_MAP,
  IMMICH_CLIP_PREPROCESS,
  SIGLIP_PREPROCESSOR,
  SYNTHETIC_MARKER_KEY,
  copyTokenizerFiles,
  immichClipConfig,
  readJsonObject,
  siglipConfig,
  writeJson,
  xenovaClipConfig,
} from './model-files.js';
import type { GraphBuilder } from './onnx.js';
import { writeModelFile } from './onnx.js';
import { clipTokenizerDir } from './paths.js';

/** Bump when anything about the generated files changes, so cached folders are regenerated. */
export const COLOUR_MODEL_VERSION = 4;
export const DEFAULT_COLOUR_SEED = 20_250_611;

export type TextInputName = 'input_ids' | 'attention_mask';

export interface ColourModelOptions {
  family?: 'clip' | 'siglip';
  layout?: 'xenova' | 'immich';
  /** Xenova CLIP text inputs: `['input_ids']` (the real Xenova file) or `['input_ids','attention_mask']`. */
  textInputs?: readonly TextInputName[];
  seed?: number;
  /** Where tokenizer.json etc. are copied from; default: the shared openai-clip-tokenizer folder. */
  tokenizerDir?: string;
  /** Also write onnx/*_quantized.onnx (Xenova layout only). Default true. */
  quantized?: boolean;
}

export interface GeneratedModel {
  dir: string;
  /** Relative path → size in bytes, for every file written. */
  files: Record<string, number>;
}

const MARKERS = {
  clip: 'colour test model, not real CLIP weights: embeds an image by its mean colour and text by its colour words',
  siglip:
    'colour test model in the Xenova SigLIP layout, not real SigLIP weights; its tokenizer is the CLIP BPE tokenizer relabelled (real SigLIP uses SentencePiece with </s> padding)',
} as const;

const ONNX_METADATA = { triagem_synthetic: 'colour test model, not real weights' };

function writeGraph(dir: string, rel: string, graph: GraphBuilder): void {
  const file = join(dir, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeModelFile(file, graph, { metadata: ONNX_METADATA, docString: 'Triagem synthetic colour model (not real weights)' });
}

function listSizes(dir: string, rels: readonly string[]): Record<string, number> {
  return Object.fromEntries(rels.map((rel) => [rel, statSync(join(dir, rel)).size]));
}

export function writeColourModel(dir: string, options: ColourModelOptions = {}): GeneratedModel {
  const family = options.family ?? 'clip';
  const layout = options.layout ?? 'xenova';
  const textInputs = options.textInputs ?? ['input_ids'];
  const seed = options.seed ?? DEFAULT_COLOUR_SEED;
  const tokenizerDir = options.tokenizerDir ?? clipTokenizerDir();
  const quantized = options.quantized ?? true;

  if (textInputs[0] !== 'input_ids' || textInputs.length > 2 || (textInputs.length === 2 && textInputs[1] !== 'attention_mask')) {
    throw new Error(`textInputs must be ['input_ids'] or ['input_ids','attention_mask'], got ${JSON.stringify(textInputs)}`);
  }
  const attentionMask = textInputs.length === 2;
  if (layout === 'immich' && (family !== 'clip' || attentionMask)) {
    throw new Error('the Immich colour model exists only as OpenAI-style CLIP with a single `text` input');
  }
  if (family === 'siglip' && attentionMask) throw new Error('Xenova SigLIP text towers take input_ids only');

  mkdirSync(dir, { recursive: true });
  const fit = fitColourTokens(loadClipTokenizer(tokenizerDir));
  const written: string[] = [];

  if (family === 'siglip') {
    // Padding uses <|endoftext|>; a near-zero vector for it keeps 60 pads from drowning 4 content tokens,
    // while padding with anything else (e.g. 0) visibly shifts the pooled output, as in real SigLIP.
    const space = buildColourSpace({ dim: 768, seed, fit, padTokenScale: { id: EOS_ID, scale: 0.02 } });
    const precisions: Precision[] = quantized ? ['fp32', 'quantized'] : ['fp32'];
    for (const precision of precisions) {
      const suffix = precision === 'quantized' ? '_quantized' : '';
      writeGraph(dir, `onnx/vision_model${suffix}.onnx`, siglipVisionGraph(space, { size: 224, patch: 16, mean: SIGLIP_MEAN, std: SIGLIP_STD, precision }));
      writeGraph(dir, `onnx/text_model${suffix}.onnx`, siglipTextGraph(space, { sequence: 64, precision }));
      written.push(`onnx/vision_model${suffix}.onnx`, `onnx/text_model${suffix}.onnx`);
    }
    writeJson(join(dir, 'config.json'), siglipConfig(MARKERS.siglip));
    writeJson(join(dir, 'preprocessor_config.json'), SIGLIP_PREPROCESSOR);
    copyTokenizerFiles(tokenizerDir, dir, ['tokenizer.json']);
    const tokConfig = readJsonObject(join(tokenizerDir, 'tokenizer_config.json'));
    writeJson(join(dir, 'tokenizer_config.json'), {
      ...tokConfig,
      [SYNTHETIC_MARKER_KEY]: 'CLIP BPE tokenizer relabelled for a synthetic SigLIP model; pads to 64 with <|endoftext|>',
      model_max_length: 64,
      pad_token: '<|endoftext|>',
      do_lower_case: true,
      model_input_names: ['input_ids'],
    });
    writeJson(join(dir, 'special_tokens_map.json'), CLIP_SPECIAL_TOKENS_MAP);
    written.push('config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json');
  } else if (layout === 'immich') {
    const space = buildColourSpace({ dim: 512, seed, fit });
    writeGraph(
      dir,
      'visual/model.onnx',
      clipVisionGraph(space, { inputName: 'image', outputName: 'embedding', batch: 1, size: 224, mean: CLIP_MEAN, std: CLIP_STD, normalize: true, precision: 'fp32' }),
    );
    writeGraph(
      dir,
      'textual/model.onnx',
      clipTextGraph(space, { inputName: 'text', inputType: 'int32', attentionMask: false, outputName: 'embedding', batch: 1, sequence: 77, normalize: true, precision: 'fp32' }),
    );
    writeJson(join(dir, 'config.json'), immichClipConfig(MARKERS.clip));
    writeJson(join(dir, 'visual/preprocess_cfg.json'), IMMICH_CLIP_PREPROCESS);
    copyTokenizerFiles(tokenizerDir, join(dir, 'textual'), ['tokenizer.json', 'tokenizer_config.json']);
    writeJson(join(dir, 'textual/special_tokens_map.json'), CLIP_SPECIAL_TOKENS_MAP);
    written.push(
      'visual/model.onnx',
      'textual/model.onnx',
      'config.json',
      'visual/preprocess_cfg.json',
      'textual/tokenizer.json',
      'textual/tokenizer_config.json',
      'textual/special_tokens_map.json',
    );
  } else {
    const space = buildColourSpace({ dim: 512, seed, fit });
    const precisions: Precision[] = quantized ? ['fp32', 'quantized'] : ['fp32'];
    for (const precision of precisions) {
      const suffix = precision === 'quantized' ? '_quantized' : '';
      writeGraph(
        dir,
        `onnx/vision_model${suffix}.onnx`,
        clipVisionGraph(space, {
          inputName: 'pixel_values',
          outputName: 'image_embeds',
          batch: 'batch_size',
          size: 224,
          mean: CLIP_MEAN,
          std: CLIP_STD,
          normalize: false,
          precision,
        }),
      );
      writeGraph(
        dir,
        `onnx/text_model${suffix}.onnx`,
        clipTextGraph(space, {
          inputName: 'input_ids',
          inputType: 'int64',
          attentionMask,
          outputName: 'text_embeds',
          batch: 'batch_size',
          sequence: 'sequence_length',
          normalize: false,
          precision,
        }),
      );
      written.push(`onnx/vision_model${suffix}.onnx`, `onnx/text_model${suffix}.onnx`);
    }
    writeXenovaClipFiles(dir, tokenizerDir, MARKERS.clip);
    written.push(...XENOVA_CLIP_CONFIG_FILES);
  }

  writeFileSync(
    join(dir, 'README.md'),
    `# Synthetic test model — NOT real weights\n\nGenerated by Triagem's test support (test/support/synthetic/colour-model.ts) for offline tests.\nSee config.json \`${SYNTHETIC_MARKER_KEY}\`.\n`,
  );
  written.push('README.md');
  return { dir, files: listSizes(dir, written) };
}

export const XENOVA_CLIP_CONFIG_FILES = [
  'config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
] as const;

/** config.json, preprocessor_config.json and the real CLIP tokenizer files of the Xenova CLIP layout. */
export function writeXenovaClipFiles(dir: string, tokenizerDir: string, marker: string): void {
  writeJson(join(dir, 'config.json'), xenovaClipConfig(marker));
  writeJson(join(dir, 'preprocessor_config.json'), CLIP_PREPROCESSOR);
  copyTokenizerFiles(tokenizerDir, dir, ['tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt']);
  writeJson(join(dir, 'special_tokens_map.json'), CLIP_SPECIAL_TOKENS_MAP);
}
