/** An error a user can act on: it names the file (when there is one) and the reason. */
export class TriagemError extends Error {
  constructor(
    message: string,
    readonly code: string,
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
