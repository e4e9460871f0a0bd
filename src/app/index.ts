// The application layer: every use case, once. The doors — the `triagem` CLI, the Electron utility
// process and the browser bridge — import from here and nowhere deeper.

export { AppContext, resolveConfig, type AppConfig, type OpenModel } from './context.js';
export type { ModelChoice, ModelRequest } from './model-choice.js';
export { isPortugueseLocale, looksPortuguese, systemLocale } from './language.js';
export { checkFolders, indexFolders, type IndexInput, type IndexOutcome, type IndexProgress, type IndexSummary } from './indexing.js';
export {
  RESULTS_CSV,
  checkCsvPath,
  checkDestination,
  checkSortInput,
  exportRun,
  sortImages,
  sortJob,
  undo,
  writeResultsCsv,
  type ExportInput,
  type ExportOutcome,
  type ExportOperation,
  type ExportSummary,
  type Failure,
  type SortInput,
  type SortJob,
  type SortJobOutcome,
  type SortOutcome,
  type SortResult,
  type SortedFile,
  type UndoSummary,
} from './sorting.js';
export {
  DEFAULT_DUPLICATE_THRESHOLD,
  findDuplicates,
  searchSimilar,
  searchImageTextOnly,
  searchText,
  type DuplicateReport,
  type DuplicatesInput,
  type SearchOptions,
  type SearchResponse,
  type TextSearchResponse,
} from './searching.js';
export {
  imageText,
  ocrEnabledByDefault,
  ocrPlan,
  parseLanguages,
  readImageText,
  type ImageTextResponse,
  type OcrProgress,
  type OcrRequest,
  type OcrSnippet,
  type OcrSummary,
} from './ocr.js';
export { tagFiles, tagList, taggedFiles, type TagChange } from './tags.js';
export { thumbnail, thumbnailBytes, type Thumbnail } from './thumbnails.js';
export {
  doctor,
  downloadModel,
  importModel,
  listModels,
  modelUse,
  removeModel,
  verifyModel,
  type DoctorReport,
  type DownloadProgress,
  type InstallResult,
  type ModelListEntry,
  type ModelUse,
  type VerifyResult,
} from './models.js';
export {
  DEFAULT_TARGET_PRECISION,
  agreement,
  evaluateLabels,
  kappaBand,
  type AgreementReport,
  type EvaluationInput,
  type EvaluationReport,
  type EvaluationSide,
  type LabelExample,
} from './evaluation.js';
export { verifyExport, type VerifyReport } from './verify.js';
export { currentRunId, facets, fileDetails, fileItems, preview, queryFiles, type BrowseItem, type BrowseQuery, type FileDetails, type Preview } from './browse.js';
export { HISTOGRAM_BINS, markFiles, presets, runSummary, setThresholds, undoMark, type LabelSummary, type MarkAction, type MarkInput, type MarkOutcome, type RunSummary } from './review.js';
export { decideDuplicates, reviewDuplicates, type DuplicateDecision, type DuplicatesReview, type ReviewGroup } from './duplicates-review.js';
export { planExport, runExportPlan, type ExportPlan, type ExportPlanInput, type ExportScope, type PlanExportOutcome, type PlannedFile } from './export-plan.js';
export { listFolder, type FolderListing } from './folders.js';
export { tagFileIds } from './tags.js';
export { createEngineService, type EngineService, type EngineServiceOptions } from './service.js';

// The vocabulary the doors parse user input into.
export { DEVICE_REQUESTS, PRECISIONS, type DeviceRequest, type Precision } from '../engine/models/types.js';
export { UNSURE_LABEL, combineLabels, parseLabelList } from '../engine/sort/labels.js';
export { DEFAULT_TEMPLATES, parseTemplates } from '../engine/sort/templates.js';
export { findPreset, loadPresets, type LabelPreset } from '../engine/sort/presets.js';
export type { FileRecord } from '../engine/library/library.js';
export type { Cutoff } from '../engine/search/cutoff.js';
export type { SearchFilters } from '../engine/search/filters.js';
export type { SearchHit } from '../engine/search/search.js';
