// How fast the `triagem` CLI answers: `--help` (target ≤ 300 ms) next to a bare `node -e 0` in the
// same run (the floor no CLI can beat on this machine), and `triagem search` on a small library,
// whose time should be the model load and little else.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadModel } from '../src/engine/models/model.js';
import { vitB32StandInDir } from '../test/support/models.js';
import { photoPixels } from '../test/support/photos.js';
import { flag, median, round } from './_stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'triagem.js');

function timeRuns(argv: string[], runs: number, env: NodeJS.ProcessEnv = process.env): number[] {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, argv, { stdio: 'ignore', env });
    ms.push(performance.now() - t0);
  }
  return ms;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const runs = flag(args, 'runs', 15);
  execFileSync(process.execPath, [path.join(root, 'scripts', 'build-cli.mjs')], { stdio: 'ignore' });
  timeRuns([bin, '--help'], 2); // warm the file cache
  const bare = median(timeRuns(['-e', '0'], runs));
  const help = median(timeRuns([bin, '--help'], runs));

  // A small library indexed with the ViT-B/32 stand-in (real sizes: loading it is the real cost).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-bench-cli-'));
  const searchRuns = Math.max(3, Math.round(runs / 3));
  let search: Record<string, number> = {};
  try {
    const modelsDir = path.join(tmp, 'models');
    fs.mkdirSync(modelsDir);
    fs.symlinkSync(await vitB32StandInDir(), path.join(modelsDir, 'standin'));
    const photos = path.join(tmp, 'photos');
    fs.mkdirSync(photos);
    for (let i = 0; i < 20; i++) {
      await sharp(photoPixels(320, 240, i + 1), { raw: { width: 320, height: 240, channels: 3 } }).jpeg().toFile(path.join(photos, `p${i}.jpg`));
    }
    const common = ['--library', path.join(tmp, 'lib.sqlite'), '--models-dir', modelsDir, '--model', 'standin', '--precision', 'fp32', '--device', 'cpu'];
    execFileSync(process.execPath, [bin, 'index', photos, ...common], { stdio: 'ignore' });
    const total = median(timeRuns([bin, 'search', 'a burned bus near a bridge', ...common, '--all'], searchRuns));
    // What the search pays (the text tower; the app opens the image tower on first use) beside what
    // opening both towers would cost.
    const loads: number[] = [];
    const both: number[] = [];
    for (let i = 0; i < searchRuns; i++) {
      for (const [openVision, into] of [['on-first-use', loads], ['now', both]] as const) {
        const t0 = performance.now();
        const model = await loadModel(path.join(modelsDir, 'standin'), { device: 'cpu', precision: 'fp32', openVision });
        into.push(performance.now() - t0);
        await model.close();
      }
    }
    const load = median(loads);
    search = {
      total_ms: round(total),
      model_load_ms: round(load),
      model_load_share: round(load / total),
      rest_ms: round(total - load),
      both_towers_load_ms: round(median(both)),
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return {
    runs,
    cores: os.availableParallelism(),
    help_ms: round(help),
    bare_node_ms: round(bare),
    help_over_bare_node_ms: round(help - bare),
    help_target_ms: 300,
    search_small_library: search,
  };
}
