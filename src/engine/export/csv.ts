import path from 'node:path';
import type { SortedFile } from '../sort/sort.js';

/** RFC 4180: quote a field holding a comma, quote, CR or LF (or edge spaces, which tools trim); double inner quotes. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRow(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

function score(n: number): string {
  return n.toFixed(6);
}

/**
 * Results as CSV. The first three columns are Smart Image Sorter's (`image_name,label,score`), so
 * scripts written for it keep working; then the full path, the content hash, and one
 * `score:<label>` column per label. UTF-8, CRLF line ends, no BOM.
 */
export function resultsCsv(labels: readonly string[], results: readonly SortedFile[]): string {
  const parts = [csvRow(['image_name', 'label', 'score', 'path', 'sha256', ...labels.map((l) => `score:${l}`)])];
  for (const r of results) {
    parts.push(
      csvRow([
        path.basename(r.file.path),
        r.label,
        score(r.score),
        r.file.path,
        r.file.sha256,
        ...labels.map((l) => score(r.scores[l] ?? 0)),
      ]),
    );
  }
  return parts.join('');
}
