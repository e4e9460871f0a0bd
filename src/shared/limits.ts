// Kept apart from the zod contract so the CLI can check them before it loads anything heavy.

/**
 * Limits on text that reaches the model, the same for every door (the CLI checks them before a
 * model loads). Beyond them a sort or search is not meaningful, and very long inputs have crashed
 * ONNX Runtime's initialisation.
 */
export const LIMITS = {
  labels: 200,
  labelChars: 200,
  templates: 50,
  templateChars: 300,
  queryChars: 1000,
  tagChars: 200,
  /** Total characters of a CLI command line: onnxruntime-node 1.30 segfaults when it starts in a process whose command line is ~30,000+ characters. */
  commandLineChars: 16_384,
} as const;
