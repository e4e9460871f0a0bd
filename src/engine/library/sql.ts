import path from 'node:path';

export interface Clause {
  sql: string;
  params: unknown[];
}

/**
 * The one test for "`column` is one of these folders or lies anywhere below one", used by every
 * folder filter (files, failures, indexing, search).
 *
 * A byte range, not LIKE (paths hold `%` and `_`) and not a prefix length: JavaScript counts UTF-16
 * units and SQLite characters, and the two differ for names with emoji. SQLite compares text by its
 * UTF-8 bytes, so the paths that start with `dir/` are exactly those in [`dir/`, `dir0`) — the
 * separator with its last byte raised by one — whatever characters `dir` holds. It also lets SQLite
 * answer from the column's index instead of reading every row.
 */
export function underFolders(column: string, folders: readonly string[]): Clause {
  const params: unknown[] = [];
  const parts = folders.map((folder) => {
    const { dir, prefix, end } = folderRange(folder);
    params.push(dir, prefix, end);
    return `(${column} = ? OR (${column} >= ? AND ${column} < ?))`;
  });
  return { sql: parts.length ? `(${parts.join(' OR ')})` : '0', params };
}

/** The folder itself, the prefix its contents start with, and the first string past them. */
export function folderRange(folder: string): { dir: string; prefix: string; end: string } {
  const dir = path.resolve(folder);
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  const end = prefix.slice(0, -1) + String.fromCharCode(path.sep.charCodeAt(0) + 1);
  return { dir, prefix, end };
}

/** `column IN (…)` over a list bound as one JSON parameter: one statement whatever the list's length. */
export function inList(column: string, values: readonly (string | number)[]): Clause {
  return { sql: `${column} IN (SELECT value FROM json_each(?))`, params: [JSON.stringify(values)] };
}
