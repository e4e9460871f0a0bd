// Day/night photo trees for the evaluation tests: "dia" (light images of any tint) and "noite" (dark
// ones). The colour model's text tower knows colour words only, so neither label means anything to
// it — exactly the niche-label case few-shot examples are for.
import path from 'node:path';
import { writePhoto } from './sort-fixtures.js';
import { Prng } from './synthetic/prng.js';

export type DayNight = 'dia' | 'noite';

/** A light (every channel 190–255) or dark (0–60) colour with a random tint. */
export function dayNightColour(kind: DayNight, prng: Prng): [number, number, number] {
  const [lo, hi] = kind === 'dia' ? [190, 255] : [0, 60];
  const channel = () => Math.round(lo + prng.next() * (hi - lo));
  return [channel(), channel(), channel()];
}

/**
 * `root/dia/…` and `root/noite/…`: `perLabel` photos each, tints drawn from `seed`, so two trees with
 * different seeds hold different photos of the same two kinds.
 */
export async function writeDayNightTree(root: string, perLabel: number, seed: number): Promise<Record<string, DayNight>> {
  const prng = new Prng(seed);
  const written: Record<string, DayNight> = {};
  for (const kind of ['dia', 'noite'] as const) {
    for (let i = 0; i < perLabel; i++) {
      const file = path.join(root, kind, `${kind}-${seed}-${i}.jpg`);
      await writePhoto(file, dayNightColour(kind, prng), seed * 1000 + i + (kind === 'noite' ? 500 : 0));
      written[file] = kind;
    }
  }
  return written;
}
