import path from 'node:path';
import type { SortedFile } from '../sort/sort.js';

/** RFC 4180: quote a field holding a comma, quote, CR or LF (or edge spaces, which tools trim); double inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

// Spreadsheets run a cell starting with one of these as a formula (=HYPERLINK(...) leaking data,
// =cmd|... on old Excel). File names and labels in scraped material are chosen by whoever posted
// them, so every text cell is made inert (OWASP "CSV Injection"), also behind leading spaces.
const FORMULA_START = /^[\s]*[=+\-@\t\r]/;

/** A text cell a spreadsheet shows as text: a leading `'` when it would start a formula. */
export function inertText(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function score(n: number): string {
  return n.toFixed(6);
}

/**
 * Results as CSV. The first three columns are Smart Image Sorter's (`image_name,label,score`), so
 * scripts written for it keep working; then the full path, the content hash, and one
 * `score:<label>` column per label. UTF-8, CRLF line ends, no BOM. Text cells that would start a
 * formula get a leading `'` (see `inertText`); numbers are written as they are.
 */
export function resultsCsv(labels: readonly string[], results: readonly SortedFile[]): string {
  const parts = [csvRow(['image_name', 'label', 'score', 'path', 'sha256', ...labels.map((l) => `score:${l}`)])];
  for (const r of results) {
    parts.push(
      csvRow([
        inertText(path.basename(r.file.path)),
        inertText(r.label),
        score(r.score),
        inertText(r.file.path),
        r.file.sha256,
        ...labels.map((l) => score(r.scores[l] ?? 0)),
      ]),
    );
  }
  return parts.join('');
}
