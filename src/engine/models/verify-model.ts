import fsp from 'node:fs/promises';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { sha256File } from '../util/hash.js';
import { MANIFEST_FILE } from './layout.js';
import { readManifest } from './manifest.js';

export interface VerifyProblem {
  path: string;
  problem: 'missing' | 'size' | 'sha256' | 'unreadable';
  expected?: string;
  actual?: string;
}

export interface VerifyResult {
  id: string;
  dir: string;
  ok: boolean;
  checked: number;
  problems: VerifyProblem[];
}

/** Re-hashes every file an installed model's manifest lists and reports each one that is missing or changed. */
export async function verifyModel(id: string, dir: string): Promise<VerifyResult> {
  const manifest = readManifest(dir);
  if (!manifest) {
    throw new TriagemError(`no ${MANIFEST_FILE}: this folder was not installed by triagem, so there is nothing to verify against; import it with "triagem models import"`, 'no-manifest', dir);
  }
  const problems: VerifyProblem[] = [];
  for (const f of manifest.files) {
    const file = path.join(dir, f.path);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch {
      problems.push({ path: f.path, problem: 'missing' });
      continue;
    }
    if (size !== f.size) {
      problems.push({ path: f.path, problem: 'size', expected: String(f.size), actual: String(size) });
      continue;
    }
    try {
      const sha256 = await sha256File(file);
      if (sha256 !== f.sha256) problems.push({ path: f.path, problem: 'sha256', expected: f.sha256, actual: sha256 });
    } catch (err) {
      problems.push({ path: f.path, problem: 'unreadable', actual: errorMessage(err) });
    }
  }
  return { id, dir, ok: problems.length === 0, checked: manifest.files.length, problems };
}
