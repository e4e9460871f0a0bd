// The SQL behind OCR: one record per content (its recognised text, or why there is none), a
// full-text index over that text kept in sync by triggers (see migration 2), and the per-library
// OCR switch. Search asks here which contents mention some words, and for highlighted snippets.

import type { Database } from 'better-sqlite3';
import { TriagemError } from '../errors.js';

/** What produced a record; a record made with other settings is redone. */
export interface OcrSettings {
  /** e.g. "tesseract.js 7.0.0 (core 7.0.0)". */
  engine: string;
  /** e.g. "por+eng". */
  langs: string;
  /** Version of our own gate, preprocessing and text cleaning. */
  pipeline: number;
}

/**
 * text: words were recognised · empty: OCR ran and kept nothing · gated: the likely-text gate
 * judged the image text-free and OCR did not run · failed: reading or recognising failed (retried
 * on the next run).
 */
export type OcrStatus = 'text' | 'empty' | 'gated' | 'failed';

export interface OcrResult extends OcrSettings {
  contentId: number;
  status: OcrStatus;
  text: string;
  /** Mean word confidence, 0–100; null without words. */
  confidence: number | null;
  /** The file that was read (or could not be). */
  path: string | null;
  error: string | null;
  /** Time spent on the image (gate + OCR), ms. */
  ms: number | null;
}

export interface OcrRecord extends OcrResult {
  at: number;
}

export interface OcrCandidate {
  contentId: number;
  sha256: string;
  /** Present files holding the content, sorted by path. */
  paths: string[];
}

export interface OcrSnippet {
  /** A window of the recognised text around the matches, "…" where it was cut. */
  text: string;
  /** [start, end) UTF-16 offsets into `text` of each matched word. */
  highlights: [number, number][];
}

export interface OcrCounts {
  text: number;
  empty: number;
  gated: number;
  failed: number;
}

export interface OcrConfig {
  /** null: never set for this library (callers apply their default). */
  enabled: boolean | null;
  langs: string | null;
}

// Private-use code points: absent from the Portuguese and English character sets Tesseract reads
// with, so they delimit highlights unambiguously whatever printable text was recognised.
const OPEN = '\u{F0001}';
const CLOSE = '\u{F0002}';
const ELLIPSIS = '…';
const SNIPPET_TOKENS = 14;

const HAS_WORD = /[\p{L}\p{N}]/u;

/**
 * The user's words as an FTS5 query that cannot be anything else: every word (or "quoted phrase")
 * becomes a double-quoted string, so operators, column filters, NEAR and parentheses are plain
 * text; a trailing * on a word asks for words starting with it. All parts must match (AND). The
 * tokenizer folds case and removes diacritics on both sides, so "manifestacao" finds
 * "Manifestação". Returns null when nothing searchable is left.
 */
export function ftsQuery(input: string): string | null {
  const parts: string[] = [];
  const re = /"([^"]*)"|(\S+)/gu;
  for (const m of input.normalize('NFC').matchAll(re)) {
    const phrase = m[1] !== undefined;
    let text = phrase ? m[1] : m[2];
    let prefix = false;
    if (!phrase && text.length > 1 && text.endsWith('*')) {
      text = text.replace(/\*+$/, '');
      prefix = true;
    }
    if (!HAS_WORD.test(text)) continue;
    parts.push(`"${text.replace(/"/g, '""')}"${prefix ? '*' : ''}`);
  }
  return parts.length ? parts.join(' AND ') : null;
}

function queryOrThrow(input: string): string {
  const q = ftsQuery(input);
  if (q === null) throw new TriagemError('give at least one word to look for in the text of the images', 'bad-query');
  return q;
}

export function parseSnippet(raw: string): OcrSnippet {
  let text = '';
  const highlights: [number, number][] = [];
  let open = -1;
  for (const ch of raw) {
    if (ch === OPEN) open = text.length;
    else if (ch === CLOSE) {
      if (open >= 0) highlights.push([open, text.length]);
      open = -1;
    } else text += ch;
  }
  return { text: text.replace(/\s+/g, ' ').trim(), highlights: adjustForTrim(text, highlights) };
}

// Whitespace runs (line breaks in the OCR text) collapse to one space in the snippet; move the
// highlight offsets with them.
function adjustForTrim(original: string, highlights: [number, number][]): [number, number][] {
  const map: number[] = [];
  let out = 0;
  let inSpace = false;
  let started = false;
  for (let i = 0; i <= original.length; i++) {
    map[i] = out;
    if (i === original.length) break;
    const space = /\s/.test(original[i]);
    if (space) {
      if (started && !inSpace) out++;
      inSpace = true;
    } else {
      out++;
      inSpace = false;
      started = true;
    }
  }
  return highlights.map(([s, e]) => [map[s], map[e]] as [number, number]).filter(([s, e]) => e > s);
}

const CHUNK = 500;

export class OcrStore {
  private tables: boolean | undefined;

  constructor(private readonly db: Database) {}

  /**
   * False for a library made before OCR existed and opened read-only (reading never migrates): it
   * simply has no recognised text, rather than failing.
   */
  private get available(): boolean {
    this.tables ??= this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ocr_text'").get() !== undefined;
    return this.tables;
  }

  /**
   * Contents some present file holds that have no record made with `settings` (or whose record is
   * a failure, retried every run). `regate`: also redo contents the gate set aside.
   */
  candidates(settings: OcrSettings, opts: { regate?: boolean } = {}): OcrCandidate[] {
    const rows = this.db
      .prepare(
        `SELECT f.content_id, c.sha256, f.path FROM files f
         JOIN contents c ON c.id = f.content_id
         LEFT JOIN ocr_text o ON o.content_id = f.content_id
         WHERE f.present = 1 AND (o.content_id IS NULL OR o.status = 'failed' OR o.engine <> ? OR o.langs <> ? OR o.pipeline <> ?
           OR (? = 1 AND o.status = 'gated'))
         ORDER BY f.content_id, f.path`,
      )
      .raw()
      .all(settings.engine, settings.langs, settings.pipeline, opts.regate ? 1 : 0) as [number, string, string][];
    const out: OcrCandidate[] = [];
    for (const [contentId, sha256, path] of rows) {
      const last = out[out.length - 1];
      if (last?.contentId === contentId) last.paths.push(path);
      else out.push({ contentId, sha256, paths: [path] });
    }
    return out;
  }

  put(r: OcrResult): void {
    this.db
      .prepare(
        `INSERT INTO ocr_text(content_id, status, text, confidence, engine, langs, pipeline, path, error, ms, at)
         VALUES (@contentId, @status, @text, @confidence, @engine, @langs, @pipeline, @path, @error, @ms, @at)
         ON CONFLICT(content_id) DO UPDATE SET status = excluded.status, text = excluded.text, confidence = excluded.confidence,
           engine = excluded.engine, langs = excluded.langs, pipeline = excluded.pipeline, path = excluded.path,
           error = excluded.error, ms = excluded.ms, at = excluded.at`,
      )
      .run({ ...r, ms: r.ms === null ? null : Math.round(r.ms), at: Date.now() });
  }

  get(contentId: number): OcrRecord | undefined {
    if (!this.available) return undefined;
    const row = this.db
      .prepare('SELECT content_id, status, text, confidence, engine, langs, pipeline, path, error, ms, at FROM ocr_text WHERE content_id = ?')
      .get(contentId) as
      | { content_id: number; status: OcrStatus; text: string; confidence: number | null; engine: string; langs: string; pipeline: number; path: string | null; error: string | null; ms: number | null; at: number }
      | undefined;
    if (!row) return undefined;
    const { content_id: id, ...rest } = row;
    return { contentId: id, ...rest };
  }

  /** Contents whose text holds every word of `query`, with their relevance (higher is better). */
  match(query: string): Map<number, number> {
    if (!this.available) {
      queryOrThrow(query);
      return new Map();
    }
    const rows = this.db.prepare('SELECT rowid, bm25(ocr_fts) FROM ocr_fts WHERE ocr_fts MATCH ?').raw().all(queryOrThrow(query)) as [number, number][];
    // bm25 is lower-is-better and negative; flip it so it reads like a score.
    return new Map(rows.map(([id, rank]) => [id, -rank]));
  }

  /** Highlighted snippets of `query`'s matches in these contents' text. */
  snippets(query: string, contentIds: readonly number[]): Map<number, OcrSnippet> {
    const q = queryOrThrow(query);
    const out = new Map<number, OcrSnippet>();
    if (!this.available) return out;
    for (let i = 0; i < contentIds.length; i += CHUNK) {
      const ids = contentIds.slice(i, i + CHUNK);
      const rows = this.db
        .prepare(`SELECT rowid, snippet(ocr_fts, 0, ?, ?, ?, ?) FROM ocr_fts WHERE ocr_fts MATCH ? AND rowid IN (${ids.map(() => '?').join(',')})`)
        .raw()
        .all(OPEN, CLOSE, ELLIPSIS, SNIPPET_TOKENS, q, ...ids) as [number, string][];
      for (const [id, raw] of rows) out.set(id, parseSnippet(raw));
    }
    return out;
  }

  counts(): OcrCounts {
    const out: OcrCounts = { text: 0, empty: 0, gated: 0, failed: 0 };
    if (!this.available) return out;
    for (const row of this.db.prepare('SELECT status, count(*) AS n FROM ocr_text GROUP BY status').all() as { status: OcrStatus; n: number }[]) out[row.status] = row.n;
    return out;
  }

  config(): OcrConfig {
    if (!this.available) return { enabled: null, langs: null };
    const row = this.db.prepare('SELECT enabled, langs FROM ocr_config WHERE id = 1').get() as { enabled: number | null; langs: string | null } | undefined;
    return { enabled: row?.enabled === null || row?.enabled === undefined ? null : row.enabled === 1, langs: row?.langs ?? null };
  }

  setConfig(patch: Partial<OcrConfig>): OcrConfig {
    const next = { ...this.config(), ...patch };
    this.db
      .prepare('INSERT INTO ocr_config(id, enabled, langs) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled, langs = excluded.langs')
      .run(next.enabled === null ? null : next.enabled ? 1 : 0, next.langs);
    return next;
  }
}
