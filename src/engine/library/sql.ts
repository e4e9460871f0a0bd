import path from 'node:path';

/**
 * SQL for "`column` is one of these folders or lies below one", as a prefix comparison rather than
 * LIKE (paths may contain % and _). The prefix length is measured by SQLite itself: JS counts
 * UTF-16 units, SQLite characters, and the two differ for names with emoji.
 */
export function underFolders(column: string, folders: readonly string[], params: unknown[]): string {
  const parts = folders.map((f) => {
    const dir = path.resolve(f);
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    params.push(dir, prefix, prefix);
    return `(${column} = ? OR substr(${column}, 1, length(?)) = ?)`;
  });
  return `(${parts.join(' OR ')})`;
}
