import { TriagemError } from '../errors.js';

/** One parsed CSV record and the (1-based) line it starts on, for messages that point at it. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

export type CsvDelimiter = ',' | ';' | '\t';

/**
 * RFC 4180 reader for the small label files users write by hand or save from a spreadsheet: UTF-8
 * with or without BOM, CRLF or LF, quoted fields with doubled quotes and line breaks inside. The
 * project has no CSV parser among its dependencies and this is all it needs, so it is written here
 * rather than adding one. A spreadsheet in a Portuguese locale saves with ";" (the comma is the
 * decimal mark there), so the delimiter is taken from the first line when not given.
 * `file` only names the source in errors.
 */
export function parseCsv(text: string, file: string, delimiter?: CsvDelimiter): CsvRecord[] {
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const sep = delimiter ?? sniffDelimiter(text);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let quoteLine = 0;
  /** The current field has begun (a quote opened it or text is in it), even if its text is still empty. */
  let fieldStarted = false;
  const endRecord = () => {
    fields.push(field);
    // A line with nothing on it is not a record (blank lines between rows, a trailing newline).
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted)) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '' && !fieldStarted) {
      quoted = true;
      quoteLine = line;
      fieldStarted = true;
    } else if (ch === sep) {
      fields.push(field);
      field = '';
      fieldStarted = false;
    } else if (ch === '\r' || ch === '\n') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      // A stray quote inside an unquoted field is kept as text, as spreadsheets write it.
      field += ch;
      fieldStarted = true;
    }
  }
  if (quoted) throw new TriagemError('unclosed quote: the quoted field starting here never ends', 'csv-unclosed-quote', `${file}:${quoteLine}`);
  if (field !== '' || fields.length > 0 || fieldStarted) endRecord();
  return records;
}

/** The delimiter that occurs most often outside quotes on the first line; "," when none does. */
export function sniffDelimiter(text: string): CsvDelimiter {
  const counts: Record<CsvDelimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  let best: CsvDelimiter = ',';
  for (const d of [';', '\t'] as const) if (counts[d] > counts[best]) best = d;
  return best;
}

/**
 * Text of a label file. Spreadsheets' "Unicode text" export is UTF-16; decoding it as UTF-8 would give
 * garbage labels that never match, so it is refused with the fix spelled out.
 */
export function decodeCsvBytes(bytes: Uint8Array, file: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new TriagemError('is UTF-16 text; save it as "CSV UTF-8" instead', 'csv-encoding', file);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new TriagemError('is not UTF-8 text; save it as "CSV UTF-8" instead', 'csv-encoding', file);
  }
}
