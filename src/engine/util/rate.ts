/**
 * Throughput over a sliding window, so a rate and its ETA follow the current pace (a folder of 12-MP
 * photos after one of meme-sized images; a connection that slowed down) rather than the whole run's
 * average. One meter for anything counted: files indexed, bytes downloaded.
 */
export interface RateMeterOptions {
  /** How far back the rate looks; the oldest sample inside it is kept as the baseline. */
  windowMs?: number;
  /** Clock in milliseconds; tests pass a fake one. */
  now?: () => number;
}

export class RateMeter {
  private readonly samples: { t: number; total: number }[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;
  private current = 0;

  constructor(opts: RateMeterOptions = {}) {
    this.windowMs = opts.windowMs ?? 20_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** The running total so far (files done, bytes on disk). */
  get total(): number {
    return this.current;
  }

  /** Sets the running total, e.g. files done so far. */
  record(total: number): void {
    const t = this.now();
    this.current = total;
    this.samples.push({ t, total });
    // The first sample older than the window stays as the baseline, so the window is always covered.
    while (this.samples.length > 2 && t - this.samples[1].t > this.windowMs) this.samples.shift();
  }

  /** Adds to the running total, e.g. bytes just received. */
  add(n: number): void {
    this.record(this.current + n);
  }

  /** Units per second over the window; 0 until two samples exist or when no time has passed. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.total - first.total) / dt : 0;
  }

  /** Seconds left for `remaining` more units at the current rate; null while the rate is unknown. */
  eta(remaining: number): number | null {
    const r = this.rate();
    return r > 0 ? Math.max(0, remaining) / r : null;
  }
}
