// CPU time by thread group inside this process, from /proc (Linux only): which threads an indexing run's
// core time actually lands on. The JS thread matters most: onnxruntime-node runs inference on it, so
// whatever else it does (beyond what bare inference costs it) delays every batch.
//
// Node and ONNX Runtime name none of their threads, so the groups are found by behaviour when the
// benchmark starts: libuv's pool threads are the ones that run a burst of pool-only work (pbkdf2), the
// hashing thread is the one sha256Bytes starts, libvips names its own; threads that appear later (model
// sessions' intra-op pools) are ONNX Runtime's, and those that were there from the start are V8's.
import { pbkdf2 } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { OFF_THREAD_HASH_BYTES, sha256Bytes } from '../src/engine/util/hash.js';

export const THREAD_GROUPS = ['js', 'onnxruntime', 'libuv_pool', 'libvips', 'hash_worker', 'v8_and_other'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number];
export type ThreadCpu = Map<string, number>;

const TASKS = '/proc/self/task';

/** CPU ns so far of every thread of this process. */
function sample(): ThreadCpu {
  const out: ThreadCpu = new Map();
  for (const tid of fs.readdirSync(TASKS)) {
    try {
      out.set(tid, Number(fs.readFileSync(`${TASKS}/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // Ended meanwhile.
    }
  }
  return out;
}

function comm(tid: string): string {
  try {
    return fs.readFileSync(`${TASKS}/${tid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

export class ThreadGroups {
  private constructor(
    private readonly libuv: ReadonlySet<string>,
    private readonly hash: ReadonlySet<string>,
    private readonly initial: ReadonlySet<string>,
  ) {}

  /** Null where /proc has no per-thread schedstat (not Linux). Call before any model loads. */
  static async discover(): Promise<ThreadGroups | null> {
    if (!fs.existsSync(`${TASKS}/${process.pid}/schedstat`)) return null;
    await fs.promises.stat('.');
    const initial = new Set(sample().keys());
    const before = sample();
    await Promise.all(Array.from({ length: 16 }, () => promisify(pbkdf2)('x', 'y', 40_000, 32, 'sha256')));
    const after = sample();
    const libuv = new Set([...after].filter(([tid, ns]) => tid !== String(process.pid) && ns - (before.get(tid) ?? 0) > 5e6).map(([tid]) => tid));
    await sha256Bytes(Buffer.alloc(OFF_THREAD_HASH_BYTES));
    const hash = new Set([...sample().keys()].filter((tid) => !initial.has(tid) && !libuv.has(tid)));
    return new ThreadGroups(libuv, hash, new Set([...initial, ...libuv, ...hash]));
  }

  sample(): ThreadCpu {
    return sample();
  }

  private group(tid: string): ThreadGroup {
    if (tid === String(process.pid)) return 'js';
    if (this.libuv.has(tid)) return 'libuv_pool';
    if (this.hash.has(tid)) return 'hash_worker';
    if (comm(tid).startsWith('libvips') || comm(tid).startsWith('vips')) return 'libvips';
    return this.initial.has(tid) ? 'v8_and_other' : 'onnxruntime';
  }

  /** Core-ms per item of each group between two samples. */
  perItem(before: ThreadCpu, after: ThreadCpu, items: number): Record<ThreadGroup, number> {
    const out = Object.fromEntries(THREAD_GROUPS.map((g) => [g, 0])) as Record<ThreadGroup, number>;
    for (const [tid, ns] of after) out[this.group(tid)] += (ns - (before.get(tid) ?? 0)) / 1e6 / items;
    return out;
  }
}
