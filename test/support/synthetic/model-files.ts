// Config and tokenizer files for synthetic model folders, shaped like the real Hub files (see
// shared/docs/model-formats.md). Every generated folder says in config.json that its weights are synthetic.

import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLIP_MEAN, CLIP_STD, SIGLIP_MEAN, SIGLIP_STD } from './colour-palette.js';

/** The key every generated config.json carries, so nothing mistakes these folders for real weights. */
export const SYNTHETIC_MARKER_KEY = '_triagem_synthetic';

export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** Xenova/clip-vit-base-patch32's config.json shape (ViT-B/32 vision, 12-layer 512-wide text). */
export function xenovaClipConfig(marker: string): Record<string, unknown> {
  return {
    [SYNTHETIC_MARKER_KEY]: marker,
    _name_or_path: 'triagem-synthetic/clip-vit-base-patch32',
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: 512,
    logit_scale_init_value: 2.6592,
    initializer_factor: 1.0,
    text_config: {
      model_type: 'clip_text_model',
      vocab_size: 49408,
      hidden_size: 512,
      intermediate_size: 2048,
      num_attention_heads: 8,
      num_hidden_layers: 12,
      max_position_embeddings: 77,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      projection_dim: 512,
      // As in the real openai/clip-vit-base-patch32 config: the legacy eos id 2 makes HF pool at argmax(input_ids).
      bos_token_id: 0,
      eos_token_id: 2,
      pad_token_id: 1,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: 768,
      intermediate_size: 3072,
      num_attention_heads: 12,
      num_hidden_layers: 12,
      num_channels: 3,
      image_size: 224,
      patch_size: 32,
      hidden_act: 'quick_gelu',
      layer_norm_eps: 1e-5,
      projection_dim: 512,
    },
  };
}

/** Exactly the real CLIP preprocessor_config.json values. */
export const CLIP_PREPROCESSOR = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  feature_extractor_type: 'CLIPFeatureExtractor',
  image_mean: [...CLIP_MEAN],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [...CLIP_STD],
  resample: 3,
  rescale_factor: 1 / 255,
  size: { shortest_edge: 224 },
};

export function siglipConfig(marker: string): Record<string, unknown> {
  return {
    [SYNTHETIC_MARKER_KEY]: marker,
    _name_or_path: 'triagem-synthetic/siglip-base-patch16-224',
    architectures: ['SiglipModel'],
    model_type: 'siglip',
    initializer_factor: 1.0,
    text_config: {
      model_type: 'siglip_text_model',
      // The synthetic SigLIP reuses the CLIP BPE vocabulary (see its tokenizer_config.json).
      vocab_size: 49408,
      hidden_size: 768,
      intermediate_size: 3072,
      num_attention_heads: 12,
      num_hidden_layers: 12,
      max_position_embeddings: 64,
      hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: 1e-6,
    },
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_size: 768,
      intermediate_size: 3072,
      num_attention_heads: 12,
      num_hidden_layers: 12,
      num_channels: 3,
      image_size: 224,
      patch_size: 16,
      hidden_act: 'gelu_pytorch_tanh',
      layer_norm_eps: 1e-6,
    },
  };
}

/** SigLIP v1 preprocessing: 224×224 squash, bicubic, mean/std 0.5. */
export const SIGLIP_PREPROCESSOR = {
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [...SIGLIP_MEAN],
  image_processor_type: 'SiglipImageProcessor',
  image_std: [...SIGLIP_STD],
  processor_class: 'SiglipProcessor',
  resample: 3,
  rescale_factor: 1 / 255,
  size: { height: 224, width: 224 },
};

/** open_clip ViT-B-32 config.json as Immich ships it. */
export function immichClipConfig(marker: string): Record<string, unknown> {
  return {
    [SYNTHETIC_MARKER_KEY]: marker,
    embed_dim: 512,
    vision_cfg: { image_size: 224, layers: 12, width: 768, patch_size: 32 },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12 },
  };
}

export const IMMICH_CLIP_PREPROCESS = {
  size: [224, 224],
  mode: 'RGB',
  mean: [...CLIP_MEAN],
  std: [...CLIP_STD],
  interpolation: 'bicubic',
  resize_mode: 'shortest',
  fill_color: 0,
};

export const CLIP_SPECIAL_TOKENS_MAP = {
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
};

/** Copies the real CLIP tokenizer files that a layout ships, read from the shared tokenizer folder. */
export function copyTokenizerFiles(sourceDir: string, targetDir: string, files: readonly string[]): void {
  mkdirSync(targetDir, { recursive: true });
  for (const name of files) {
    const source = join(sourceDir, name);
    if (!existsSync(source)) throw new Error(`CLIP tokenizer file missing: ${source} (set TRIAGEM_SHARED_DIR)`);
    const target = join(targetDir, name);
    copyFileSync(source, target);
    // The shared folder is read-only; copies must not be, or tests that copy/replace model files fail.
    chmodSync(target, 0o644);
  }
}

export function readJsonObject(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}
