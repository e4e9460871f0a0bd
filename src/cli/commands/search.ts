import { TriagemError, UsageError } from '../../engine/errors.js';
import type { ClipModel } from '../../engine/models/types.js';
import type { Cutoff } from '../../engine/search/cutoff.js';
import type { SearchFilters } from '../../engine/search/filters.js';
import { SearchSession, type SearchHit, type SearchOptions, type SearchResponse } from '../../engine/search/search.js';
import { COMMON_OPTIONS, intOption, numberOption, parse, type CliIo, type Command } from '../command.js';
import { MODEL_OPTIONS, openModelForCli, parseDevice, parsePrecision } from '../model-options.js';
import { openExistingLibrary } from '../library-options.js';

/** Options shared by `search` and `similar`. */
export const QUERY_OPTIONS = {
  ...COMMON_OPTIONS,
  ...MODEL_OPTIONS,
  limit: { type: 'string' },
  folder: { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  label: { type: 'string' },
  run: { type: 'string' },
  tag: { type: 'string', multiple: true },
  type: { type: 'string' },
  camera: { type: 'string' },
  'min-score': { type: 'string' },
  all: { type: 'boolean', default: false },
  exact: { type: 'boolean', default: false },
} as const;

export const FILTER_USAGE = `  --limit <n>            most results to show (default 20)
  --folder <dir>         only images inside this folder (any depth); repeat for several
  --from <YYYY-MM-DD>    only photos taken on or after this day (EXIF capture date, local time)
  --to <YYYY-MM-DD>      only photos taken on or before this day
  --label <label>        only images the latest sort run with that label put there
                         (--run <id> picks the run)
  --tag <tag>            only images carrying this tag (see \`triagem tag\`); repeat: all of them
  --type <exts>          only these file types, comma-separated: jpg,png (jpg also matches jpeg)
  --camera <text>        only photos whose camera model contains the text
  --min-score <s>        leave out results scoring below s (raises the adaptive cut-off, never lowers it)
  --all                  no adaptive cut-off: show the best --limit results whatever their score
  --exact                exact search over every image instead of the fast two-stage search
  --json                 machine-readable output
  --library <file>       library file (default: the app's library)
  --model <id|folder>    model to use (default clip-vit-b32); --models-dir <dir> where models live
  --device <d>           auto | cpu | cuda | dml | coreml     --precision <p>  weights variant`;

type QueryValues = ReturnType<typeof parse<typeof QUERY_OPTIONS>>['values'];

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day in local time (EXIF capture times are stored as local wall-clock instants). */
function parseDay(value: string, flag: string, endOfDay: boolean): number {
  const m = DAY.exec(value.trim());
  const date = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
  if (!m || !date || date.getFullYear() !== Number(m[1]) || date.getMonth() !== Number(m[2]) - 1 || date.getDate() !== Number(m[3])) {
    throw new UsageError(`--${flag} must be a date like 2024-03-31, got "${value}"`);
  }
  if (!endOfDay) return date.getTime();
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + 1).getTime() - 1;
}

/** Every usage mistake is found here, before a model or library is opened. */
export function queryOptions(values: QueryValues): SearchOptions {
  const limit = intOption(values.limit, 'limit', 20);
  const minScore = numberOption(values['min-score'], 'min-score');
  if (minScore !== undefined && (minScore < -1 || minScore > 1)) throw new UsageError(`--min-score must be between -1 and 1, got "${values['min-score']}"`);
  const filters: SearchFilters = {};
  if (values.folder?.length) filters.folders = values.folder;
  if (values.type !== undefined) {
    const exts = values.type.split(',').map((e) => e.trim()).filter(Boolean);
    if (exts.length === 0) throw new UsageError('--type needs at least one file type, e.g. --type jpg,png');
    filters.exts = exts;
  }
  if (values.from !== undefined) filters.takenAfter = parseDay(values.from, 'from', false);
  if (values.to !== undefined) filters.takenBefore = parseDay(values.to, 'to', true);
  if (filters.takenAfter !== undefined && filters.takenBefore !== undefined && filters.takenAfter > filters.takenBefore) {
    throw new UsageError('--from is after --to');
  }
  if (values.label !== undefined) filters.label = values.label;
  if (values.run !== undefined) {
    if (values.label === undefined) throw new UsageError('--run needs --label');
    filters.sortRun = intOption(values.run, 'run', 1);
  }
  if (values.tag?.length) filters.tags = values.tag;
  if (values.camera !== undefined) filters.camera = values.camera;
  parseDevice(values.device);
  parsePrecision(values.precision);
  return { limit, minScore, filters, cutoff: !values.all, exact: values.exact };
}

/** Opens the library (which must exist: searching never creates one) and the model, then a session. */
export async function withSession<T>(values: QueryValues, io: CliIo, fn: (session: SearchSession) => Promise<T>): Promise<T> {
  const library = openExistingLibrary(values.library);
  let model: ClipModel | undefined;
  try {
    model = await openModelForCli({ model: values.model, modelsDir: values['models-dir'], device: values.device, precision: values.precision, io, verbose: values.verbose });
    const session = await SearchSession.open(library, model);
    const sync = session.sync;
    if (values.verbose && (sync.added || sync.removed || sync.rebuilt)) {
      io.err(`search codes made in memory (not yet stored by indexing): +${sync.added} −${sync.removed}${sync.rebuilt ? ' (re-fitted)' : ''}, ${sync.total} images, ${Math.round(sync.ms)} ms`);
    }
    return await fn(session);
  } finally {
    await model?.close();
    library.close();
  }
}

export function hitJson(h: SearchHit): Record<string, unknown> {
  return { path: h.path, score: round(h.score), sha256: h.sha256, contentId: h.contentId, paths: h.paths };
}

export function cutoffJson(c: Cutoff | null): Record<string, unknown> | null {
  if (!c) return null;
  return {
    threshold: round(c.threshold),
    reason: c.reason,
    floor: round(c.floor),
    gapAfter: c.gapAfter,
    background: { mean: round(c.background.mean), sd: round(c.background.sd), sample: c.background.count },
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** The human table: score, then path; other paths of the same image indented below it. */
/** The JSON fields `search` and `similar` share. */
export function responseJson(r: SearchResponse): Record<string, unknown> {
  return {
    model: r.modelKey,
    results: r.hits.map(hitJson),
    cutoff: cutoffJson(r.cutoff),
    belowCutoff: r.belowCutoff,
    considered: r.considered,
    tookMs: Math.round(r.tookMs),
  };
}

export function printHits(io: CliIo, r: SearchResponse): void {
  if (r.hits.length > 0) {
    const lines = ['score   path'];
    for (const h of r.hits) {
      lines.push(`${h.score.toFixed(3).padStart(6)}  ${h.path}`);
      for (const other of h.paths.slice(1)) lines.push(`        ${other}  (same image)`);
    }
    io.out(lines.join('\n'));
  }
  const parts = [`${r.hits.length} result${r.hits.length === 1 ? '' : 's'} of ${r.considered} images in ${Math.round(r.tookMs)} ms`];
  if (r.cutoff) {
    const why = r.cutoff.reason === 'gap' ? 'clear drop after the best matches' : r.cutoff.reason === 'min-score' ? '--min-score' : 'typical score + 3 sd';
    parts.push(`cut-off ${r.cutoff.threshold.toFixed(3)} (${why})`);
    if (r.belowCutoff > 0) parts.push(`${r.belowCutoff} more below it: --all shows them`);
  }
  io.err(parts.join('; '));
}

const USAGE = `triagem search "<query>" [options]

Finds images by description, in any language the model knows ("ônibus queimado perto da ponte").

Query language:
  plain text             one description, whatever its words
  +term                  add another description:   ônibus queimado +ponte
  -term                  subtract one (images that match it fall down and usually out):
                         ônibus -noite
  N:term                 weight a term (default 1), right after + or - or at the start:
                         2:ônibus +0.5:ponte      (a time such as 10:30 stays text)
A term runs from its + or - to the next word starting with + or -. Quote the whole query: outside
quotes, a word starting with - would be read as an option.

Results are images, best first, with their cosine score; the same photo at several paths is one
result listing every path. Only results that stand out from what this query scores on ordinary
images are shown (an adaptive cut-off); --min-score raises it, --all turns it off.

${FILTER_USAGE}

Exit codes: 0 done (also when nothing matches), 1 fatal error, 2 usage error.`;

export const searchCommand: Command = {
  name: 'search',
  summary: 'Find images by description (any language the model knows), with filters',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, QUERY_OPTIONS);
    if (positionals.length === 0) throw new UsageError('give a query: triagem search "burned bus near the bridge"');
    const query = positionals.join(' ');
    if (!query.trim()) throw new UsageError('the query is empty');
    const opts = queryOptions(values);
    return withSession(values, io, async (session) => {
      let response;
      try {
        response = await session.searchText(query, opts);
      } catch (err) {
        if (err instanceof TriagemError && err.code === 'bad-query') throw new UsageError(err.message);
        throw err;
      }
      if (values.json) {
        io.out(
          JSON.stringify({
            query,
            terms: response.terms,
            ...responseJson(response),
          }),
        );
      } else {
        printHits(io, response);
      }
      return 0;
    });
  },
};
