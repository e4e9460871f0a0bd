import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TextTokenizer } from '../src/engine/models/tokenizer.js';
import { clipTokenizerDir } from './support/synthetic/paths.js';

const clipDir = clipTokenizerDir();
const clipSpec = {
  contextLength: 77,
  padding: 'longest' as const,
  lowercase: false,
  stripPunctuation: false,
  padToken: '<|endoftext|>',
  eosToken: '<|endoftext|>',
};

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('CLIP tokenizer files derived from the committed BPE vocabulary', () => {
  it('the fixture is the exact openai/CLIP file, and the derived vocab.json and merges.txt equal the Hugging Face copies byte for byte', () => {
    expect(sha256(path.join('test/fixtures/clip-tokenizer/bpe_simple_vocab_16e6.txt.gz'))).toBe('924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a');
    expect(sha256(path.join(clipDir, 'vocab.json'))).toBe('5047b556ce86ccaf6aa22b3ffccfc52d391ea4accdab9c2f2407da5b742d4363');
    expect(sha256(path.join(clipDir, 'merges.txt'))).toBe('9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a');
  });
});

describe('CLIP tokenizer (real OpenAI vocabulary through tokenizers.js)', () => {
  const tok = TextTokenizer.load(clipDir, clipSpec);

  it.each([
    ['a photo of a cat', [49406, 320, 1125, 539, 320, 2368, 49407]],
    ['a photo of a dog', [49406, 320, 1125, 539, 320, 1929, 49407]],
    ['Hello World!', [49406, 3306, 1002, 256, 49407]],
    ['Hello, world!', [49406, 3306, 267, 1002, 256, 49407]],
    ['A PHOTO of  a Cat!', [49406, 320, 1125, 539, 320, 2368, 256, 49407]],
    ['', [49406, 49407]],
    [
      'uma foto de um cachorro na praia, São Paulo',
      [49406, 9256, 12823, 654, 1008, 772, 7567, 2795, 1272, 1865, 1073, 267, 45911, 21628, 49407],
    ],
  ])('%j → published ids', (text, ids) => {
    expect(tok.ids(text)).toEqual(ids);
  });

  it('resolves the special ids from tokenizer_config.json', () => {
    expect(tok.spec.eosId).toBe(49407);
    expect(tok.spec.padId).toBe(49407);
  });

  it('treats accents as distinct from their plain letters and collapses whitespace', () => {
    expect(tok.ids('  tanque   destruído\n perto de uma ponte ')).toEqual(tok.ids('tanque destruído perto de uma ponte'));
    expect(tok.ids('destruído')).not.toEqual(tok.ids('destruido'));
    expect(tok.ids('Ação')).toEqual(tok.ids('ação'));
  });

  it('truncates past 77 tokens keeping <|endoftext|> last', () => {
    const long = Array.from({ length: 120 }, (_, i) => `palavra${i}`).join(' ');
    const ids = tok.ids(long);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(ids.slice(1, 76)).not.toContain(49407);
    expect(tok.encode(long).attention_mask.every((m) => m === 1)).toBe(true);
  });

  it('pads a batch to its longest text with the pad id and a zero mask', () => {
    const [a, b] = tok.encodeBatch(['a cat', 'uma foto de um gato preto']);
    expect(a.input_ids).toHaveLength(b.input_ids.length);
    const real = tok.ids('a cat').length;
    expect(a.input_ids.slice(real).every((id) => id === 49407)).toBe(true);
    expect(a.attention_mask).toEqual(a.input_ids.map((_, i) => (i < real ? 1 : 0)));
    expect(b.attention_mask.every((m) => m === 1)).toBe(true);
  });

  it('pads to the full context for fixed-length (SigLIP-style) towers and cleans punctuation when asked', () => {
    const fixed = TextTokenizer.load(clipDir, { ...clipSpec, contextLength: 64, padding: 'max_length', lowercase: true, stripPunctuation: true });
    const [e] = fixed.encodeBatch(['Olá, Mundo!!']);
    expect(e.input_ids).toHaveLength(64);
    expect(fixed.ids('Olá, Mundo!!')).toEqual(tok.ids('olá mundo'));
  });
});
