import { searchImageTextOnly, searchText, type Cutoff, type SearchFilters, type SearchHit, type SearchOptions, type SearchResponse } from '../../app/index.js';
import { TriagemError, UsageError } from '../../shared/errors.js';
import { COMMON_OPTIONS, intOption, numberOption, parse, type CliIo, type Command } from '../command.js';
import { safe } from '../format.js';
import { MODEL_OPTIONS, parseDevice, parsePrecision, reportModel, withApp } from '../options.js';
import { snippetJson, snippetLine } from '../ocr-options.js';

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
  text: { type: 'string' },
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
  --text <words>         only images whose text (read by \`triagem index --ocr\`) holds all the words,
                         ignoring accents and case ("manifestacao" finds "Manifestação");
                         "a phrase" in quotes, word* for words starting with it
  --min-score <s>        leave out results scoring below s (raises the adaptive cut-off, never lowers it)
  --all                  no adaptive cut-off: show the best --limit results whatever their score
  --exact                exact search over every image instead of the fast two-stage search
  --json                 machine-readable output
  --library <file>       library file (default: the app's library)
  --model <id|folder>    model to use (default: the model the library was indexed with);
                         --models-dir <dir> where models live
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
export function queryOptions(values: QueryValues): SearchOptions & { model?: string; precision?: ReturnType<typeof parsePrecision> } {
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
  if (values.text !== undefined && !/[\p{L}\p{N}]/u.test(values.text)) throw new UsageError('--text needs at least one word to look for');
  parseDevice(values.device);
  return {
    limit,
    minScore,
    filters,
    cutoff: !values.all,
    exact: values.exact,
    model: values.model,
    precision: parsePrecision(values.precision),
    ...(values.text !== undefined ? { text: values.text } : {}),
  };
}

export function hitJson(h: SearchHit): Record<string, unknown> {
  return { path: h.path, score: round(h.score), sha256: h.sha256, contentId: h.contentId, paths: h.paths, ...snippetJson(h.ocrSnippet) };
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

/** The human table: score, then path; other paths of the same image indented below it. */
export function printHits(io: CliIo, r: SearchResponse): void {
  if (r.hits.length > 0) {
    const lines = ['score   path'];
    for (const h of r.hits) {
      lines.push(`${h.score.toFixed(3).padStart(6)}  ${safe(h.path)}`);
      for (const other of h.paths.slice(1)) lines.push(`        ${safe(other)}  (same image)`);
      if (h.ocrSnippet) lines.push(`        “${snippetLine(h.ocrSnippet)}”`);
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
triagem search --text "<words>" ["<query>"] [options]

Finds images by description, in any language the model knows ("ônibus queimado perto da ponte"),
and by the text inside them (--text, after \`triagem index --ocr\`): alone, best text match first;
with a query, the images holding the words, ranked by the description ("documento" --text petrobras).

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

/** `--text` without a description: full-text search over the recognised text, no model needed. */
function searchTextOnly(app: Parameters<typeof searchImageTextOnly>[0], opts: SearchOptions, json: boolean, io: CliIo): number {
  const text = opts.text as string;
  const r = searchImageTextOnly(app, text, { limit: opts.limit, filters: opts.filters });
  if (r.textRead === 0) io.err('no text has been read in this library yet: run `triagem index --ocr <folder>` first');
  if (json) {
    io.out(JSON.stringify({ query: null, text, results: r.hits.map(hitJson), matched: r.matched, considered: r.considered, tookMs: Math.round(r.tookMs) }));
    return 0;
  }
  if (r.hits.length > 0) {
    const lines = ['match   path'];
    for (const h of r.hits) {
      lines.push(`${h.score.toFixed(2).padStart(6)}  ${safe(h.path)}`);
      for (const other of h.paths.slice(1)) lines.push(`        ${safe(other)}  (same image)`);
      if (h.ocrSnippet) lines.push(`        “${snippetLine(h.ocrSnippet)}”`);
    }
    io.out(lines.join('\n'));
  }
  io.err(`${r.hits.length} result${r.hits.length === 1 ? '' : 's'}; ${r.matched} image${r.matched === 1 ? '' : 's'} hold the words; ${Math.round(r.tookMs)} ms`);
  return 0;
}

export const searchCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, QUERY_OPTIONS);
    if (positionals.length === 0 && values.text === undefined) throw new UsageError('give a query: triagem search "burned bus near the bridge" (or --text "<words>")');
    const query = positionals.join(' ');
    if (positionals.length > 0 && !query.trim()) throw new UsageError('the query is empty');
    const opts = queryOptions(values);
    if (positionals.length === 0) return withApp(values, async (app) => searchTextOnly(app, opts, values.json ?? false, io));
    return withApp(values, async (app) => {
      let response;
      try {
        response = await searchText(app, query, opts);
      } catch (err) {
        if (err instanceof TriagemError && err.code === 'bad-query') throw new UsageError(err.message);
        throw err;
      }
      reportModel(io, response.model, values.verbose);
      if (values.json) {
        io.out(
          JSON.stringify({
            query,
            ...(opts.text !== undefined ? { text: opts.text } : {}),
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
