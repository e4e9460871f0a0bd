// Paging the library for the grid: an ordered list of file ids for a query (cheap enough to send
// whole at 100k files, so selection ranges and "select all" need no further round trip), then the
// tiles for the ids in view. Sort results are read through a run's per-label thresholds: a file whose
// winning score is below its label's threshold counts as "unsure".
import type { Database } from 'better-sqlite3';
import { UNSURE_LABEL } from '../sort/labels.js';
import type { Flag } from './review.js';
import { underFolders } from './sql.js';

export type BrowseSort = 'path' | 'date' | 'name' | 'score';

export interface BrowseQuery {
  sort: BrowseSort;
  descending?: boolean;
  folders?: string[];
  /** The sort run that `label`, `finalLabel` and the `score` order read. */
  runId?: number;
  /** The run's suggestion after thresholds ("unsure" included). */
  label?: string;
  /** The confirmed label when there is one, else the suggestion. */
  finalLabel?: string;
  /** Only contents with (true) or without (false) a confirmed label. */
  confirmed?: boolean;
  /** Contents that carry every one of these tags. */
  tags?: string[];
  flag?: Flag | 'none';
  /** Reviewed = a confirmed label or a flag. */
  reviewed?: boolean;
  camera?: string;
  takenAfter?: number;
  takenBefore?: number;
  /** Leave out contents flagged "reject" and copies set aside in duplicate review. */
  excludeSetAside?: boolean;
  /** One tile per content (its first path), for reviewing photos rather than files. */
  onePerContent?: boolean;
}

export interface BrowseItem {
  fileId: number;
  contentId: number;
  sha256: string;
  path: string;
  name: string;
  width: number | null;
  height: number | null;
  size: number;
  takenAt: number | null;
  mtimeMs: number;
  /** The run's label after thresholds (may be "unsure"), its winning label and score. */
  suggestion: { label: string; best: string; score: number } | null;
  mark: { label: string | null; flag: Flag | null } | null;
  duplicate: 'keep' | 'trash' | null;
  tags: string[];
}

/** `CASE` giving the suggestion after thresholds; needs `r` (sort_results) and `t` (sort_thresholds). */
const EFFECTIVE = `CASE WHEN r.score < coalesce(t.threshold, 0) THEN '${UNSURE_LABEL}' ELSE r.label END`;

const CHUNK = 500;

export class BrowseStore {
  constructor(private readonly db: Database) {}

  /** File ids matching `q`, in display order. */
  fileIds(q: BrowseQuery): number[] {
    const where = ['f.present = 1'];
    const params: unknown[] = [];
    const joins: string[] = [];
    const needsRun = q.runId !== undefined && (q.label !== undefined || q.finalLabel !== undefined || q.sort === 'score');
    if (needsRun) {
      joins.push(
        `${q.label !== undefined || q.finalLabel !== undefined ? 'JOIN' : 'LEFT JOIN'} sort_results r ON r.run_id = ? AND r.content_id = f.content_id`,
        'LEFT JOIN sort_thresholds t ON t.run_id = r.run_id AND t.label = r.label',
      );
      params.push(q.runId);
    }
    const needsMarks = q.finalLabel !== undefined || q.confirmed !== undefined || q.flag !== undefined || q.reviewed !== undefined || q.excludeSetAside;
    if (needsMarks) joins.push('LEFT JOIN marks m ON m.content_id = f.content_id');
    if (q.folders?.length) {
      const under = underFolders('f.path', q.folders);
      where.push(under.sql);
      params.push(...under.params);
    }
    if (needsRun && q.label !== undefined) {
      where.push(`${EFFECTIVE} = ?`);
      params.push(q.label);
    }
    if (needsRun && q.finalLabel !== undefined) {
      where.push(`coalesce(m.label, ${EFFECTIVE}) = ?`);
      params.push(q.finalLabel);
    }
    if (q.confirmed !== undefined) where.push(q.confirmed ? 'm.label IS NOT NULL' : 'm.label IS NULL');
    if (q.flag === 'none') where.push('m.flag IS NULL');
    else if (q.flag !== undefined) {
      where.push('m.flag = ?');
      params.push(q.flag);
    }
    if (q.reviewed !== undefined) where.push(q.reviewed ? '(m.label IS NOT NULL OR m.flag IS NOT NULL)' : '(m.label IS NULL AND m.flag IS NULL)');
    if (q.excludeSetAside) {
      where.push("(m.flag IS NULL OR m.flag <> 'reject')");
      where.push("f.id NOT IN (SELECT file_id FROM duplicate_choices WHERE choice = 'trash')");
    }
    for (const tag of q.tags ?? []) {
      where.push('f.content_id IN (SELECT content_id FROM tags WHERE tag = ?)');
      params.push(tag.normalize('NFC').trim());
    }
    if (q.camera) {
      where.push("instr(lower(coalesce(f.camera, '')), ?) > 0");
      params.push(q.camera.toLowerCase());
    }
    if (q.takenAfter !== undefined) {
      where.push('f.taken_at >= ?');
      params.push(q.takenAfter);
    }
    if (q.takenBefore !== undefined) {
      where.push('f.taken_at <= ?');
      params.push(q.takenBefore);
    }
    if (q.onePerContent) {
      // The copies that are not a content's first path, found by joining on content_id (its index
      // keeps this linear; a correlated "no smaller path" subquery went quadratic at 100k files).
      where.push(`f.id NOT IN (SELECT b.id FROM files a CROSS JOIN files b INDEXED BY files_content_id ON b.content_id = a.content_id
        WHERE a.present = 1 AND b.present = 1 AND a.path < b.path)`);
    }
    const dir = q.descending ? 'DESC' : 'ASC';
    const order =
      q.sort === 'date'
        ? `coalesce(f.taken_at, f.mtime_ms) ${dir}, f.path ${dir}`
        : q.sort === 'name'
          ? `f.name ${dir}, f.path ${dir}`
          : q.sort === 'score' && needsRun
            ? `r.score ${dir}, f.path`
            : `f.path ${dir}`;
    const sql = `SELECT f.id FROM files f ${joins.join(' ')} WHERE ${where.join(' AND ')} ORDER BY ${order}`;
    return this.db.prepare(sql).pluck().all(...params) as number[];
  }

  /** Tiles for `fileIds`, in that order (ids no longer in the library are left out). */
  items(fileIds: readonly number[], runId: number | undefined): BrowseItem[] {
    const byId = new Map<number, BrowseItem>();
    for (let i = 0; i < fileIds.length; i += CHUNK) {
      const part = fileIds.slice(i, i + CHUNK);
      const marks = part.map(() => '?').join(',');
      const rows = this.db
        .prepare(
          `SELECT f.id, f.content_id, c.sha256, f.path, f.name, c.width, c.height, f.size, f.taken_at, f.mtime_ms,
             r.label, r.score, t.threshold, m.label, m.flag, d.choice
           FROM files f JOIN contents c ON c.id = f.content_id
           LEFT JOIN sort_results r ON r.run_id = ? AND r.content_id = f.content_id
           LEFT JOIN sort_thresholds t ON t.run_id = r.run_id AND t.label = r.label
           LEFT JOIN marks m ON m.content_id = f.content_id
           LEFT JOIN duplicate_choices d ON d.file_id = f.id
           WHERE f.id IN (${marks})`,
        )
        .raw()
        .all(runId ?? null, ...part) as [
        number, number, string, string, string, number | null, number | null, number, number | null, number,
        string | null, number | null, number | null, string | null, Flag | null, 'keep' | 'trash' | null,
      ][];
      const contentIds = [...new Set(rows.map((r) => r[1]))];
      const tags = new Map<number, string[]>();
      if (contentIds.length) {
        const tagRows = this.db
          .prepare(`SELECT content_id, tag FROM tags WHERE content_id IN (${contentIds.map(() => '?').join(',')}) ORDER BY tag`)
          .raw()
          .all(...contentIds) as [number, string][];
        for (const [id, tag] of tagRows) {
          const list = tags.get(id);
          if (list) list.push(tag);
          else tags.set(id, [tag]);
        }
      }
      for (const r of rows) {
        const [id, contentId, sha256, path, name, width, height, size, takenAt, mtimeMs, label, score, threshold, markLabel, flag, choice] = r;
        byId.set(id, {
          fileId: id,
          contentId,
          sha256,
          path,
          name,
          width,
          height,
          size,
          takenAt,
          mtimeMs,
          suggestion:
            label !== null && score !== null ? { label: score < (threshold ?? 0) ? UNSURE_LABEL : label, best: label, score } : null,
          mark: markLabel !== null || flag !== null ? { label: markLabel, flag } : null,
          duplicate: choice,
          tags: tags.get(contentId) ?? [],
        });
      }
    }
    return fileIds.flatMap((id) => byId.get(id) ?? []);
  }

  /** Content ids of files (unknown ids are left out). */
  contentIdsOfFiles(fileIds: readonly number[]): number[] {
    const out: number[] = [];
    for (let i = 0; i < fileIds.length; i += CHUNK) {
      const part = fileIds.slice(i, i + CHUNK);
      out.push(...(this.db.prepare(`SELECT DISTINCT content_id FROM files WHERE id IN (${part.map(() => '?').join(',')})`).pluck().all(...part) as number[]));
    }
    return [...new Set(out)];
  }

  /** Cameras and folders present in the library, for filter menus. */
  facets(): { cameras: string[]; folders: { folder: string; files: number }[] } {
    const cameras = this.db.prepare('SELECT DISTINCT camera FROM files WHERE present = 1 AND camera IS NOT NULL ORDER BY camera LIMIT 200').pluck().all() as string[];
    const folders = this.db
      .prepare('SELECT folder, count(*) AS files FROM files WHERE present = 1 GROUP BY folder ORDER BY folder LIMIT 2000')
      .all() as { folder: string; files: number }[];
    return { cameras, folders };
  }
}
