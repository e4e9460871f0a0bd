// The one default-model policy, used by every door (CLI, Electron, browser bridge). Pure: it gets
// what is installed, what the catalog recommends and what the library holds, and returns a choice
// with the reason in words, so the user always hears which model runs and why.

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import type { Precision } from '../engine/models/types.js';
import { isPortugueseLocale, looksPortuguese } from './language.js';

/** What the caller asked for. */
export interface ModelRequest {
  /** An installed model id, or (CLI) a model folder; authoritative when given. */
  model?: string;
  precision?: Precision;
  /** Labels or a query: Portuguese ones make the multilingual model the default. */
  texts?: readonly string[];
  /** The UI's or the system's locale ("pt-BR" → multilingual default). */
  locale?: string;
}

/** One model the policy may pick: installed folders and catalog entries. */
export interface ModelCandidate {
  id: string;
  installed: boolean;
  /** Installed but broken (why), so never picked by default. */
  problem?: string;
  /** The catalog's general default. */
  isDefault: boolean;
  /** Languages it is the default for (the catalog's `defaultFor`). */
  defaultFor: readonly string[];
}

/** Embeddings a library holds, per model id and precision. */
export interface LibraryModel {
  id: string;
  precision: Precision;
  count: number;
}

export interface ModelChoice {
  id: string;
  /** The model folder to load. */
  dir: string;
  /** Undefined: the model's preferred precision (auto). */
  precision?: Precision;
  /** Why this model, in one sentence for the user. */
  reason: string;
  /** A better choice the user could make (e.g. download the multilingual model), when there is one. */
  advice?: string;
}

export interface ChoiceContext {
  modelsDir: string;
  candidates: readonly ModelCandidate[];
  /** Models the open library has embeddings for; empty for a new library. */
  libraryModels: readonly LibraryModel[];
}

function explicitChoice(request: ModelRequest, ctx: ChoiceContext): ModelChoice {
  const name = request.model as string;
  const installedDir = path.join(ctx.modelsDir, name);
  const isId = !name.includes('/') && !name.includes(path.sep);
  let dir: string | undefined;
  if (isId && fs.existsSync(installedDir)) dir = installedDir;
  else if (fs.existsSync(name) && fs.statSync(name).isDirectory()) dir = path.resolve(name);
  if (!dir) {
    throw new TriagemError(
      `model "${name}" is not installed in ${ctx.modelsDir}. Run \`triagem models download ${name}\` (or \`triagem models import <folder>\` on an offline machine), or pass --models-dir`,
      'model-not-installed',
    );
  }
  const id = isId ? name : path.basename(dir);
  const held = ctx.libraryModels.find((m) => m.id === id);
  return { id, dir, precision: request.precision ?? held?.precision, reason: 'chosen with --model' };
}

export function chooseModel(request: ModelRequest, ctx: ChoiceContext): ModelChoice {
  if (request.model) return explicitChoice(request, ctx);

  const portuguese = looksPortuguese(request.texts ?? []) || (!(request.texts?.length) && isPortugueseLocale(request.locale));
  const why = request.texts?.length ? 'the labels or query are in Portuguese' : 'the language is Portuguese';
  const usable = ctx.candidates.filter((c) => c.installed && !c.problem);
  const multilingual = ctx.candidates.find((c) => c.defaultFor.includes('pt'));
  const english = ctx.candidates.find((c) => c.isDefault);
  const dirOf = (id: string) => path.join(ctx.modelsDir, id);

  // A library answers only with the model that embedded it: searching or sorting it with another
  // model would find nothing. The model with most embeddings wins.
  const held = [...ctx.libraryModels].sort((a, b) => b.count - a.count).find((m) => usable.some((c) => c.id === m.id));
  if (held) {
    const choice: ModelChoice = { id: held.id, dir: dirOf(held.id), precision: request.precision ?? held.precision, reason: `the library was indexed with ${held.id}` };
    if (portuguese && multilingual && held.id !== multilingual.id && !ctx.libraryModels.some((m) => m.id === multilingual.id)) {
      choice.advice = `${why}, and ${held.id} is weak in Portuguese: index with --model ${multilingual.id} for better results`;
    }
    return choice;
  }

  if (portuguese && multilingual) {
    if (usable.some((c) => c.id === multilingual.id)) {
      return { id: multilingual.id, dir: dirOf(multilingual.id), precision: request.precision, reason: `${why}: using the multilingual model` };
    }
    const fallback = (english && usable.find((c) => c.id === english.id)) ?? usable[0];
    if (fallback) {
      return {
        id: fallback.id,
        dir: dirOf(fallback.id),
        precision: request.precision,
        reason: `${why}, but the multilingual model ${multilingual.id} is not installed`,
        advice: `download it for better Portuguese results: triagem models download ${multilingual.id}`,
      };
    }
  } else if (english && usable.some((c) => c.id === english.id)) {
    return { id: english.id, dir: dirOf(english.id), precision: request.precision, reason: 'the default model' };
  }

  if (usable.length === 1) return { id: usable[0].id, dir: dirOf(usable[0].id), precision: request.precision, reason: 'the only installed model' };
  if (usable.length > 1) {
    throw new TriagemError(`several models are installed (${usable.map((c) => c.id).join(', ')}) and none is the default; choose one with --model`, 'no-model');
  }
  const suggest = [multilingual && `\`triagem models download ${multilingual.id}\` (multilingual, recommended for Portuguese)`, english && `\`triagem models download ${english.id}\` (English, smaller)`]
    .filter(Boolean)
    .join(' or ');
  throw new TriagemError(
    `no model is installed in ${ctx.modelsDir}. Download one: ${suggest || '`triagem models list`'}; on an offline computer copy a model folder and run \`triagem models import <folder>\``,
    'no-model',
  );
}
