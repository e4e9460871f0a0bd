// The errors every door understands. One vocabulary of codes, declared here and carried unchanged
// from a TriagemError to the wire (Electron IPC, the bridge) and to the UI, which picks its message
// by code.

export const ERROR_CODES = [
  // Doors and transport
  'usage',
  'invalid-input',
  'internal',
  'cancelled',
  'closed',
  'busy',
  'forbidden',
  'unauthorized',
  'ipc-failed',
  'engine-exited',
  'bridge-unreachable',
  'method-not-allowed',
  'unsupported-media-type',
  'too-large',
  'bad-json',
  'unknown-op',
  'bad-host',
  'bad-path',
  'bad-thumbnail-id',
  'port-in-use',
  // Files
  'not-found',
  'not-a-folder',
  'exists',
  'unreadable',
  'empty-file',
  'corrupt-image',
  'unsupported-format',
  // Library
  'no-library',
  'not-a-library',
  'library-open',
  'library-busy',
  'library-read-only',
  'library-too-new',
  'library-too-old',
  'unknown-model',
  'model-dim-mismatch',
  'bad-model',
  // Models: catalog, download, install, runtime
  'no-model',
  'model-not-installed',
  'not-a-model',
  'unsupported-model',
  'bad-contract',
  'bad-config',
  'bad-tokenizer',
  'bad-onnx',
  'bad-manifest',
  'bad-id',
  'missing-file',
  'missing-precision',
  'precision-unavailable',
  'catalog-invalid',
  'network',
  'http-error',
  'size-mismatch',
  'checksum-mismatch',
  'unverifiable',
  'aborted',
  'install-failed',
  'unremovable',
  // Sorting, search, tags
  'invalid-labels',
  'invalid-templates',
  'unknown-preset',
  'presets-invalid',
  'presets-unreadable',
  'bad-query',
  'bad-tag',
  'unknown-label',
  'unknown-sort-run',
  'search-busy',
  'search-codes',
  'search-codes-stale',
  // Export, journal, undo, manifest
  'destination-failed',
  'move-busy',
  'journal-invalid',
  'journal-tampered',
  'journal-unknown',
  'journal-unreadable',
  'journal-key',
  'manifest-invalid',
  'no-manifest',
  // Evaluation
  'labels-empty',
  'labels-header',
  'labels-unreadable',
  'csv-encoding',
  'csv-unclosed-quote',
  'eval-empty',
  'eval-target',
  'eval-needs-model',
  'eval-examples-with-predictions',
  'agreement-empty',
  // OCR
  'bad-ocr-language',
  'ocr-data',
  'ocr-missing',
  'ocr-start',
  'ocr-closed',
  'ocr-crashed',
  'ocr-failed',
  'ocr-timeout',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error a user can act on: it names the file (when there is one) and the reason. */
export class TriagemError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'TriagemError';
  }
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
