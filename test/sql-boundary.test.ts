// Only src/engine/library/ speaks SQL: no other source file prepares statements, sets pragmas,
// reaches for a raw connection, imports the SQLite bindings or holds SQL text.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
const LIBRARY = path.join(SRC, 'engine', 'library') + path.sep;

/**
 * Still preparing their own statements through the deprecated `Library.db`, until the vector-index
 * work moves them behind Library methods (then this list empties and `Library.db` goes).
 */
const TRANSITIONAL = new Set<string>();

const SQL_SIGNS: [string, RegExp][] = [
  ['prepares a statement', /\.prepare\(/],
  ['sets a pragma', /\.pragma\(/],
  ['runs SQL text', /\bdb\.exec\(/],
  ['uses a raw connection', /[\w)]\.db\b/],
  ['imports the SQLite bindings', /from ['"](better-sqlite3|sqlite-vec)['"]/],
  ['holds SQL text', /[`'"]\s*(SELECT\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|VIRTUAL\s+TABLE)\s)/],
];

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

describe('the SQL boundary', () => {
  it('no file outside src/engine/library/ speaks SQL', () => {
    const found: string[] = [];
    for (const file of sources(SRC)) {
      const rel = path.relative(SRC, file).split(path.sep).join('/');
      if (file.startsWith(LIBRARY) || TRANSITIONAL.has(rel)) continue;
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          for (const [what, sign] of SQL_SIGNS) if (sign.test(line)) found.push(`src/${rel}:${i + 1} ${what}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it('would notice each kind of SQL outside the library', () => {
    const samples = [
      "const s = library.db.prepare('SELECT 1');",
      "db.pragma('journal_mode = WAL');",
      'db.exec(`CREATE TABLE x (a)`);',
      'const rows = lib().db;',
      "import Database from 'better-sqlite3';",
      "run('INSERT OR IGNORE INTO tags(content_id, tag) VALUES (?, ?)');",
      "run('DELETE FROM tags WHERE tag = ?');",
    ];
    for (const line of samples) expect(SQL_SIGNS.some(([, sign]) => sign.test(line)), line).toBe(true);
    for (const line of ['const m = DATE.exec(text);', 'await guard(() => prepare(item));', "io.out('select a folder');", 'library.transaction(() => 1);']) {
      expect(SQL_SIGNS.some(([, sign]) => sign.test(line)), line).toBe(false);
    }
  });
});
