import type { Statement } from 'better-sqlite3';
import type { Connection } from './sqlite.js';

/**
 * Prepared statements of one connection, each prepared the first time it runs and reused after.
 * Lazily, not up front: a library opened for reading may predate a table some statement names.
 * pluck() and raw() change how a statement returns rows, so each shape is cached apart.
 */
export class Statements {
  private readonly cache = new Map<string, Statement>();

  constructor(readonly db: Connection) {}

  /** Rows as objects keyed by column name; also for statements that return nothing. */
  rows(sql: string): Statement {
    return this.cached('o', sql, (s) => s);
  }

  /** The first column of each row. */
  pluck(sql: string): Statement {
    return this.cached('p', sql, (s) => s.pluck());
  }

  /** Rows as arrays, in column order. */
  raw(sql: string): Statement {
    return this.cached('r', sql, (s) => s.raw());
  }

  /** Runs `fn` in one transaction (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  private cached(shape: string, sql: string, configure: (s: Statement) => Statement): Statement {
    const key = shape + sql;
    let stmt = this.cache.get(key);
    if (!stmt) {
      stmt = configure(this.db.prepare(sql));
      this.cache.set(key, stmt);
    }
    return stmt;
  }
}
