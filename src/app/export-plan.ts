// Export from the window: a label, the reviewed result or a selection, copied or moved into label
// folders (or only listed in a CSV). The plan is shown first — every file's target name and every
// name clash — and the export itself goes through the engine's journaled copy/move, so one click
// undoes it. Photos flagged "reject" and copies set aside in duplicate review stay out unless asked.

import fs from 'node:fs';
import path from 'node:path';
import { TriagemError } from '../engine/errors.js';
import { exportSorted } from '../engine/export/export.js';
import { isInside } from '../engine/export/files.js';
import { labelFolderName, labelFolders, numberedName } from '../engine/export/names.js';
import type { FileRecord, Library } from '../engine/library/library.js';
import { UNSURE_LABEL } from '../engine/sort/labels.js';
import type { SortedFile } from '../engine/sort/sort.js';
import { currentRunId } from './browse.js';
import type { AppContext } from './context.js';
import { RESULTS_CSV, checkDestination, writeResultsCsv, type Failure } from './sorting.js';

export type ExportScope =
  | { kind: 'label'; label: string; runId?: number }
  | { kind: 'reviewed'; runId?: number }
  | { kind: 'selection'; fileIds: readonly number[]; folder: string };

export type PlanOperation = 'copy' | 'move' | 'csv';

export interface ExportPlanInput {
  scope: ExportScope;
  destination: string;
  operation: PlanOperation;
  /** Also export photos flagged "reject" and copies set aside in duplicate review. */
  includeSetAside?: boolean;
}

export type Clash = 'exists' | 'same-name';

export interface PlannedFile {
  fileId: number;
  from: string;
  to: string;
  label: string;
  /** Why `to` is not the original name: a file of that name is already there, or another photo of this export has it. */
  clash: Clash | null;
}

export interface ExportPlan {
  destination: string;
  operation: PlanOperation;
  folders: { label: string; folder: string; files: number }[];
  items: PlannedFile[];
  clashes: number;
  /** Files the scope holds that stay out (flagged reject, set aside as duplicate copies). */
  leftOut: number;
  /** Files already inside one of the label folders (an earlier export), left where they are. */
  alreadyThere: number;
  bytes: number;
  csv: string;
}

const CHUNK = 500;

function records(library: Library, fileIds: readonly number[]): Map<number, FileRecord> {
  const out = new Map<number, FileRecord>();
  for (let i = 0; i < fileIds.length; i += CHUNK) {
    const part = fileIds.slice(i, i + CHUNK);
    for (const r of library.filesByIds(part, { present: true })) out.set(r.id, r);
  }
  return out;
}

interface Selected {
  results: SortedFile[];
  fileIds: number[];
  /** Label order, which fixes folder names as the engine will make them. */
  labels: string[];
  leftOut: number;
}

function select(app: AppContext, scope: ExportScope, includeSetAside: boolean): Selected {
  const library = app.library('read');
  const browse = library.browse;
  let wanted: number[];
  let all: number[];
  let runId: number | undefined;
  let labelOf: (item: { fileId: number; mark: { label: string | null } | null }) => string;
  if (scope.kind === 'selection') {
    const folder = scope.folder.normalize('NFC').trim();
    if (!folder) throw new TriagemError('give the selection a folder name', 'usage');
    all = [...new Set(scope.fileIds)];
    const setAside = new Set(includeSetAside ? [] : browse.fileIds({ sort: 'path', flag: 'reject' }));
    const trashed = includeSetAside ? new Map() : library.duplicateDecisions.choices(all);
    wanted = all.filter((id) => !setAside.has(id) && trashed.get(id) !== 'trash');
    labelOf = () => folder;
  } else {
    runId = currentRunId(library, scope.runId);
    if (scope.kind === 'label') {
      if (runId === undefined) throw new TriagemError('nothing has been sorted yet; sort before exporting a label', 'not-found');
      const base = { sort: 'path' as const, runId, finalLabel: scope.label };
      all = browse.fileIds(base);
      wanted = includeSetAside ? all : browse.fileIds({ ...base, excludeSetAside: true });
      labelOf = () => scope.label;
    } else {
      all = browse.fileIds({ sort: 'path', confirmed: true });
      wanted = includeSetAside ? all : browse.fileIds({ sort: 'path', confirmed: true, excludeSetAside: true });
      labelOf = (item) => item.mark?.label ?? UNSURE_LABEL;
    }
  }
  const files = records(library, wanted);
  const items = browse.items(wanted, runId);
  const results: SortedFile[] = [];
  const labels: string[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const file = files.get(item.fileId);
    if (!file) continue;
    const label = labelOf(item);
    if (!seen.has(label)) {
      seen.add(label);
      labels.push(label);
    }
    const score = item.suggestion && item.suggestion.best === label ? item.suggestion.score : 0;
    results.push({ file, label, score, scores: { [label]: score } });
  }
  return { results, fileIds: results.map((r) => r.file.id), labels, leftOut: all.length - results.length };
}

function existingNames(dir: string): Set<string> {
  try {
    return new Set(fs.readdirSync(dir).map((n) => n.toLowerCase()));
  } catch {
    return new Set();
  }
}

/** The results CSV's name, as writeResultsCsv will pick it. */
function csvTarget(destination: string): string {
  for (let n = 0; ; n++) {
    const file = path.join(destination, numberedName(RESULTS_CSV, n));
    if (!fs.existsSync(file)) return file;
  }
}

/** The engine's folder list: our labels plus "unsure", which it always reserves a name for. */
function folderLabels(labels: readonly string[]): string[] {
  return labels.includes(UNSURE_LABEL) ? [...labels] : [...labels, UNSURE_LABEL];
}

function plan(selected: Selected, destination: string, operation: PlanOperation): ExportPlan {
  const folders = labelFolders(folderLabels(selected.labels));
  const taken = new Map<string, { existing: Set<string>; used: Set<string> }>();
  const labelDirs = [...folders.values()].map((name) => path.join(destination, name));
  const items: PlannedFile[] = [];
  const counts = new Map<string, number>();
  let alreadyThere = 0;
  let bytes = 0;
  for (const r of selected.results) {
    if (labelDirs.some((dir) => isInside(r.file.path, dir))) {
      alreadyThere++;
      continue;
    }
    const folder = folders.get(r.label) ?? labelFolderName(r.label);
    const dir = path.join(destination, folder);
    let names = taken.get(dir);
    if (!names) {
      names = { existing: operation === 'csv' ? new Set() : existingNames(dir), used: new Set() };
      taken.set(dir, names);
    }
    const base = path.basename(r.file.path);
    let name = base;
    for (let n = 1; names.existing.has(name.toLowerCase()) || names.used.has(name.toLowerCase()); n++) name = numberedName(base, n);
    names.used.add(name.toLowerCase());
    const clash: Clash | null = name === base ? null : names.existing.has(base.toLowerCase()) ? 'exists' : 'same-name';
    items.push({ fileId: r.file.id, from: r.file.path, to: operation === 'csv' ? r.file.path : path.join(dir, name), label: r.label, clash: operation === 'csv' ? null : clash });
    counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    bytes += r.file.size;
  }
  return {
    destination,
    operation,
    folders: selected.labels.map((label) => ({ label, folder: folders.get(label) ?? labelFolderName(label), files: counts.get(label) ?? 0 })),
    items,
    clashes: items.filter((i) => i.clash !== null).length,
    leftOut: selected.leftOut,
    alreadyThere,
    bytes,
    csv: csvTarget(destination),
  };
}

/** What an export would write, with every name clash; nothing is touched. */
export function planExport(app: AppContext, input: ExportPlanInput): ExportPlan {
  const destination = checkDestination(input.destination);
  return plan(select(app, input.scope, input.includeSetAside ?? false), destination, input.operation);
}

export interface PlanExportOutcome {
  destination: string;
  operation: PlanOperation;
  journal: string | null;
  csv: string;
  done: number;
  skipped: number;
  failed: Failure[];
}

export async function runExportPlan(app: AppContext, input: ExportPlanInput & { signal?: AbortSignal; onProgress?: (done: number, total: number, current: string) => void }): Promise<PlanExportOutcome> {
  const destination = checkDestination(input.destination);
  const selected = select(app, input.scope, input.includeSetAside ?? false);
  if (selected.results.length === 0) throw new TriagemError('there is nothing to export here', 'usage');
  fs.mkdirSync(destination, { recursive: true });
  const summary =
    input.operation === 'csv'
      ? null
      : await exportSorted({
          results: selected.results,
          labels: folderLabels(selected.labels),
          destination,
          operation: input.operation,
          library: app.library('write'),
          signal: input.signal,
          onProgress: input.onProgress,
        });
  const csv = await writeResultsCsv([], selected.results, { destination, journal: summary?.journal });
  // A moved file's library row now points at its new path: search must not offer the old one.
  if (input.operation === 'move') app.invalidateSearch();
  return {
    destination,
    operation: input.operation,
    journal: summary?.journal ?? null,
    csv,
    done: summary ? summary.exported.length : selected.results.length,
    skipped: summary?.skippedInLabelFolders.length ?? 0,
    failed: summary?.failed ?? [],
  };
}
