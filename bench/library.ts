// The library's file queries on a synthetic library (default 100k files in 1,000 folders, a tenth of
// them named with emoji, `%` and `_`): folder filters through the path index against the prefix test
// they replaced (same rows, same connection, this run), search's filter and result queries, and the
// cost of opening for reading or writing.
//   npm run bench -- library [--files 100000] [--repeats 7]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Library } from '../src/engine/library/library.js';
import { withRawDb } from '../test/support/raw-db.js';
import { flag, median, round } from './_stats.js';

function folderName(i: number): string {
  const k = i % 1000;
  if (k % 10 === 0) return `/fotos/📷 viagem ${k}`;
  if (k % 10 === 1) return `/fotos/100%_feito ${k}`;
  return `/fotos/pasta-${k}`;
}

function time(repeats: number, fn: () => unknown): number {
  fn();
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return round(median(ms), 3);
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const count = flag(args, 'files', 100_000);
  const repeats = flag(args, 'repeats', 7);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-library-'));
  const file = path.join(dir, 'lib.sqlite');
  try {
    const fillStart = performance.now();
    const library = Library.open(file, { mode: 'write' });
    const exts = ['jpg', 'png', 'webp', 'jpeg'];
    library.transaction(() => {
      for (let i = 1; i <= count; i++) {
        const id = library.upsertContent({ sha256: i.toString(16).padStart(64, '0'), size: 1000, format: 'jpeg', width: 640, height: 480 });
        const ext = exts[i % exts.length];
        const meta = { takenAt: 1_600_000_000_000 + i * 60_000, gpsLat: null, gpsLon: null, camera: i % 3 ? 'Canon EOS' : 'iPhone 12' };
        library.upsertFile({ path: `${folderName(i)}/sub-${i % 7}/img-${i}.${ext}`, ext, size: 1000, mtimeMs: 0, meta }, id, 0);
        if (i % 50 === 0) library.recordFailure(`${folderName(i)}/broken-${i}.jpg`, 'corrupt', 10, 0, 0);
      }
    });
    library.close();
    const fillSeconds = round((performance.now() - fillStart) / 1000);

    const reader = Library.open(file, { mode: 'read' });
    const emoji = '/fotos/📷 viagem 10';
    const plain = '/fotos/pasta-5';
    const perFolder = reader.listFiles({ folders: [emoji] }).length;
    if (perFolder !== count / 1000 || reader.listFiles({ folders: [plain] }).length !== count / 1000) throw new Error(`expected ${count / 1000} files per folder, got ${perFolder}`);

    // The prefix test the range replaced (library/sql.ts before): a full scan, with SQLite measuring
    // the prefix. Same rows, same data, its own connection to the same file.
    const oldPrefix = (folder: string) =>
      withRawDb(
        file,
        (db) => {
          const stmt = db.prepare('SELECT count(*) FROM files f WHERE (f.path = ? OR substr(f.path, 1, length(?)) = ?)').pluck();
          const prefix = `${folder}/`;
          const n = stmt.get(folder, prefix, prefix) as number;
          if (n !== perFolder) throw new Error(`prefix test found ${n}`);
          return time(repeats, () => stmt.get(folder, prefix, prefix));
        },
        { readonly: true },
      );
    const rangeCount = (folder: string) =>
      withRawDb(
        file,
        (db) => {
          const stmt = db.prepare('SELECT count(*) FROM files f WHERE (f.path = ? OR (f.path >= ? AND f.path < ?))').pluck();
          const n = stmt.get(folder, `${folder}/`, `${folder}0`) as number;
          if (n !== perFolder) throw new Error(`range found ${n}`);
          return time(repeats, () => stmt.get(folder, `${folder}/`, `${folder}0`));
        },
        { readonly: true },
      );

    const someIds = (n: number) => Array.from({ length: n }, (_, i) => 1 + Math.floor((i * count) / n));
    const ids28 = someIds(28);
    const ids5000 = someIds(5000);
    const result = {
      files: count,
      fill_s: fillSeconds,
      folder_count_ms: {
        range_emoji: rangeCount(emoji),
        prefix_scan_emoji: oldPrefix(emoji),
        range_plain: rangeCount(plain),
        prefix_scan_plain: oldPrefix(plain),
      },
      library_ms: {
        list_all: time(repeats, () => reader.listFiles()),
        list_folder_emoji: time(repeats, () => reader.listFiles({ folders: [emoji] })),
        list_folder_plain: time(repeats, () => reader.listFiles({ folders: [plain], present: true })),
        list_failures_folder: time(repeats, () => reader.listFailures([emoji])),
        search_filter_folder_ext: time(repeats, () => reader.contentsMatching({ present: true, folders: [emoji, plain], exts: ['jpg', 'jpeg'] })),
        search_filter_camera_dates: time(repeats, () => reader.contentsMatching({ present: true, camera: 'iphone', takenAfter: 1_600_000_000_000, takenBefore: 1_600_000_000_000 + count * 30_000 })),
        files_of_28_contents: time(repeats, () => reader.filesOfContents(ids28, { present: true })),
        files_of_5000_contents: time(repeats, () => reader.filesOfContents(ids5000, { present: true })),
        known_files_under_folder: time(repeats, () => reader.knownFilesUnder([emoji])),
      },
      open_close_ms: {
        read: time(repeats, () => Library.open(file, { mode: 'read' }).close()),
      },
    };
    reader.close();
    result.open_close_ms = { ...result.open_close_ms, ...{ write: time(repeats, () => Library.open(file, { mode: 'write' }).close()) } };
    const f = result.folder_count_ms;
    return { ...result, range_vs_prefix_speedup: { emoji: round(f.prefix_scan_emoji / f.range_emoji, 1), plain: round(f.prefix_scan_plain / f.range_plain, 1) } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
