/**
 * Throughput over a sliding window, so the rate and ETA follow the current pace (a folder of
 * 12-MP photos after one of thumbnails-sized memes) instead of the whole run's average.
 */
export class RateMeter {
  private readonly samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 20_000) {}

  record(done: number, now = performance.now()): void {
    this.samples.push({ t: now, done });
    while (this.samples.length > 2 && now - this.samples[1].t > this.windowMs) this.samples.shift();
  }

  /** Items per second, 0 until two samples exist. */
  rate(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.done - first.done) / dt : 0;
  }

  eta(remaining: number): number | null {
    const r = this.rate();
    return r > 0 ? remaining / r : null;
  }
}
