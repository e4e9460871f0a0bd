import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { extensionOf, isImageExtension } from '../images/formats.js';
import { UNSURE_LABEL } from '../sort/labels.js';
import { decodeCsvBytes, parseCsv, type CsvRecord } from './csv-read.js';

/** Something wrong with one row or file of a label source; the rest of the source is still used. */
export interface LabelProblem {
  /** The CSV or folder the problem is in (with `line` for a CSV row). */
  file: string;
  line?: number;
  message: string;
}

/**
 * Labels given to files, from a CSV (`path,label`) or a folder tree (one folder per label). Paths are
 * absolute: relative ones in a CSV are resolved against the CSV's own folder, so the file can travel
 * with the photos it describes.
 */
export interface LabelSet {
  source: string;
  kind: 'csv' | 'folders';
  /** Every label in the source, in order of first appearance (CSV) or folder name (tree). */
  labels: string[];
  /** Absolute path → label. */
  entries: Map<string, string>;
  problems: LabelProblem[];
}

/** One row of a predictions CSV, e.g. the results CSV that `triagem sort` writes. */
export interface Prediction {
  path: string;
  /** As written: one of the labels or `unsure`. */
  label: string;
  /** The best label's score, when the CSV has one. */
  score: number | null;
  /** The best-scoring label: `label`, or for an `unsure` row the argmax of its `score:<label>` columns. */
  top: string;
  sha256: string | null;
}

export interface PredictionSet {
  source: string;
  labels: string[];
  entries: Map<string, Prediction>;
  problems: LabelProblem[];
}

/**
 * What the labels are for. Ground truth has no "unsure": an image a person left in the `unsure`
 * bucket (or folder) has no known label, so it is left out and said so. An annotator's own
 * "unsure" is a label like any other when comparing two annotators.
 */
export type LabelRole = 'truth' | 'annotations';

const PATH_COLUMNS = ['path', 'file', 'filename', 'arquivo', 'caminho', 'image_path', 'image', 'image_name'];
const LABEL_COLUMNS = ['label', 'class', 'classe', 'category', 'categoria', 'rotulo', 'rótulo'];

/** A CSV file or a folder tree, by what `source` is. */
export function readLabels(source: string, role: LabelRole): LabelSet {
  const abs = path.resolve(source);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    throw new TriagemError(`cannot read labels: ${errorMessage(err)}`, 'labels-unreadable', abs);
  }
  return st.isDirectory() ? readLabelTree(abs, role) : readLabelCsv(abs, role);
}

function readRecords(file: string): CsvRecord[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new TriagemError(`cannot read: ${errorMessage(err)}`, 'labels-unreadable', file);
  }
  const records = parseCsv(decodeCsvBytes(bytes, file), file);
  if (records.length === 0) throw new TriagemError('is empty: expected rows of path,label', 'labels-empty', file);
  return records;
}

interface Columns {
  path: number;
  label: number;
  score: number;
  sha256: number;
  /** `score:<label>` columns of a results CSV. */
  scores: { label: string; index: number }[];
  /** Rows start after the header, if there is one. */
  firstRow: number;
}

/**
 * A first row naming a path and a label column is a header; a first row naming neither is data
 * (`path,label[,score]` by position). Naming only one of the two is a mistake worth stopping for.
 */
function findColumns(file: string, first: CsvRecord): Columns {
  const names = first.fields.map((f) => f.trim().toLowerCase());
  const pick = (wanted: readonly string[]) => {
    for (const w of wanted) {
      const i = names.indexOf(w);
      if (i >= 0) return i;
    }
    return -1;
  };
  const p = pick(PATH_COLUMNS);
  const l = pick(LABEL_COLUMNS);
  if (p < 0 && l < 0) return { path: 0, label: 1, score: 2, sha256: -1, scores: [], firstRow: 0 };
  if (p < 0 || l < 0) {
    const missing = p < 0 ? `a path column (${PATH_COLUMNS.join(', ')})` : `a label column (${LABEL_COLUMNS.join(', ')})`;
    throw new TriagemError(`the header row has no ${missing}`, 'labels-header', `${file}:${first.line}`);
  }
  const scores = first.fields
    .map((f, index) => ({ name: f.trim(), index }))
    .filter((c) => c.name.toLowerCase().startsWith('score:'))
    .map((c) => ({ label: c.name.slice('score:'.length).normalize('NFC').trim(), index: c.index }));
  return { path: p, label: l, score: pick(['score']), sha256: pick(['sha256']), scores, firstRow: 1 };
}

interface Row {
  line: number;
  path: string;
  label: string;
  fields: string[];
}

/** Rows with a path and a label; each other row becomes a problem naming its line. */
function rows(file: string, records: CsvRecord[], cols: Columns, problems: LabelProblem[]): Row[] {
  const dir = path.dirname(file);
  const out: Row[] = [];
  for (const rec of records.slice(cols.firstRow)) {
    const need = Math.max(cols.path, cols.label) + 1;
    if (rec.fields.length < need) {
      problems.push({ file, line: rec.line, message: `expected at least ${need} fields, found ${rec.fields.length}` });
      continue;
    }
    const rawPath = rec.fields[cols.path].trim();
    const label = rec.fields[cols.label].normalize('NFC').trim();
    if (rawPath === '') {
      problems.push({ file, line: rec.line, message: 'no path' });
      continue;
    }
    if (label === '') {
      problems.push({ file, line: rec.line, message: `no label for ${rawPath}` });
      continue;
    }
    out.push({ line: rec.line, path: path.resolve(dir, rawPath), label, fields: rec.fields });
  }
  return out;
}

export function readLabelCsv(file: string, role: LabelRole): LabelSet {
  const abs = path.resolve(file);
  const records = readRecords(abs);
  const cols = findColumns(abs, records[0]);
  const problems: LabelProblem[] = [];
  const entries = new Map<string, string>();
  const lineOf = new Map<string, number>();
  const labels = new LabelOrder();
  for (const row of rows(abs, records, cols, problems)) {
    if (role === 'truth' && isUnsure(row.label)) {
      problems.push({ file: abs, line: row.line, message: `${row.path} is marked "${row.label}": no ground truth, left out` });
      continue;
    }
    const earlier = entries.get(row.path);
    if (earlier !== undefined) {
      if (earlier.toLocaleLowerCase() !== row.label.toLocaleLowerCase()) {
        problems.push({
          file: abs,
          line: row.line,
          message: `${row.path} is labelled "${row.label}" here but "${earlier}" on line ${lineOf.get(row.path)}; keeping line ${lineOf.get(row.path)}`,
        });
      }
      continue;
    }
    entries.set(row.path, labels.add(row.label));
    lineOf.set(row.path, row.line);
  }
  return { source: abs, kind: 'csv', labels: labels.list(), entries, problems };
}

/**
 * Predictions as `path,label[,score]`, or the results CSV of `triagem sort`
 * (`image_name,label,score,path,sha256,score:<label>…`), whose `path` column wins over `image_name`.
 */
export function readPredictionsCsv(file: string): PredictionSet {
  const abs = path.resolve(file);
  const records = readRecords(abs);
  const cols = findColumns(abs, records[0]);
  const problems: LabelProblem[] = [];
  const entries = new Map<string, Prediction>();
  const labels = new LabelOrder();
  for (const s of cols.scores) labels.add(s.label);
  for (const row of rows(abs, records, cols, problems)) {
    if (entries.has(row.path)) {
      problems.push({ file: abs, line: row.line, message: `${row.path} is predicted twice; keeping the first` });
      continue;
    }
    const score = cols.score >= 0 ? parseScore(row.fields[cols.score]) : null;
    if (cols.score >= 0 && score === undefined) {
      problems.push({ file: abs, line: row.line, message: `score "${row.fields[cols.score]}" is not a number; row left out` });
      continue;
    }
    let top = row.label;
    if (cols.scores.length > 0) {
      let best = -Infinity;
      for (const s of cols.scores) {
        const v = parseScore(row.fields[s.index]);
        if (v !== undefined && v !== null && v > best) {
          best = v;
          top = s.label;
        }
      }
    }
    const sha = cols.sha256 >= 0 ? (row.fields[cols.sha256] ?? '').trim().toLowerCase() : '';
    const label = isUnsure(row.label) ? UNSURE_LABEL : labels.add(row.label);
    entries.set(row.path, { path: row.path, label, score: score ?? null, top: isUnsure(top) ? UNSURE_LABEL : labels.add(top), sha256: sha === '' ? null : sha });
  }
  return { source: abs, labels: labels.list(), entries, problems };
}

/** `null` for an empty cell, `undefined` for text that is not a number. Accepts a decimal comma. */
function parseScore(raw: string | undefined): number | null | undefined {
  const text = (raw ?? '').trim();
  if (text === '') return null;
  const n = Number(text.includes('.') ? text : text.replace(',', '.'));
  return Number.isFinite(n) ? n : undefined;
}

/**
 * One folder per label below `dir`: every image at any depth inside `dir/<label>/` has that label.
 * Hidden entries are skipped, as the indexer skips them; non-image files (a results CSV, a journal)
 * are ignored; an image lying directly in `dir` belongs to no label and is reported.
 */
export function readLabelTree(dir: string, role: LabelRole): LabelSet {
  const root = path.resolve(dir);
  const problems: LabelProblem[] = [];
  const entries = new Map<string, string>();
  const labels: string[] = [];
  for (const entry of readDir(root, problems)) {
    const full = path.join(root, entry);
    const kind = kindOf(full, problems);
    if (kind === 'file') {
      if (isImageExtension(extensionOf(entry))) problems.push({ file: full, message: 'is not inside a label folder; left out' });
      continue;
    }
    if (kind !== 'dir') continue;
    const label = entry.normalize('NFC').trim();
    const images = listImages(full, problems);
    if (role === 'truth' && isUnsure(label)) {
      if (images.length > 0) problems.push({ file: full, message: `${images.length} image(s) in "${entry}" have no ground truth; left out` });
      continue;
    }
    labels.push(label);
    for (const image of images) entries.set(image, label);
  }
  if (labels.length === 0) throw new TriagemError('has no label folders: expected one folder per label', 'labels-empty', root);
  return { source: root, kind: 'folders', labels, entries, problems };
}

/** Non-hidden names in `dir`, sorted so every run reads the same order. */
function readDir(dir: string, problems: LabelProblem[]): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((name) => !name.startsWith('.'))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (err) {
    problems.push({ file: dir, message: `cannot list: ${errorMessage(err)}` });
    return [];
  }
}

/** Follows links, as the indexer does. */
function kindOf(full: string, problems: LabelProblem[]): 'file' | 'dir' | 'other' {
  try {
    const st = fs.statSync(full);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    problems.push({ file: full, message: `cannot read: ${errorMessage(err)}` });
    return 'other';
  }
}

/** Image files at any depth; each real folder entered once, so a link loop cannot hang the walk. */
function listImages(dir: string, problems: LabelProblem[], seen = new Set<string>()): string[] {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch {
    return [];
  }
  if (seen.has(real)) return [];
  seen.add(real);
  const out: string[] = [];
  for (const name of readDir(dir, problems)) {
    const full = path.join(dir, name);
    const kind = kindOf(full, problems);
    if (kind === 'dir') out.push(...listImages(full, problems, seen));
    else if (kind === 'file' && isImageExtension(extensionOf(name))) out.push(full);
  }
  return out;
}

export function isUnsure(label: string): boolean {
  return label.toLocaleLowerCase() === UNSURE_LABEL;
}

/** Labels in order of first appearance, compared as `normalizeLabels` does (case-insensitively). */
class LabelOrder {
  private readonly order: string[] = [];
  private readonly canonical = new Map<string, string>();
  /** Returns the spelling first seen for this label, so "Dia" and "dia" count as one label. */
  add(label: string): string {
    const key = label.toLocaleLowerCase();
    const known = this.canonical.get(key);
    if (known !== undefined) return known;
    this.canonical.set(key, label);
    this.order.push(label);
    return label;
  }
  list(): string[] {
    return [...this.order];
  }
}
