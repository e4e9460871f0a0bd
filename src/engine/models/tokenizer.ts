import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TriagemError, errorMessage } from '../errors.js';
import { readJson } from './layout.js';
import type { TextSpec, TokenizedText } from './types.js';

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/**
 * tokenizers.js does the BPE/SentencePiece work but neither pads nor truncates; this wrapper applies the
 * model's own rules so the ids are exactly what its text tower was trained on.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    readonly spec: TextSpec,
  ) {}

  /**
   * @param dir folder holding tokenizer.json and tokenizer_config.json
   * @param spec text rules; padId/eosId are resolved here from the token strings when null
   */
  static load(
    dir: string,
    spec: Omit<TextSpec, 'padId' | 'eosId'> & { padToken: string | null; eosToken: string | null },
  ): TextTokenizer {
    const jsonFile = path.join(dir, 'tokenizer.json');
    const tokenizerJson = readJson(jsonFile);
    const config = readJson(path.join(dir, 'tokenizer_config.json'));
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, config);
      tokenizer.encode('test');
    } catch (err) {
      throw new TriagemError(`not a usable tokenizer: ${errorMessage(err)}`, 'bad-tokenizer', jsonFile);
    }
    const idOf = (token: string | null): number | undefined => (token === null ? undefined : tokenizer.token_to_id(token));
    const eosId = idOf(spec.eosToken) ?? idOf('<|endoftext|>') ?? idOf('</s>') ?? idOf('<eos>');
    if (eosId === undefined) throw new TriagemError('cannot find the end-of-text token id', 'bad-tokenizer', jsonFile);
    const padId = idOf(spec.padToken) ?? eosId;
    const { padToken: _p, eosToken: _e, ...rest } = spec;
    return new TextTokenizer(tokenizer, { ...rest, padId, eosId });
  }

  /** Ids of one text, truncated to the context length with the end token kept last; not padded. */
  ids(text: string): number[] {
    let clean = text.replace(/\s+/g, ' ').trim();
    if (this.spec.stripPunctuation) clean = clean.replace(ASCII_PUNCTUATION, '').replace(/\s+/g, ' ').trim();
    if (this.spec.lowercase) clean = clean.toLowerCase();
    const ids = [...this.tokenizer.encode(clean, { add_special_tokens: true }).ids];
    // Some SigLIP tokenizer.json post-processors do not append </s>; the towers were trained with it.
    if (ids[ids.length - 1] !== this.spec.eosId) ids.push(this.spec.eosId);
    const max = this.spec.contextLength;
    if (ids.length > max) {
      ids.length = max;
      ids[max - 1] = this.spec.eosId;
    }
    return ids;
  }

  /** One text padded to `length` (default: the context length). */
  encode(text: string, length = this.spec.contextLength): TokenizedText {
    return pad(this.ids(text), length, this.spec.padId);
  }

  /** A batch padded per the model's padding rule. */
  encodeBatch(texts: readonly string[]): TokenizedText[] {
    const all = texts.map((t) => this.ids(t));
    const length = this.spec.padding === 'max_length' ? this.spec.contextLength : Math.max(...all.map((a) => a.length));
    return all.map((ids) => pad(ids, length, this.spec.padId));
  }
}

function pad(ids: number[], length: number, padId: number): TokenizedText {
  const input_ids = ids.slice(0, length);
  const attention_mask = input_ids.map(() => 1);
  while (input_ids.length < length) {
    input_ids.push(padId);
    attention_mask.push(0);
  }
  return { input_ids, attention_mask };
}
