// Text around the searched words, as a tile shows it: one line, so the window starts shortly
// before the first matched word rather than wherever the engine's snippet starts.

export interface Snippet {
  text: string;
  /** [start, end) UTF-16 offsets into `text`. */
  highlights: readonly (readonly [number, number])[];
}

export interface SnippetPart {
  text: string;
  mark: boolean;
}

const ELLIPSIS = '…';

/** `snippet` cut to begin at most `lead` characters (at a word start) before its first highlight. */
export function leadToMatch(snippet: Snippet, lead = 12): Snippet {
  const first = snippet.highlights[0];
  if (!first || first[0] <= lead + 1) return snippet;
  let start = first[0] - lead;
  // Start on a word, not in the middle of one.
  const space = snippet.text.indexOf(' ', start);
  if (space >= 0 && space < first[0]) start = space + 1;
  else start = first[0];
  const shift = start - ELLIPSIS.length;
  return {
    text: ELLIPSIS + snippet.text.slice(start),
    highlights: snippet.highlights.filter(([s]) => s >= start).map(([s, e]) => [s - shift, e - shift] as const),
  };
}

/** The snippet as runs of plain and highlighted text; bad or overlapping ranges are ignored. */
export function snippetParts(snippet: Snippet): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let at = 0;
  const ranges = [...snippet.highlights].filter(([s, e]) => s >= 0 && e > s && e <= snippet.text.length).sort((a, b) => a[0] - b[0]);
  for (const [s, e] of ranges) {
    if (s < at) continue;
    if (s > at) parts.push({ text: snippet.text.slice(at, s), mark: false });
    parts.push({ text: snippet.text.slice(s, e), mark: true });
    at = e;
  }
  if (at < snippet.text.length) parts.push({ text: snippet.text.slice(at), mark: false });
  return parts;
}
