// The one declaration of what the UI can ask the engine. Electron IPC, the utility-process port and
// the browser bridge all validate against these schemas, so a message that passes one door passes
// them all and a type error in one is a type error everywhere. This module runs in the renderer too:
// it must not import Node modules.
import { z } from 'zod';
import { MODEL_FAMILIES, PRECISIONS } from '../engine/models/types.js';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { LIMITS } from './limits.js';

export { LIMITS };

const WINDOWS_DRIVE = /^[A-Za-z]:[\\/]/;
const WINDOWS_UNC = /^\\\\[^\\]+\\[^\\]+/;

/** True when `p` names a place without `..`, `.` or empty segments (no way to climb out of a folder). */
export function isCanonicalAbsolutePath(p: string): boolean {
  if (!(p.startsWith('/') || WINDOWS_DRIVE.test(p) || WINDOWS_UNC.test(p))) return false;
  const segments = p.split(/[\\/]/);
  // The leading '' (POSIX root or UNC prefix) and a trailing '' (a folder written with a final slash) are fine.
  return segments.every((s, i) => {
    if (s === '..' || s === '.') return false;
    if (s === '') return i === 0 || i === segments.length - 1 || (i === 1 && p.startsWith('\\\\'));
    return true;
  });
}

/**
 * A user-chosen absolute path. Relative paths would resolve against whichever process happens to run
 * the engine, and `..` segments are how a hostile page would reach outside a folder it was given.
 */
export const absolutePath = z
  .string()
  .min(1, 'path is empty')
  .max(4096, 'path is longer than 4096 characters')
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte')
  .refine(isCanonicalAbsolutePath, 'must be an absolute path without "." or ".." segments');

/** A folder name under the models dir: never a path, so it cannot point outside that dir. */
export const modelId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a model folder name (letters, digits, ".", "_", "-")')
  .refine((id) => !id.includes('..'), 'must not contain ".."');

export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const positiveId = z.number().int().positive();
/** Cosine similarity; stored vectors are 16-bit, so it can land a hair outside [-1, 1]. */
const score = z.number().min(-1.01).max(1.01);
const precision = z.enum(PRECISIONS);
/** File extension without the dot, any case ("jpg" also matches "jpeg"). */
const ext = z.string().regex(/^[A-Za-z0-9]{1,10}$/, 'must be a file extension without the dot');
const label = z
  .string()
  .trim()
  .min(1, 'label is empty')
  .max(LIMITS.labelChars, `label is longer than ${LIMITS.labelChars} characters`);
const template = z
  .string()
  .min(1)
  .max(LIMITS.templateChars)
  .refine((t) => t.includes('{}'), 'template must hold "{}" where the label goes');

const modelChoice = {
  /** Model folder name under the models dir; default: the model the service last used, else the catalog default. */
  model: modelId.optional(),
  precision: precision.optional(),
};

/** One file as the UI shows it. */
export const fileHit = z.object({
  /** The file's id in the library (one path). */
  fileId: positiveId,
  contentId: positiveId,
  sha256,
  path: z.string(),
  name: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  /** Capture time (EXIF), ms since epoch. */
  takenAt: z.number().nullable(),
});
export type FileHit = z.infer<typeof fileHit>;

export const searchHit = fileHit.extend({
  /** Cosine similarity, or full-text relevance (BM25, higher is better) for a text-only search. */
  score: z.number(),
  /** Every present copy of this content that passes the filters (`path` is the first). */
  paths: z.array(z.string()),
  /** The recognised text around the words of a `text` search, with [start, end) highlights. */
  ocrSnippet: z.object({ text: z.string(), highlights: z.array(z.tuple([z.number().int(), z.number().int()])) }).optional(),
});
export type SearchHit = z.infer<typeof searchHit>;

const searchFilters = z
  .object({
    folders: z.array(absolutePath).max(1000).optional(),
    exts: z.array(ext).max(50).optional(),
    /** ms since epoch, inclusive. */
    takenAfter: z.number().int().optional(),
    takenBefore: z.number().int().optional(),
    camera: z.string().min(1).max(200).optional(),
    tags: z.array(z.string().min(1).max(LIMITS.tagChars)).max(50).optional(),
    /** Only contents a sort run put under this label. */
    label: z.string().trim().min(1).max(200).optional(),
    /** The sort run for `label`; default: the latest run that has it. */
    sortRun: positiveId.optional(),
  })
  .strict();
export type SearchFilters = z.infer<typeof searchFilters>;

/** How the adaptive relevance cut-off decided for one query (shown to users on demand, never hidden). */
const cutoffInfo = z.object({
  /** Results scoring below this were left out. */
  threshold: z.number(),
  /** Where an ordinary photo's score for this query ends (background mean + 3 sd). */
  floor: z.number(),
  /** Scores above this could not come from ordinary photos alone. */
  strong: z.number(),
  /** Leading results kept by a clear drop in scores, or null. */
  gapAfter: z.number().int().nullable(),
  reason: z.enum(['floor', 'gap', 'min-score']),
  background: z.object({ mean: z.number(), sd: z.number(), count: z.number().int().nonnegative() }),
});
export type CutoffInfo = z.infer<typeof cutoffInfo>;

const searchOutput = z.object({
  modelKey: z.string(),
  tookMs: z.number().nonnegative(),
  hits: z.array(searchHit),
  /** Null when the cut-off was turned off. */
  cutoff: cutoffInfo.nullable().optional(),
  /** Results among the best `limit` that the relevance cut-off left out. */
  belowCutoff: z.number().int().nonnegative(),
  /** Images the search covered (the library, or what the filters left). */
  considered: z.number().int().nonnegative(),
});

const searchTuning = {
  limit: z.number().int().min(1).max(1000).default(50),
  /** Only images whose recognised text holds these words (accent- and case-insensitive). */
  text: z.string().trim().min(1).max(LIMITS.queryChars).optional(),
  filters: searchFilters.optional(),
  /** Drop results that score like the rest of the library rather than like a match. */
  cutoff: z.boolean().default(true),
  minScore: score.optional(),
};

const failure = z.object({ path: z.string(), error: z.string() });

const byteSize = z.number().int().nonnegative();

const modelEntry = z.object({
  id: z.string(),
  dir: z.string(),
  name: z.string(),
  description: z.string().optional(),
  languages: z.array(z.string()),
  family: z.enum(MODEL_FAMILIES).nullable(),
  precisions: z.array(z.string()),
  installed: z.boolean(),
  inCatalog: z.boolean(),
  isDefault: z.boolean(),
  /** Why an installed folder cannot be used. */
  error: z.string().optional(),
  /** Languages (ISO 639-1) this model is the default for (the multilingual model: "pt"). */
  defaultFor: z.array(z.string()).optional(),
  defaultPrecision: z.string().optional(),
  /** Download size per precision the catalog offers. */
  downloadBytes: z.record(z.string(), byteSize).optional(),
  installedBytes: byteSize.optional(),
});

const libraryModel = z.object({ key: z.string(), dim: z.number().int().positive(), embedded: z.number().int().nonnegative() });

export const indexProgress = z.object({
  jobId: z.string(),
  /** scan: finding files; index: reading and encoding them; ocr: reading the text inside them. */
  phase: z.enum(['scan', 'index', 'ocr']),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Files per second over the job so far. */
  rate: z.number().nonnegative(),
  /** Seconds left; null while unknown. */
  eta: z.number().nonnegative().nullable(),
  current: z.string().optional(),
  /** OCR phase: images in which text was found, and images the gate judged text-free. */
  withText: z.number().int().nonnegative().optional(),
  gated: z.number().int().nonnegative().optional(),
});
export type IndexProgressEvent = z.infer<typeof indexProgress>;

const fileId = positiveId;
const fileIds = z.array(positiveId).max(200_000);
const flag = z.enum(['keep', 'reject']);
const tagName = z.string().trim().min(1, 'tag is empty').max(200, 'tag is longer than 200 characters');

export const browseFilters = z
  .object({
    folders: z.array(absolutePath).max(1000).optional(),
    /** Sort run for `label`, `finalLabel` and the `score` order; default the latest. */
    runId: positiveId.optional(),
    /** What the run suggests after its per-label thresholds ("unsure" included). */
    label: label.optional(),
    /** The confirmed label, else the suggestion. */
    finalLabel: label.optional(),
    confirmed: z.boolean().optional(),
    tags: z.array(tagName).max(50).optional(),
    flag: z.enum(['keep', 'reject', 'none']).optional(),
    reviewed: z.boolean().optional(),
    camera: z.string().min(1).max(200).optional(),
    takenAfter: z.number().int().optional(),
    takenBefore: z.number().int().optional(),
    excludeSetAside: z.boolean().optional(),
    onePerContent: z.boolean().optional(),
  })
  .strict();
export type BrowseFilters = z.infer<typeof browseFilters>;

const markState = z.object({ label: z.string().nullable(), flag: flag.nullable() });

export const browseItem = z.object({
  fileId,
  contentId: positiveId,
  sha256,
  path: z.string(),
  name: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  size: byteSize,
  takenAt: z.number().nullable(),
  mtimeMs: z.number(),
  /** The run's suggestion after thresholds (`label`, maybe "unsure"), its best label and score. */
  suggestion: z.object({ label: z.string(), best: z.string(), score: z.number() }).nullable(),
  mark: markState.nullable(),
  duplicate: z.enum(['keep', 'trash']).nullable(),
  tags: z.array(z.string()),
  /** Damaged image data, decoded with errors and indexed anyway: what decoding said. Absent when clean. */
  warning: z.string().optional(),
});
export type BrowseItem = z.infer<typeof browseItem>;

/** What reading the text inside one image gave (see library/ocr.ts for the statuses). */
export const imageTextRecord = z.object({
  /** text: words found · empty: read, nothing kept · gated: set aside as a photo without text · failed: see `error`. */
  status: z.enum(['text', 'empty', 'gated', 'failed']),
  text: z.string(),
  /** Mean word confidence, 0–100; null without words. */
  confidence: z.number().nullable(),
  /** Tesseract language codes it was read in ("por", "eng"). */
  langs: z.array(z.string()),
  error: z.string().nullable(),
  at: z.number(),
});
export type ImageTextRecord = z.infer<typeof imageTextRecord>;

const ocrCounts = z.object({
  text: z.number().int().nonnegative(),
  empty: z.number().int().nonnegative(),
  gated: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});

const contentMark = markState.extend({ contentId: positiveId });

const labelSummary = z.object({
  label: z.string(),
  suggested: z.number().int().nonnegative(),
  reviewed: z.number().int().nonnegative(),
  final: z.number().int().nonnegative(),
  threshold: z.number().min(0).max(1),
  /** Winning scores of the contents whose best label this is, in equal bins over [0, 1]. */
  histogram: z.array(z.number().int().nonnegative()),
});

/** How a sort used the photos confirmed in review as few-shot examples. */
const runFewShot = z.object({
  /** Examples used per label. */
  shots: z.record(z.string(), z.number().int().nonnegative()),
  /** False when, judged by leave-one-out on them, the examples did no better than the label texts. */
  used: z.boolean(),
  /** Weight of the examples next to the text (0: text alone). */
  blend: z.number().nonnegative(),
  note: z.string().nullable(),
});
export type RunFewShot = z.infer<typeof runFewShot>;

export const runSummary = z.object({
  runId: positiveId,
  labels: z.array(z.string()),
  modelKey: z.string(),
  createdAt: z.number(),
  total: z.number().int().nonnegative(),
  reviewed: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  perLabel: z.array(labelSummary),
  unsure: z.object({ suggested: z.number().int().nonnegative(), reviewed: z.number().int().nonnegative(), final: z.number().int().nonnegative() }),
  /** Null when the run used no confirmed photos, or was sorted before the engine last started. */
  fewShot: runFewShot.nullable(),
});
export type RunSummary = z.infer<typeof runSummary>;

const duplicateFile = z.object({
  fileId,
  contentId: positiveId,
  sha256,
  path: z.string(),
  name: z.string(),
  folder: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  size: byteSize,
  takenAt: z.number().nullable(),
  mtimeMs: z.number(),
  choice: z.enum(['keep', 'trash']).nullable(),
});
export type DuplicateFile = z.infer<typeof duplicateFile>;

/** A name for a folder the export creates: one path segment. */
const folderName = z
  .string()
  .trim()
  .min(1, 'folder name is empty')
  .max(200)
  .refine((n) => !/[\\/\0]/.test(n) && n !== '.' && n !== '..', 'must be a folder name, not a path');

export const exportScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('label'), label, runId: positiveId.optional() }).strict(),
  z.object({ kind: z.literal('reviewed'), runId: positiveId.optional() }).strict(),
  z.object({ kind: z.literal('selection'), fileIds: fileIds.min(1, 'select at least one photo'), folder: folderName }).strict(),
]);
export type ExportScope = z.infer<typeof exportScope>;

const exportPlanInput = {
  scope: exportScope,
  destination: absolutePath,
  /** `csv`: write only the results CSV into the destination. */
  operation: z.enum(['copy', 'move', 'csv']),
  /** Also export photos flagged "reject" and copies set aside in duplicate review. */
  includeSetAside: z.boolean().default(false),
};

const modelProgress = z.object({
  id: z.string(),
  phase: z.enum(['downloading', 'validating']),
  file: z.string(),
  fileIndex: z.number().int().nonnegative(),
  fileCount: z.number().int().nonnegative(),
  bytesDone: byteSize,
  /** Absent while some file's size is still unknown. */
  bytesTotal: byteSize.optional(),
  /** Bytes per second over the last seconds. */
  rate: z.number().nonnegative(),
  eta: z.number().nonnegative().optional(),
});
export type ModelProgressEvent = z.infer<typeof modelProgress>;

const share = z.number().min(0).max(1);

/** Landis & Koch's words for a kappa value. */
export const KAPPA_BANDS = ['worse-than-chance', 'slight', 'fair', 'moderate', 'substantial', 'almost-perfect'] as const;

const evaluationSide = z.object({
  /** Images compared. */
  n: z.number().int().nonnegative(),
  /** Rows of the confusion matrix: truth labels, then labels only predicted. */
  labels: z.array(z.string()),
  /** Columns: `labels`, plus "unsure" when some image went there. */
  columns: z.array(z.string()),
  accuracy: share,
  macroF1: share,
  kappa: z.number().min(-1).max(1).nullable(),
  kappaBand: z.enum(KAPPA_BANDS).nullable(),
  /** Why kappa is undefined, when it is. */
  kappaNote: z.string().nullable(),
  baselineLabel: z.string(),
  baselineAccuracy: share,
  perLabel: z.record(z.string(), z.object({ precision: share, recall: share, f1: share, support: z.number().int().nonnegative(), predicted: z.number().int().nonnegative() })),
  /** truth → predicted → count, dense over labels × columns. */
  confusion: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
  /** Per label: its score ranked, precision and recall at each cut, and the average precision. */
  curves: z
    .record(
      z.string(),
      z.object({
        positives: z.number().int().nonnegative(),
        averagePrecision: share.nullable(),
        points: z.array(z.object({ threshold: z.number(), precision: share, recall: share })),
      }),
    )
    .nullable(),
  /** The global threshold that reaches the target precision (null: none does), and what it keeps. */
  suggestion: z
    .object({ targetPrecision: share, threshold: z.number().nullable(), precision: share, recall: share, coverage: share, kept: z.number().int().nonnegative() })
    .nullable(),
});
export type EvaluationSide = z.infer<typeof evaluationSide>;

const evaluation = evaluationSide.extend({
  truth: z.enum(['confirmed', 'csv']),
  /** The CSV or folder read, for `csv`. */
  truthPath: z.string().nullable(),
  runId: positiveId.nullable(),
  modelKey: z.string().nullable(),
  /** The text alone, when the top level is few-shot (examples existed). */
  zeroShot: evaluationSide.nullable(),
  fewShot: runFewShot
    .extend({
      /** Leave-one-out accuracy on the examples, and the text alone's accuracy on them. */
      looAccuracy: share,
      zeroShotAccuracy: share,
      skipped: z.number().int().nonnegative(),
      /** confirmed truth: each photo was scored by a fit that did not see it (cross-validation folds). */
      crossValidated: z.boolean(),
    })
    .nullable(),
  /** Photos confirmed in review in the whole library. */
  confirmed: z.number().int().nonnegative(),
  /** Truth images that could not be scored (first 200), and how many in all. */
  missing: z.array(z.object({ path: z.string(), reason: z.string() })),
  missingCount: z.number().int().nonnegative(),
  /** Problems in the truth (first 200): unreadable rows, labels not sorted into. */
  problems: z.array(z.object({ file: z.string(), line: z.number().int().optional(), message: z.string() })),
  /** Truth images left out because they are examples. */
  excludedExamples: z.number().int().nonnegative(),
  tookMs: z.number().nonnegative(),
});
export type Evaluation = z.infer<typeof evaluation>;

export const contract = {
  'models.list': {
    input: z.object({}).strict(),
    output: z.object({ modelsDir: z.string(), current: z.string().nullable(), models: z.array(modelEntry) }),
  },
  'library.open': {
    /** No path: report on the library already open. */
    input: z.object({ path: absolutePath.optional() }).strict(),
    output: z.object({
      path: z.string(),
      files: z.number().int().nonnegative(),
      contents: z.number().int().nonnegative(),
      failures: z.number().int().nonnegative(),
      models: z.array(libraryModel),
    }),
  },
  'index.start': {
    input: z
      .object({
        folders: z.array(absolutePath).min(1, 'give at least one folder').max(1000),
        ...modelChoice,
        thumbnails: z.boolean().default(true),
        /** Read the text inside images after indexing; remembered by the library. Unset: as the library says. */
        ocr: z.boolean().optional(),
      })
      .strict(),
    output: z.object({
      jobId: z.string(),
      modelKey: z.string(),
      cancelled: z.boolean(),
      indexed: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
      unchanged: z.number().int().nonnegative(),
      reused: z.number().int().nonnegative(),
      /** Files gone from the indexed folders since last time (kept in the library, marked absent). */
      missing: z.number().int().nonnegative(),
      failed: z.array(failure),
      /** Indexed, but worth a look: damaged images decoded leniently, links leading out of the folders (not followed). */
      warnings: z.array(z.object({ path: z.string(), warning: z.string() })),
      durationMs: z.number().nonnegative(),
      /** What reading text did, when it ran. */
      ocr: z
        .object({
          pending: z.number().int().nonnegative(),
          withText: z.number().int().nonnegative(),
          empty: z.number().int().nonnegative(),
          gated: z.number().int().nonnegative(),
          failed: z.array(failure),
          cancelled: z.boolean(),
        })
        .optional(),
    }),
  },
  'index.cancel': {
    /** No jobId: cancel whatever is running. */
    input: z.object({ jobId: z.string().min(1).max(100).optional() }).strict(),
    output: z.object({ cancelled: z.boolean() }),
  },
  'sort.run': {
    input: z
      .object({
        labels: z.array(label).min(1, 'give at least one label').max(LIMITS.labels),
        templates: z.array(template).min(1).max(LIMITS.templates).optional(),
        threshold: z.number().min(0).max(1).optional(),
        ...modelChoice,
        /** How many per-file results to send back (counts always cover everything). */
        limit: z.number().int().min(0).max(100_000).default(500),
        /** Photos confirmed in review become examples of their labels (few-shot). */
        confirmed: z.boolean().default(true),
      })
      .strict(),
    output: z.object({
      runId: positiveId,
      /** Null when no confirmed photo has one of the labels (or `confirmed` was false). */
      fewShot: runFewShot.nullable(),
      labels: z.array(z.string()),
      /** Per label, plus "unsure" when a threshold was given. */
      counts: z.record(z.string(), z.number().int().nonnegative()),
      total: z.number().int().nonnegative(),
      /** Files left out because the chosen model has not embedded them yet (index them first). */
      unembedded: z.number().int().nonnegative(),
      results: z.array(fileHit.extend({ label: z.string(), score: z.number() })),
    }),
  },
  'export.run': {
    input: z
      .object({
        /** Default: the latest sort run. */
        runId: positiveId.optional(),
        destination: absolutePath,
        operation: z.enum(['copy', 'move', 'none']),
      })
      .strict(),
    output: z.object({
      runId: positiveId,
      destination: z.string(),
      operation: z.enum(['copy', 'move', 'none']),
      /** The journal `export.undo` reads; null when nothing was written. */
      journal: z.string().nullable(),
      /** The results CSV written into the destination. */
      csv: z.string(),
      done: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
      failed: z.array(failure),
    }),
  },
  'export.undo': {
    input: z.object({ journal: absolutePath }).strict(),
    output: z.object({
      journal: z.string(),
      operation: z.enum(['copy', 'move']),
      /** Files whose export was reverted (copies removed, moves put back). */
      undone: z.number().int().nonnegative(),
      /** Files left as they are, and why: they need a person to look. */
      problems: z.array(z.object({ from: z.string(), to: z.string(), outcome: z.string(), detail: z.string().optional() })),
    }),
  },
  'search.text': {
    input: z
      .object({
        /** A description; may be left out when `text` is given (a text-only search). */
        query: z.string().trim().max(LIMITS.queryChars).default(''),
        ...searchTuning,
        ...modelChoice,
      })
      .strict()
      .refine((v) => v.query !== '' || v.text !== undefined, 'query is empty (give a description, or words to find in the images\' text)'),
    output: searchOutput,
  },
  'search.similar': {
    input: z
      .object({
        /** An indexed image, or any image file (encoded on the fly, never added). */
        path: absolutePath,
        ...searchTuning,
        ...modelChoice,
      })
      .strict(),
    output: searchOutput,
  },
  'duplicates.find': {
    input: z
      .object({
        /** Cosine similarity at or above which two images count as near-duplicates. */
        threshold: z.number().gt(0).max(1).default(0.95),
        ...modelChoice,
      })
      .strict(),
    output: z.object({
      groups: z.array(
        z.object({
          /** 'exact': same bytes; 'near': embeddings closer than the threshold. */
          kind: z.enum(['exact', 'near']),
          /** Lowest pairwise similarity inside the group (1 for exact). */
          similarity: z.number(),
          files: z.array(fileHit),
        }),
      ),
    }),
  },
  'thumbnail.get': {
    input: z
      .object({
        contentId: positiveId.optional(),
        sha256: sha256.optional(),
        /** Also send the bytes, base64-encoded (for renderers that cannot read files). */
        bytes: z.boolean().default(false),
      })
      .strict()
      .refine((v) => (v.contentId === undefined) !== (v.sha256 === undefined), 'give exactly one of contentId or sha256'),
    output: z.object({
      contentId: positiveId,
      sha256,
      path: z.string(),
      mime: z.enum(['image/webp', 'image/jpeg', 'image/png']),
      base64: z.string().optional(),
    }),
  },
  'app.status': {
    input: z.object({}).strict(),
    output: z.object({
      library: z.object({ path: z.string(), exists: z.boolean() }),
      modelsDir: z.string(),
      /** The index job running now, with its latest progress. */
      indexJob: z.object({ jobId: z.string(), folders: z.array(z.string()), startedAt: z.number(), progress: indexProgress.nullable() }).nullable(),
      /** The model download running now. */
      download: z.object({ id: z.string(), progress: modelProgress.nullable() }).nullable(),
      latestRunId: positiveId.nullable(),
    }),
  },
  'library.query': {
    input: z
      .object({
        sort: z.enum(['path', 'date', 'name', 'score']).default('path'),
        descending: z.boolean().default(false),
        filters: browseFilters.default({}),
      })
      .strict(),
    /** Every matching file id in display order: the grid asks for tiles by id as they scroll into view. */
    output: z.object({ fileIds: z.array(positiveId), total: z.number().int().nonnegative() }),
  },
  'library.items': {
    input: z.object({ fileIds: z.array(positiveId).max(1000), runId: positiveId.optional() }).strict(),
    output: z.object({ items: z.array(browseItem) }),
  },
  'library.file': {
    input: z.object({ fileId, runId: positiveId.optional() }).strict(),
    output: z.object({
      fileId,
      contentId: positiveId,
      sha256,
      path: z.string(),
      folder: z.string(),
      name: z.string(),
      ext: z.string(),
      format: z.string().nullable(),
      size: byteSize,
      mtimeMs: z.number(),
      width: z.number().int().nullable(),
      height: z.number().int().nullable(),
      takenAt: z.number().nullable(),
      gps: z.object({ lat: z.number(), lon: z.number() }).nullable(),
      camera: z.string().nullable(),
      present: z.boolean(),
      copies: z.array(z.string()),
      tags: z.array(z.string()),
      mark: markState.nullable(),
      suggestion: browseItem.shape.suggestion,
      duplicate: browseItem.shape.duplicate,
      /** The recognised text; null when the image has not been read. */
      ocr: imageTextRecord.nullable(),
      /** Damaged image data decoded with errors; null when it decoded cleanly. */
      warning: z.string().nullable(),
    }),
  },
  'library.ocr': {
    /** enabled: turn reading text on or off for later index runs of this library (remembered); absent: only report. */
    input: z.object({ enabled: z.boolean().optional() }).strict(),
    output: z.object({
      /** null: never set for this library, which means off. */
      enabled: z.boolean().nullable(),
      langs: z.array(z.string()),
      /** Images read so far, by outcome. */
      counts: ocrCounts,
    }),
  },
  'library.facets': {
    input: z.object({}).strict(),
    output: z.object({ cameras: z.array(z.string()), folders: z.array(z.object({ folder: z.string(), files: z.number().int().nonnegative() })) }),
  },
  'preview.get': {
    input: z
      .object({ contentId: positiveId.optional(), sha256: sha256.optional(), bytes: z.boolean().default(false) })
      .strict()
      .refine((v) => (v.contentId === undefined) !== (v.sha256 === undefined), 'give exactly one of contentId or sha256'),
    output: z.object({ contentId: positiveId, sha256, path: z.string(), mime: z.literal('image/webp'), base64: z.string().optional() }),
  },
  'index.failures': {
    input: z.object({ folders: z.array(absolutePath).max(1000).optional() }).strict(),
    output: z.object({
      failures: z.array(failure),
      /** Indexed files whose image data is damaged (decoded with errors), with what decoding said. */
      warnings: z.array(z.object({ path: z.string(), warning: z.string() })),
    }),
  },
  'folders.list': {
    /** No path: the home folder. */
    input: z.object({ path: absolutePath.optional(), showHidden: z.boolean().default(false) }).strict(),
    output: z.object({
      path: z.string(),
      parent: z.string().nullable(),
      entries: z.array(z.object({ name: z.string(), path: z.string(), kind: z.enum(['folder', 'image', 'library', 'file']) })),
      truncated: z.boolean(),
      home: z.string(),
      roots: z.array(z.object({ name: z.string(), path: z.string() })),
    }),
  },
  'presets.list': {
    input: z.object({}).strict(),
    output: z.object({
      presets: z.array(z.object({ name: z.string(), language: z.string(), description: z.string(), labels: z.array(z.string()), templates: z.array(z.string()).optional() })),
    }),
  },
  'review.mark': {
    input: z
      .object({
        fileIds: fileIds.min(1, 'select at least one photo'),
        /** label: confirm `label`; accept: confirm the suggestion; clear: drop the confirmed label; keep/reject/unflag: the flag. */
        action: z.enum(['label', 'accept', 'clear', 'keep', 'reject', 'unflag']),
        label: label.optional(),
        runId: positiveId.optional(),
      })
      .strict()
      .refine((v) => v.action !== 'label' || v.label !== undefined, { message: 'action "label" needs a label', path: ['label'] }),
    output: z.object({
      batch: positiveId,
      /** New state of each content (every copy of a photo shares it). */
      marks: z.array(contentMark),
      /** Files with no suggestion to accept. */
      skipped: z.number().int().nonnegative(),
    }),
  },
  'review.undo': {
    input: z.object({}).strict(),
    /** batch null: nothing left to undo. */
    output: z.object({ batch: positiveId.nullable(), marks: z.array(contentMark) }),
  },
  'review.summary': {
    input: z.object({ runId: positiveId.optional() }).strict(),
    output: z.object({ summary: runSummary.nullable() }),
  },
  'review.thresholds': {
    input: z.object({ runId: positiveId, thresholds: z.record(label, z.number().min(0).max(1)) }).strict(),
    output: z.object({ summary: runSummary }),
  },
  'tags.list': {
    input: z.object({}).strict(),
    output: z.object({ tags: z.array(z.object({ tag: z.string(), contents: z.number().int().nonnegative() })) }),
  },
  'tags.change': {
    input: z.object({ action: z.enum(['add', 'remove']), tag: tagName, fileIds: fileIds.min(1, 'select at least one photo') }).strict(),
    output: z.object({ changed: z.number().int().nonnegative(), unchanged: z.number().int().nonnegative(), failed: z.array(failure) }),
  },
  'duplicates.review': {
    input: z
      .object({
        threshold: z.number().gt(0).max(1).default(0.95),
        includeResolved: z.boolean().default(false),
        ...modelChoice,
      })
      .strict(),
    output: z.object({
      groups: z.array(
        z.object({
          key: z.string(),
          kind: z.enum(['exact', 'near']),
          similarity: z.number(),
          /** The suggested keeper: largest, then earliest. */
          suggested: fileId,
          resolved: z.boolean(),
          files: z.array(duplicateFile),
        }),
      ),
      threshold: z.number(),
      dismissed: z.number().int().nonnegative(),
      resolved: z.number().int().nonnegative(),
    }),
  },
  'duplicates.decide': {
    input: z.discriminatedUnion('action', [
      // Keeping none is allowed: "none of these is wanted" leaves them all out of exports, deleting nothing.
      z.object({ action: z.literal('resolve'), keep: fileIds, trash: fileIds }).strict(),
      z.object({ action: z.literal('not-duplicates'), fileIds: fileIds.min(2) }).strict(),
      z.object({ action: z.literal('reset'), fileIds: fileIds.min(1) }).strict(),
    ]),
    output: z.object({ files: z.number().int().nonnegative() }),
  },
  'export.preview': {
    input: z.object({ ...exportPlanInput, limit: z.number().int().min(0).max(5000).default(200) }).strict(),
    output: z.object({
      destination: z.string(),
      operation: z.enum(['copy', 'move', 'csv']),
      files: z.number().int().nonnegative(),
      bytes: byteSize,
      folders: z.array(z.object({ label: z.string(), folder: z.string(), files: z.number().int().nonnegative() })),
      /** The first `limit` files, then every clash. */
      items: z.array(z.object({ fileId, from: z.string(), to: z.string(), label: z.string(), clash: z.enum(['exists', 'same-name']).nullable() })),
      clashes: z.number().int().nonnegative(),
      leftOut: z.number().int().nonnegative(),
      alreadyThere: z.number().int().nonnegative(),
      csv: z.string(),
    }),
  },
  'export.start': {
    input: z.object(exportPlanInput).strict(),
    output: z.object({
      destination: z.string(),
      operation: z.enum(['copy', 'move', 'csv']),
      /** For `export.undo`; null when only a CSV was written. */
      journal: z.string().nullable(),
      csv: z.string(),
      done: z.number().int().nonnegative(),
      skipped: z.number().int().nonnegative(),
      failed: z.array(failure),
    }),
  },
  'eval.run': {
    input: z
      .object({
        /** confirmed: the photos confirmed in review; csv: a file of path,label rows (or a folder with one subfolder per label). */
        truth: z.discriminatedUnion('kind', [z.object({ kind: z.literal('confirmed') }).strict(), z.object({ kind: z.literal('csv'), path: absolutePath }).strict()]),
        /** The sort run whose labels are evaluated; default the latest. */
        runId: positiveId.optional(),
        /** Precision the suggested threshold must reach. */
        targetPrecision: z.number().gt(0).max(1).default(0.9),
        ...modelChoice,
      })
      .strict(),
    output: evaluation,
  },
  'models.download': {
    input: z.object({ id: modelId, precision: precision.optional() }).strict(),
    output: z.object({ id: z.string(), dir: z.string(), precisions: z.array(z.string()), alreadyInstalled: z.boolean(), bytesDownloaded: byteSize }),
  },
  'models.cancel': {
    input: z.object({ id: modelId.optional() }).strict(),
    output: z.object({ cancelled: z.boolean() }),
  },
  'models.import': {
    input: z.object({ folder: absolutePath, id: modelId.optional() }).strict(),
    output: z.object({
      id: z.string(),
      dir: z.string(),
      name: z.string().optional(),
      precisions: z.array(z.string()),
      /** Files copied and checksummed into the manifest. */
      files: z.number().int().nonnegative(),
    }),
  },
} as const;

export const events = {
  'index.progress': indexProgress,
  'models.progress': modelProgress,
} as const;

export type Contract = typeof contract;
export type OpName = keyof Contract;
/** What a caller writes (fields with defaults may be left out). */
export type OpInput<K extends OpName> = z.input<Contract[K]['input']>;
/** What a handler receives after validation (defaults filled in). */
export type OpParsedInput<K extends OpName> = z.output<Contract[K]['input']>;
export type OpOutput<K extends OpName> = z.output<Contract[K]['output']>;

export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

export const OP_NAMES = Object.keys(contract) as OpName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(contract, name);
}

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(events, name);
}

/** The error shape every door sends back; `issues` is set for input that failed validation. */
export const wireError = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  file: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type WireError = z.infer<typeof wireError>;

/** Every door answers with this envelope: errors travel as data because Electron IPC and contextBridge strip error classes. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: WireError };
export type OpResult<K extends OpName> = Result<OpOutput<K>>;

export const INVALID_INPUT = 'invalid-input' satisfies ErrorCode;

/** Validates `raw` against op `K`'s input schema; the error lists every bad field by path. */
export function parseInput<K extends OpName>(op: K, raw: unknown): Result<OpParsedInput<K>> {
  const schema: z.ZodType<OpParsedInput<K>, unknown> = contract[op].input as unknown as z.ZodType<OpParsedInput<K>, unknown>;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: zodWireError(`invalid input for ${op}`, parsed.error) };
}

export function zodWireError(prefix: string, error: z.ZodError): WireError {
  const issues = error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  return { code: INVALID_INPUT, message: `${prefix}: ${z.prettifyError(error)}`, issues };
}
