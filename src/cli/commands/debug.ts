import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../engine/errors.js';
import { describeDevice } from '../../engine/models/runtime.js';
import { parse, type Command } from '../command.js';
import { MODEL_OPTIONS, openModelForCli } from '../model-options.js';

// Support and debugging: show exactly what the model is fed and what it returns.

export const debugTokens: Command = {
  name: 'debug tokens',
  summary: 'Print the token ids and attention mask fed to the text model, as JSON',
  usage: 'triagem debug tokens "<text>" [--model <id|folder>] [--models-dir <dir>]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, MODEL_OPTIONS);
    if (positionals.length !== 1) throw new UsageError('give exactly one text (quote it)');
    const model = await openModelForCli({ ...values, modelsDir: values['models-dir'], device: 'cpu', io });
    try {
      io.out(JSON.stringify(model.tokenize(positionals[0])));
    } finally {
      await model.close();
    }
    return 0;
  },
};

export const debugTensor: Command = {
  name: 'debug tensor',
  summary: 'Write the vision input for an image as raw little-endian float32, channel-first [3,H,W]',
  usage: 'triagem debug tensor <image> --out <file> [--model <id|folder>] [--models-dir <dir>]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...MODEL_OPTIONS, out: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('give exactly one image');
    if (!values.out) throw new UsageError('--out <file> is required');
    const model = await openModelForCli({ ...values, modelsDir: values['models-dir'], device: 'cpu', io });
    try {
      const tensor = await model.preprocess(positionals[0]);
      const bytes = Buffer.alloc(tensor.length * 4);
      for (let i = 0; i < tensor.length; i++) bytes.writeFloatLE(tensor[i], i * 4);
      const out = path.resolve(values.out);
      if (out === path.resolve(positionals[0])) throw new UsageError('--out must not be the input image');
      await fs.writeFile(out, bytes);
      const s = model.info.image.size;
      io.err(`wrote ${out}: float32 little-endian [3,${s},${s}] (${bytes.length} bytes)`);
    } finally {
      await model.close();
    }
    return 0;
  },
};

export const debugEmbed: Command = {
  name: 'debug embed',
  summary: 'Print the L2-normalized embedding of a text or an image, as JSON',
  usage: 'triagem debug embed (--text "<text>" | --image <path>) [--model <id|folder>] [--device auto|cpu|cuda|dml|coreml]',
  async run(argv, io) {
    const { values } = parse(argv, { ...MODEL_OPTIONS, text: { type: 'string' }, image: { type: 'string' }, verbose: { type: 'boolean' } }, false);
    if ((values.text === undefined) === (values.image === undefined)) throw new UsageError('give exactly one of --text or --image');
    const model = await openModelForCli({ ...values, modelsDir: values['models-dir'], io, verbose: values.verbose });
    try {
      const [embedding] = values.text !== undefined ? await model.encodeTexts([values.text]) : await model.encodeImages([values.image as string]);
      io.out(JSON.stringify(Array.from(embedding)));
      if (values.verbose) io.err(`${model.info.dim} dimensions — ${describeDevice(model.info.device)}`);
    } finally {
      await model.close();
    }
    return 0;
  },
};
