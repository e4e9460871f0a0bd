// The real OpenAI CLIP tokenizer, derived from the committed BPE vocabulary so the suite runs in a
// lone clone. Same rule as openai/CLIP's simple_tokenizer.py; vocab.json and merges.txt come out
// byte-identical to the Hugging Face copies (test/tokenizer.test.ts checks the hashes).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from './paths.js';

export const CLIP_VOCAB_GZ = 'bpe_simple_vocab_16e6.txt.gz';
/** 49152 − 256 − 2: the merges openai/CLIP keeps (the rest of the file is never used). */
const MERGE_COUNT = 48_894;
const BUMP = 1; // bump when the derived files change, so stale caches are rebuilt

/** GPT-2's printable stand-ins for the 256 byte values (bytes_to_unicode). */
function byteSymbols(): string[] {
  const direct: number[] = [];
  for (let b = 33; b <= 126; b++) direct.push(b);
  for (let b = 161; b <= 172; b++) direct.push(b);
  for (let b = 174; b <= 255; b++) direct.push(b);
  // In openai's order: the printable bytes first, then the rest (each mapped to 256 + n).
  const symbols = direct.map((b) => String.fromCodePoint(b));
  let extra = 0;
  for (let b = 0; b < 256; b++) if (!direct.includes(b)) symbols.push(String.fromCodePoint(256 + extra++));
  return symbols;
}

export interface ClipTokenizerFiles {
  /** Tokens in id order. */
  tokens: string[];
  merges: string[];
}

export function deriveClipTokenizer(gz: Buffer): ClipTokenizerFiles {
  const lines = gunzipSync(gz).toString('utf8').split('\n');
  const merges = lines.slice(1, 1 + MERGE_COUNT);
  if (merges.length !== MERGE_COUNT || merges.some((m) => m.split(' ').length !== 2)) {
    throw new Error(`${CLIP_VOCAB_GZ} does not hold ${MERGE_COUNT} merge lines`);
  }
  const bytes = byteSymbols();
  const tokens = [...bytes, ...bytes.map((b) => `${b}</w>`), ...merges.map((m) => m.replace(' ', '')), '<|startoftext|>', '<|endoftext|>'];
  return { tokens, merges };
}

/**
 * `{"token":id,…}` in id order, as Python writes a dict. Built by hand because a JS object would
 * move integer-like keys ("0".."9") to the front and change the bytes.
 */
function vocabJson(tokens: string[]): string {
  return `{${tokens.map((t, i) => `${JSON.stringify(t)}:${i}`).join(',')}}`;
}

function tokenizerJson({ tokens, merges }: ClipTokenizerFiles): string {
  const special = (id: number, content: string, normalized: boolean) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized,
    special: true,
  });
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(49406, '<|startoftext|>', true), special(49407, '<|endoftext|>', false)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', 49407],
      cls: ['<|startoftext|>', 49406],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab: '@VOCAB@',
      merges,
    },
  };
  return JSON.stringify(doc, null, 2).replace('"@VOCAB@"', vocabJson(tokens));
}

const TOKENIZER_CONFIG = {
  model_max_length: 77,
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
  do_lower_case: true,
  tokenizer_class: 'CLIPTokenizer',
};

export function clipVocabFixture(): string {
  return join(repoRoot(), 'test', 'fixtures', 'clip-tokenizer', CLIP_VOCAB_GZ);
}

/**
 * A folder with vocab.json, merges.txt, tokenizer.json and tokenizer_config.json, built once into
 * `<cacheRoot>/clip-tokenizer-v<n>` and reused. Written beside and renamed, so a parallel test
 * process never reads half a folder.
 */
export function ensureClipTokenizerDir(cacheRoot: string): string {
  const dir = join(cacheRoot, `clip-tokenizer-v${BUMP}`);
  if (existsSync(join(dir, 'tokenizer_config.json'))) return dir;
  const files = deriveClipTokenizer(readFileSync(clipVocabFixture()));
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'vocab.json'), vocabJson(files.tokens));
  writeFileSync(join(tmp, 'merges.txt'), `#version: 0.2\n${files.merges.join('\n')}\n`);
  writeFileSync(join(tmp, 'tokenizer.json'), tokenizerJson(files));
  writeFileSync(join(tmp, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG));
  try {
    renameSync(tmp, dir);
  } catch (err) {
    // Another process finished first: its folder is as good as ours.
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(dir, 'tokenizer_config.json'))) throw err;
  }
  return dir;
}
