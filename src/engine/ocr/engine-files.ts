// Every file tesseract.js needs, found on local disk: its worker script and core (its own package
// and tesseract.js-core), and the Portuguese and English trained data from @tesseract.js-data/*.
// Nothing is ever fetched: tesseract.js only goes to the network when `langPath` is unset or a
// URL, or when given an image URL, and this module always hands it a local folder.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';

const require = createRequire(import.meta.url);

export type OcrLanguage = 'por' | 'eng';
export const OCR_LANGUAGES: readonly OcrLanguage[] = ['por', 'eng'];

const DATA_PACKAGES: Record<OcrLanguage, string> = { por: '@tesseract.js-data/por', eng: '@tesseract.js-data/eng' };

/**
 * The LSTM-only integer models: what tesseract.js itself loads for its default LSTM engine, about a
 * fifth of the size of the `4.0.0` files (which also carry the legacy engine we never run).
 */
export const TRAINEDDATA_VARIANT = '4.0.0_best_int';

export interface EngineFiles {
  /** tesseract.js's Node worker script. */
  workerPath: string;
  /** The folder holding tesseract.js-core's wasm builds (Node loads the core with require; set anyway). */
  corePath: string;
  /** A local folder holding `<lang>.traineddata.gz` for every requested language. */
  langPath: string;
  /** e.g. "tesseract.js 7.0.0 (core 7.0.0)". */
  engine: string;
}

function packageDir(name: string): string {
  try {
    // The core is tesseract.js's own dependency: resolve it from there, wherever npm put it.
    const from = name === 'tesseract.js-core' ? createRequire(require.resolve('tesseract.js/package.json')) : require;
    return path.dirname(from.resolve(`${name}/package.json`));
  } catch (err) {
    throw new TriagemError(`the OCR engine is not installed (${name}): ${errorMessage(err)}`, 'ocr-missing');
  }
}

function packageVersion(name: string): string {
  const json = JSON.parse(fs.readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof json.version === 'string' ? json.version : 'unknown';
}

export function engineName(): string {
  return `tesseract.js ${packageVersion('tesseract.js')} (core ${packageVersion('tesseract.js-core')})`;
}

export function parseLanguages(value: string | readonly string[]): OcrLanguage[] {
  const list = typeof value === 'string' ? value.split(/[+,\s]+/) : [...value];
  const out: OcrLanguage[] = [];
  for (const raw of list) {
    const lang = raw.trim().toLowerCase();
    if (!lang) continue;
    if (!(OCR_LANGUAGES as readonly string[]).includes(lang)) {
      throw new TriagemError(`OCR language "${raw}" is not available; available: ${OCR_LANGUAGES.join(', ')}`, 'bad-ocr-language');
    }
    if (!out.includes(lang as OcrLanguage)) out.push(lang as OcrLanguage);
  }
  if (out.length === 0) throw new TriagemError('name at least one OCR language', 'bad-ocr-language');
  return out;
}

/** The gzipped trained data for one language, inside its npm package. */
export function traineddataSource(lang: OcrLanguage): string {
  return path.join(packageDir(DATA_PACKAGES[lang]), TRAINEDDATA_VARIANT, `${lang}.traineddata.gz`);
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/**
 * tesseract.js reads every language from one `langPath` folder, but each language ships in its own
 * package, so the files are copied side by side under `dataDir` (once; a copy that differs from
 * its package file in any byte is replaced). Passing the data as in-memory `{code, data}` objects
 * instead would avoid the copy, but tesseract.js 7 initialises with the bytes in place of the
 * language code when given those, and fails.
 */
export function prepareLangPath(dataDir: string, langs: readonly OcrLanguage[]): string {
  const dir = path.join(path.resolve(dataDir), 'tessdata', TRAINEDDATA_VARIANT);
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const lang of langs) {
      const source = traineddataSource(lang);
      const target = path.join(dir, `${lang}.traineddata.gz`);
      if (fs.existsSync(target) && fs.statSync(target).size === fs.statSync(source).size && sha256(target) === sha256(source)) continue;
      const tmp = `${target}.${process.pid}.tmp`;
      fs.copyFileSync(source, tmp);
      fs.renameSync(tmp, target);
    }
  } catch (err) {
    if (err instanceof TriagemError) throw err;
    throw new TriagemError(`cannot prepare the OCR language data: ${errorMessage(err)}`, 'ocr-data', dir);
  }
  return dir;
}

export function engineFiles(dataDir: string, langs: readonly OcrLanguage[]): EngineFiles {
  const tesseract = packageDir('tesseract.js');
  return {
    workerPath: path.join(tesseract, 'src', 'worker-script', 'node', 'index.js'),
    corePath: packageDir('tesseract.js-core'),
    langPath: prepareLangPath(dataDir, langs),
    engine: engineName(),
  };
}
