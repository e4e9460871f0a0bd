/** A FIFO whose consumers await items; `close` ends it once drained, `stop` ends it at once. */
export class AsyncQueue<T> {
  private readonly items: (T | undefined)[] = [];
  private head = 0;
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private stopped = false;

  push(item: T): void {
    if (this.stopped) return;
    this.items.push(item);
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  stop(): void {
    this.stopped = true;
    this.items.length = 0;
    this.head = 0;
    this.notify();
  }

  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      if (this.head < this.items.length) {
        const item = this.items[this.head] as T;
        // Drop the reference at once: items carry decoded tensors and whole files, and a consumed
        // slot kept until the next compaction held hundreds of MB on long runs.
        this.items[this.head++] = undefined;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        return item;
      }
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  // Every waiter re-checks; those that find nothing wait again.
  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Counting semaphore that bounds how many decoded tensors exist at once, so memory stays flat no
 * matter how far decoding could run ahead of inference. `open` releases every waiter for shutdown.
 */
export class Slots {
  private readonly waiters: (() => void)[] = [];
  private opened = false;

  constructor(private free: number) {}

  async acquire(): Promise<void> {
    if (this.opened) return;
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    }
  }

  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }
}


/**
 * `count` workers that take `items` in order, one at a time each, until all are taken or `stopped()`.
 * An item's error goes to `onError` and the worker goes on to the next.
 */
export async function workThrough<T>(
  items: readonly T[],
  count: number,
  fn: (item: T) => Promise<void>,
  opts: { stopped: () => boolean; onError: (err: unknown) => void },
): Promise<void> {
  let cursor = 0;
  const worker = async () => {
    while (!opts.stopped() && cursor < items.length) {
      const item = items[cursor++];
      try {
        await fn(item);
      } catch (err) {
        opts.onError(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, items.length) }, worker));
}

/** `count` workers that serve `queue` until it ends; an item's error goes to `onError`. */
export async function serveQueue<T>(queue: AsyncQueue<T>, count: number, fn: (item: T) => Promise<void>, onError: (err: unknown) => void): Promise<void> {
  const worker = async () => {
    for (;;) {
      const item = await queue.take();
      if (item === undefined) return;
      try {
        await fn(item);
      } catch (err) {
        onError(err);
      }
    }
  };
  await Promise.all(Array.from({ length: count }, worker));
}
