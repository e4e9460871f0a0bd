import fs from 'node:fs/promises';
import path from 'node:path';
import { modelUse } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { parse, type Command } from '../command.js';
import { MODEL_OPTIONS, parsePrecision, reportModel, withApp } from '../options.js';

// Support and debugging: show exactly what the model is fed and what it returns.

export const debugTokens: Command = {
  usage: 'triagem debug tokens "<text>" [--model <id|folder>] [--models-dir <dir>]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, MODEL_OPTIONS);
    if (positionals.length !== 1) throw new UsageError('give exactly one text (quote it)');
    return withApp({ ...values, device: 'cpu' }, async (app) => {
      const { model } = await app.openModel({ model: values.model, precision: parsePrecision(values.precision) });
      io.out(JSON.stringify(model.tokenize(positionals[0])));
      return 0;
    });
  },
};

export const debugTensor: Command = {
  usage: 'triagem debug tensor <image> --out <file> [--model <id|folder>] [--models-dir <dir>]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...MODEL_OPTIONS, out: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('give exactly one image');
    if (!values.out) throw new UsageError('--out <file> is required');
    const out = path.resolve(values.out);
    if (out === path.resolve(positionals[0])) throw new UsageError('--out must not be the input image');
    return withApp({ ...values, device: 'cpu' }, async (app) => {
      const { model } = await app.openModel({ model: values.model, precision: parsePrecision(values.precision) });
      const tensor = await model.preprocess(positionals[0]);
      const bytes = Buffer.alloc(tensor.length * 4);
      for (let i = 0; i < tensor.length; i++) bytes.writeFloatLE(tensor[i], i * 4);
      await fs.writeFile(out, bytes);
      const s = model.info.image.size;
      io.err(`wrote ${out}: float32 little-endian [3,${s},${s}] (${bytes.length} bytes)`);
      return 0;
    });
  },
};

export const debugEmbed: Command = {
  usage: 'triagem debug embed (--text "<text>" | --image <path>) [--model <id|folder>] [--device auto|cpu|cuda|dml|coreml]',
  async run(argv, io) {
    const { values } = parse(argv, { ...MODEL_OPTIONS, text: { type: 'string' }, image: { type: 'string' }, verbose: { type: 'boolean' } }, false);
    if ((values.text === undefined) === (values.image === undefined)) throw new UsageError('give exactly one of --text or --image');
    return withApp(values, async (app) => {
      const open = await app.openModel({ model: values.model, precision: parsePrecision(values.precision) });
      const model = open.model;
      reportModel(io, modelUse(open), values.verbose);
      const [embedding] = values.text !== undefined ? await model.encodeTexts([values.text]) : await model.encodeImages([values.image as string]);
      io.out(JSON.stringify(Array.from(embedding)));
      if (values.verbose) io.err(`${model.info.dim} dimensions`);
      return 0;
    });
  },
};
