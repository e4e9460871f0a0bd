import fsp from 'node:fs/promises';
import path from 'node:path';

/** True when `err` is a Node system error with one of `codes` (ENOENT, EEXIST, …). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as NodeJS.ErrnoException | null | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

/**
 * Whether something (a file, a folder, a link — even a dangling one) is at `p`. Only "nothing is
 * there" answers false; any other failure (permission, I/O) is thrown rather than read as absence,
 * because callers use the answer to decide whether they may create or replace.
 */
export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
    throw err;
  }
}

/**
 * True when `inner` is `outer` or lies below it, comparing resolved paths only (no file system
 * access): `/a/b/c` is inside `/a/b`, `/a/bc` is not, `/a/b/../c` is not. Links are not followed;
 * use isInsideReal where a link could lead out of (or into) `outer`.
 */
export function isInside(inner: string, outer: string): boolean {
  const rel = path.relative(path.resolve(outer), path.resolve(inner));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of `p` with every link resolved. A path that does not exist (yet) resolves through
 * its deepest existing ancestor, so a file about to be created is placed where it would really land.
 */
export async function realPathOrAncestor(p: string): Promise<string> {
  const abs = path.resolve(p);
  const missing: string[] = [];
  for (let at = abs; ; ) {
    try {
      return path.join(await fsp.realpath(at), ...missing.reverse());
    } catch (err) {
      const parent = path.dirname(at);
      if (!isErrno(err, 'ENOENT', 'ENOTDIR') || parent === at) throw err;
      missing.push(path.basename(at));
      at = parent;
    }
  }
}

/** isInside after resolving links in both paths: a link under `outer` that points elsewhere is outside. */
export async function isInsideReal(inner: string, outer: string): Promise<boolean> {
  const [a, b] = await Promise.all([realPathOrAncestor(inner), realPathOrAncestor(outer)]);
  return isInside(a, b);
}
