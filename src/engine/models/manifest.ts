import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError, errorMessage } from '../errors.js';
import { isErrno } from '../util/fs.js';
import { MODEL_ID_PATTERN, familySchema, layoutSchema, precisionSchema, scoringSchema } from './catalog.js';
import { MANIFEST_FILE } from './layout.js';

/** `triagem-model.json`: what was installed, from where, and the hashes `verify` checks against. */
export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(MODEL_ID_PATTERN),
  name: z.string().optional(),
  source: z.enum(['catalog', 'import']),
  family: familySchema,
  layout: layoutSchema,
  repo: z.string().optional(),
  revision: z.string().optional(),
  /** The folder an import was copied from, for the user's reference only. */
  imported_from: z.string().optional(),
  precisions: z.array(precisionSchema),
  files: z.array(z.object({ path: z.string().min(1), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  scoring: scoringSchema,
  installed_at: z.string(),
});
export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = ModelManifest['files'][number];

/** The parts of a foreign manifest an import honours. */
export const looseManifestSchema = z.object({ name: z.string().min(1).optional(), scoring: scoringSchema.partial().optional() });

/** A folder's manifest; null when it has none; a TriagemError naming the file when it is unreadable or invalid. */
export function readManifest(dir: string): ModelManifest | null {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw new TriagemError(`cannot read: ${errorMessage(err)}`, 'unreadable', file);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TriagemError(`invalid JSON: ${errorMessage(err)}`, 'bad-manifest', file);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TriagemError(`invalid model manifest: ${issues}`, 'bad-manifest', file);
  }
  return parsed.data;
}

/** Like readManifest, but a broken manifest counts as none (the folder is then treated as not ours). */
export function readManifestOrNull(dir: string): ModelManifest | null {
  try {
    return readManifest(dir);
  } catch {
    return null;
  }
}

/** Written once into a staging folder; never over an existing file. */
export async function writeManifest(dir: string, manifest: ModelManifest): Promise<void> {
  await fsp.writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { flag: 'wx' });
}
