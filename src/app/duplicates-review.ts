// Reviewing duplicate groups one at a time, Immich-style, except that nothing is ever deleted: the
// copies a person sets aside are only left out of exports, and "not duplicates" is remembered so the
// group is not offered again.

import { TriagemError } from '../engine/errors.js';
import type { DuplicateChoice } from '../engine/library/duplicate-decisions.js';
import type { FileRecord } from '../engine/library/library.js';
import type { AppContext } from './context.js';
import type { ModelRequest } from './model-choice.js';
import { findDuplicates } from './searching.js';

export interface ReviewFile {
  file: FileRecord;
  choice: DuplicateChoice | null;
}

export interface ReviewGroup {
  /** The group's file ids, sorted: what "not duplicates" remembers. */
  key: string;
  kind: 'exact' | 'near';
  similarity: number;
  /** Largest image, then earliest capture, then earliest file. */
  suggested: number;
  /** Every file has a choice. */
  resolved: boolean;
  files: ReviewFile[];
}

export interface DuplicatesReview {
  groups: ReviewGroup[];
  threshold: number;
  /** Groups hidden because a person said they are not duplicates. */
  dismissed: number;
  /** Groups hidden because every file has a choice (shown with includeResolved). */
  resolved: number;
}

export async function reviewDuplicates(app: AppContext, input: ModelRequest & { threshold?: number; includeResolved?: boolean } = {}): Promise<DuplicatesReview> {
  const report = await findDuplicates(app, { model: input.model, precision: input.precision, threshold: input.threshold });
  const decisions = app.library('read').duplicateDecisions;
  const dismissals = decisions.dismissals();
  const choices = decisions.choices(report.groups.flatMap((g) => g.files.map((f) => f.id)));
  let dismissed = 0;
  let resolved = 0;
  const groups: ReviewGroup[] = [];
  for (const g of report.groups) {
    const ids = g.files.map((f) => f.id).sort((a, b) => a - b);
    if (dismissals.some((set) => ids.every((id) => set.has(id)))) {
      dismissed++;
      continue;
    }
    const files = g.files.map((file) => ({ file, choice: choices.get(file.id) ?? null }));
    const done = files.every((f) => f.choice !== null);
    if (done) resolved++;
    if (done && !input.includeResolved) continue;
    groups.push({ key: JSON.stringify(ids), kind: g.kind, similarity: g.similarity, suggested: g.representative.id, resolved: done, files });
  }
  return { groups, threshold: report.threshold, dismissed, resolved };
}

export type DuplicateDecision =
  | { action: 'resolve'; keep: readonly number[]; trash: readonly number[] }
  | { action: 'not-duplicates'; fileIds: readonly number[] }
  | { action: 'reset'; fileIds: readonly number[] };

export function decideDuplicates(app: AppContext, decision: DuplicateDecision): { files: number } {
  const library = app.library('write');
  const decisions = library.duplicateDecisions;
  const ids = decision.action === 'resolve' ? [...decision.keep, ...decision.trash] : [...decision.fileIds];
  if (ids.length === 0) throw new TriagemError('no files given', 'usage');
  const known = new Set(library.filesByIds(ids).map((f) => f.id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) throw new TriagemError(`no file with id ${unknown.join(', ')} in the library`, 'not-found');
  if (decision.action === 'resolve') {
    const both = decision.keep.filter((id) => decision.trash.includes(id));
    if (both.length) throw new TriagemError(`file ${both[0]} cannot be both kept and set aside`, 'usage');
    decisions.choose([...decision.keep.map((fileId) => ({ fileId, choice: 'keep' as const })), ...decision.trash.map((fileId) => ({ fileId, choice: 'trash' as const }))]);
  } else if (decision.action === 'not-duplicates') {
    if (ids.length < 2) throw new TriagemError('a group has at least two files', 'usage');
    decisions.clear(ids);
    decisions.dismiss(ids);
  } else {
    decisions.clear(ids);
    decisions.undismiss(ids);
  }
  return { files: ids.length };
}
