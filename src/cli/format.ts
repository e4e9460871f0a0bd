// Human output helpers. Names of files in scraped collections are attacker-chosen: a name holding
// terminal escape sequences could clear the screen or retitle the terminal, and a newline would
// break line-per-result output. Human output shows them escaped; --json stays exact.
// Sizes and durations are formatted the same way everywhere (shared/format.ts).

/** Control characters (C0, DEL, C1) and line/paragraph separators made visible as \xNN / \uNNNN. */
export function safe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export { formatBytes, formatDuration } from '../shared/format.js';
