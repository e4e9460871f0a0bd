import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError } from '../errors.js';
import { resourcesDir } from '../paths.js';
import { CONCRETE_PRECISIONS, MODEL_FAMILIES, MODEL_LAYOUTS, type ConcretePrecision, type Scoring } from './types.js';

/** Model ids become folder names: lowercase, no path separators, never hidden. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

/** A repository-relative path: forward slashes, no `..`, no absolute paths. */
const repoPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((part) => part !== '' && part !== '.' && part !== '..'), {
    message: 'must be a relative path inside the repository',
  });

export const catalogFileSchema = z.object({
  path: repoPath,
  /** Bytes. Unknown → taken from the Hub's X-Linked-Size / Content-Length at download time. */
  size: z.number().int().nonnegative().optional(),
  /** Unknown → taken from the Hub's X-Linked-Etag (sha256) or ETag (git blob SHA-1). */
  sha256: sha256Hex.optional(),
});
export type CatalogFile = z.infer<typeof catalogFileSchema>;

export const scoringSchema = z.object({
  kind: z.enum(['softmax', 'sigmoid']),
  logitScale: z.number().positive(),
  logitBias: z.number(),
}) satisfies z.ZodType<Scoring>;

export const precisionSchema = z.enum(CONCRETE_PRECISIONS);
export const familySchema = z.enum(MODEL_FAMILIES);
export const layoutSchema = z.enum(MODEL_LAYOUTS);

export const catalogEntrySchema = z
  .object({
    id: z.string().regex(MODEL_ID_PATTERN),
    name: z.string().min(1),
    description: z.string().min(1),
    languages: z.array(z.string().min(1)).min(1),
    family: familySchema,
    layout: layoutSchema,
    repo: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be owner/name'),
    /** A commit, never a branch: what we verified is what gets downloaded. */
    revision: z.string().regex(/^[0-9a-f]{40}$/, 'must be a 40-hex commit'),
    license: z.string().min(1),
    default: z.boolean(),
    /** Languages (ISO 639-1) for which this model is the default instead: the multilingual model for "pt". */
    defaultFor: z.array(z.string().regex(/^[a-z]{2}$/)).optional(),
    scoring: scoringSchema,
    scoringSource: z.string().optional(),
    defaultPrecision: precisionSchema,
    /** Files every precision needs (configs, tokenizer). */
    files: z.array(catalogFileSchema),
    /** The ONNX graphs of each weight variant. */
    precisions: z.partialRecord(precisionSchema, z.array(catalogFileSchema).min(1)),
    notes: z.string().optional(),
  })
  .superRefine((entry, ctx) => {
    if (!entry.precisions[entry.defaultPrecision]) {
      ctx.addIssue({ code: 'custom', message: `defaultPrecision "${entry.defaultPrecision}" has no file list`, path: ['defaultPrecision'] });
    }
  });
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

export const catalogSchema = z
  .object({
    version: z.literal(1),
    models: z.array(catalogEntrySchema).min(1),
  })
  .superRefine((catalog, ctx) => {
    const seen = new Set<string>();
    for (const [i, m] of catalog.models.entries()) {
      if (seen.has(m.id)) ctx.addIssue({ code: 'custom', message: `duplicate id "${m.id}"`, path: ['models', i, 'id'] });
      seen.add(m.id);
    }
    if (catalog.models.filter((m) => m.default).length !== 1) {
      ctx.addIssue({ code: 'custom', message: 'exactly one model must be the default', path: ['models'] });
    }
  });
export type Catalog = z.infer<typeof catalogSchema>;

/** `TRIAGEM_CATALOG` (a test catalog, or one pointing at an internal mirror), else the shipped file. */
export function catalogPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRIAGEM_CATALOG ? path.resolve(env.TRIAGEM_CATALOG) : path.join(resourcesDir(), 'models', 'catalog.json');
}

/** Parses and validates a catalog object; errors name the file and the bad field. */
export function parseCatalog(data: unknown, file = '<catalog>'): Catalog {
  const result = catalogSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TriagemError(`invalid model catalog: ${issues}`, 'catalog-invalid', file);
  }
  return result.data;
}

const cache = new Map<string, Catalog>();

/** The catalog at `file`, else at catalogPath(); each file is read once. */
export function loadCatalog(file?: string): Catalog {
  const target = file ?? catalogPath();
  const hit = cache.get(target);
  if (hit) return hit;
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(target, 'utf8'));
  } catch (err) {
    throw new TriagemError(`cannot read model catalog: ${err instanceof Error ? err.message : String(err)}`, 'catalog-invalid', target);
  }
  const catalog = parseCatalog(data, target);
  cache.set(target, catalog);
  return catalog;
}

export function catalogEntry(id: string, catalog: Catalog = loadCatalog()): CatalogEntry | undefined {
  return catalog.models.find((m) => m.id === id);
}

export function defaultCatalogEntry(catalog: Catalog = loadCatalog()): CatalogEntry {
  const entry = catalog.models.find((m) => m.default);
  if (!entry) throw new TriagemError('the model catalog names no default model', 'catalog-invalid');
  return entry;
}

/** Shared files plus one precision's graphs, in download order (small files first). */
export function filesForPrecision(entry: CatalogEntry, precision: ConcretePrecision): CatalogFile[] {
  const graphs = entry.precisions[precision];
  if (!graphs) {
    const available = Object.keys(entry.precisions).join(', ');
    throw new TriagemError(`model "${entry.id}" has no "${precision}" weights (available: ${available})`, 'precision-unavailable');
  }
  return [...entry.files, ...graphs];
}

export function availablePrecisions(entry: CatalogEntry): ConcretePrecision[] {
  return Object.keys(entry.precisions) as ConcretePrecision[];
}

/** Sum of pinned sizes; `exact` is false when some file's size is only known at download time. */
export function knownDownloadSize(entry: CatalogEntry, precision: ConcretePrecision): { bytes: number; exact: boolean } {
  let bytes = 0;
  let exact = true;
  for (const f of filesForPrecision(entry, precision)) {
    if (f.size === undefined) exact = false;
    else bytes += f.size;
  }
  return { bytes, exact };
}
