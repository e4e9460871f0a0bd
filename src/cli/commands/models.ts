import { UsageError } from '../../engine/errors.js';
import { ModelManager, type DownloadProgress, type ModelListEntry } from '../../engine/models/manager.js';
import { PRECISIONS, type Precision } from '../../engine/models/types.js';
import { resolveModelsDir } from '../../engine/paths.js';
import { formatBytes, formatDuration } from '../../engine/util/format.js';
import { parse, type CliIo, type Command, type OptionSpec } from '../command.js';

const BASE_OPTIONS = {
  'models-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpec;

function manager(modelsDirFlag: string | undefined): ModelManager {
  return new ModelManager(resolveModelsDir(modelsDirFlag));
}

function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`missing <${what}>`);
  if (positionals.length > 1) throw new UsageError(`expected one <${what}>, got ${positionals.length}: ${positionals.join(' ')}`);
  return positionals[0];
}

function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

export function formatProgress(p: DownloadProgress): string {
  if (p.phase === 'validating') return `${p.id}: checking the downloaded model…`;
  const pct = p.bytesTotal ? `${((100 * p.bytesDone) / p.bytesTotal).toFixed(1).padStart(5)}%` : '    ?%';
  const amount = p.bytesTotal ? `${formatBytes(p.bytesDone)} / ${formatBytes(p.bytesTotal)}` : formatBytes(p.bytesDone);
  const rate = p.rate > 0 ? `${formatBytes(p.rate)}/s` : '–';
  const eta = p.etaSeconds !== undefined ? `ETA ${formatDuration(p.etaSeconds)}` : 'ETA –';
  return `${p.id} ${pct}  ${amount}  ${rate}  ${eta}  [${p.fileIndex + 1}/${p.fileCount}] ${p.file}`;
}

/**
 * On a terminal the line is redrawn in place (cursor up + clear, since io.err always ends lines);
 * elsewhere (logs, CI) a line is written per file and every 10 % or 30 s, so logs stay short.
 */
function progressPrinter(io: CliIo): { update: (p: DownloadProgress) => void; finish: () => void } {
  let drawn = false;
  let lastLine = 0;
  let lastPct = -1;
  let lastFile = -1;
  let lastPhase = '';
  return {
    update(p) {
      const line = formatProgress(p);
      if (io.isTty) {
        io.err(`${drawn ? '\x1b[1A\x1b[2K' : ''}${line}`);
        drawn = true;
        return;
      }
      const now = Date.now();
      const pct = p.bytesTotal ? Math.floor((10 * p.bytesDone) / p.bytesTotal) : -1;
      if (p.fileIndex !== lastFile || p.phase !== lastPhase || pct !== lastPct || now - lastLine > 30_000) {
        io.err(line);
        lastLine = now;
        lastPct = pct;
        lastFile = p.fileIndex;
        lastPhase = p.phase;
      }
    },
    finish() {
      drawn = false;
    },
  };
}

function listTable(rows: ModelListEntry[], modelsDir: string): string {
  const table = rows.map((r) => {
    const installed = r.installed ? (r.installedPrecisions.length ? r.installedPrecisions.join(',') : 'yes') : '-';
    const precision = r.defaultPrecision ?? r.installedPrecisions[0];
    const download = precision ? r.downloadBytes[precision] : undefined;
    const size = r.installedBytes !== undefined ? formatBytes(r.installedBytes) : download ? `${download.exact ? '' : '~'}${formatBytes(download.bytes)}` : '?';
    return [
      `${r.id}${r.default ? ' *' : ''}`,
      installed,
      r.inCatalog ? 'catalog' : (r.source ?? ''),
      size,
      r.languages.join(',') || '?',
      r.problem ? `${r.name} — PROBLEM: ${r.problem}` : r.name,
    ];
  });
  const header = ['ID', 'INSTALLED', 'SOURCE', 'SIZE', 'LANG', 'NAME'];
  // SIZE: installed size, else the download size of the default precision (~ when partly unknown).
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [fmt(header), ...table.map(fmt), '', `* default model. Models folder: ${modelsDir}`].join('\n');
}

const listCommand: Command = {
  name: 'models list',
  summary: 'List catalog models and installed models',
  usage: 'triagem models list [--models-dir <dir>] [--json]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, BASE_OPTIONS);
    if (positionals.length) throw new UsageError(`unexpected argument: ${positionals.join(' ')}`);
    const mm = manager(values['models-dir']);
    const models = await mm.list();
    if (values.json) printJson(io, { modelsDir: mm.modelsDir, models });
    else io.out(listTable(models, mm.modelsDir));
    return 0;
  },
};

const concretePrecisions = PRECISIONS.filter((p) => p !== 'auto');

const downloadCommand: Command = {
  name: 'models download',
  summary: 'Download a catalog model (resumable; verified against pinned checksums)',
  usage: `triagem models download <id> [--precision ${concretePrecisions.join('|')}] [--force] [--models-dir <dir>] [--json]`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...BASE_OPTIONS, precision: { type: 'string' }, force: { type: 'boolean', default: false } });
    const id = onePositional(positionals, 'id');
    const precision = values.precision;
    if (precision !== undefined && !(PRECISIONS as readonly string[]).includes(precision)) {
      throw new UsageError(`--precision must be one of ${PRECISIONS.join(', ')}, got "${precision}"`);
    }
    const mm = manager(values['models-dir']);
    const printer = progressPrinter(io);
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const result = await mm.download(id, {
        precision: precision as Precision | undefined,
        force: values.force,
        signal: controller.signal,
        onProgress: printer.update,
      });
      printer.finish();
      if (values.json) {
        printJson(io, result);
      } else if (result.alreadyInstalled) {
        io.out(`${id} is already installed (${result.precisions.join(', ')}) in ${result.dir}`);
      } else {
        io.out(`Installed ${id} (${result.precisions.join(', ')}) in ${result.dir}; downloaded ${formatBytes(result.bytesDownloaded)}`);
      }
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

const importCommand: Command = {
  name: 'models import',
  summary: 'Validate a local model folder (transformers.js or Immich layout) and copy it into the models folder',
  usage: 'triagem models import <folder> [--id <id>] [--force] [--models-dir <dir>] [--json]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...BASE_OPTIONS, id: { type: 'string' }, force: { type: 'boolean', default: false } });
    const folder = onePositional(positionals, 'folder');
    const mm = manager(values['models-dir']);
    if (!values.json) io.err(`Checking ${folder}…`);
    const result = await mm.import(folder, { id: values.id, force: values.force });
    if (values.json) printJson(io, result);
    else io.out(`Imported ${result.id} (${result.manifest.family}, ${result.manifest.layout} layout, ${result.precisions.join(', ')}) into ${result.dir}`);
    return 0;
  },
};

const verifyCommand: Command = {
  name: 'models verify',
  summary: 'Re-hash an installed model against its manifest',
  usage: 'triagem models verify <id> [--models-dir <dir>] [--json]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, BASE_OPTIONS);
    const id = onePositional(positionals, 'id');
    const result = await manager(values['models-dir']).verify(id);
    if (values.json) printJson(io, result);
    else if (result.ok) io.out(`${id}: all ${result.checked} files match`);
    else {
      for (const p of result.problems) {
        const detail = p.problem === 'missing' ? 'missing' : `${p.problem} differs (expected ${p.expected}, got ${p.actual})`;
        io.err(`${result.dir}/${p.path}: ${detail}`);
      }
      io.err(`${id}: ${result.problems.length} of ${result.checked} files are bad; run "triagem models download ${id}" or re-import it`);
    }
    return result.ok ? 0 : 1;
  },
};

const removeCommand: Command = {
  name: 'models remove',
  summary: 'Delete an installed model',
  usage: 'triagem models remove <id> [--models-dir <dir>] [--json]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, BASE_OPTIONS);
    const id = onePositional(positionals, 'id');
    const result = await manager(values['models-dir']).remove(id);
    if (values.json) printJson(io, { removed: true, ...result });
    else io.out(`Removed ${id} (${result.dir})`);
    return 0;
  },
};

const modelsHelp: Command = {
  name: 'models',
  summary: 'Manage models: list, download, import, verify, remove',
  usage: 'triagem models <list|download|import|verify|remove> [options]',
  async run(argv) {
    throw new UsageError(argv.length ? `unknown models subcommand "${argv[0]}"` : 'missing subcommand');
  },
};

export const MODELS_COMMANDS: Command[] = [listCommand, downloadCommand, importCommand, verifyCommand, removeCommand, modelsHelp];
