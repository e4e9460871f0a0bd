// A pool of tesseract.js workers (each a worker thread running the wasm engine), off the main thread.
//
// Written here rather than using tesseract.js's own scheduler because the stage needs what the
// scheduler lacks: workers started only when the first image needs one, a queued job that can be
// withdrawn and a running one that can be stopped (AbortSignal), a time limit per image (a hostile
// file must not hold a worker forever), and recovery when a worker thread dies mid-job (the
// scheduler's promise would never settle).

import os from 'node:os';
import Tesseract from 'tesseract.js';
import { TriagemError } from '../errors.js';
import { engineFiles, engineName, type EngineFiles, type OcrLanguage } from './engine-files.js';

export interface OcrWord {
  text: string;
  /** 0–100, Tesseract's own confidence in the word. */
  confidence: number;
}

export interface OcrLine {
  /** Index of the paragraph the line belongs to, in reading order. */
  paragraph: number;
  words: OcrWord[];
}

export interface OcrPage {
  lines: OcrLine[];
  /** Tesseract's mean word confidence for the page, 0–100. */
  confidence: number;
  /** Time the worker spent on this image, ms. */
  ms: number;
}

export interface OcrPoolOptions {
  langs: readonly OcrLanguage[];
  /** Where the languages' trained data is gathered into one folder (see engine-files.ts). */
  dataDir: string;
  /** Workers; default `defaultPoolSize()`. */
  size?: number;
  /** Longest one image may take before its worker is stopped and the image reported failed. */
  jobTimeoutMs?: number;
}

/**
 * One worker per core, less one for decoding, the database and the app's UI, at most four: each
 * worker is single-threaded and holds the language models. On the 2-core development machine (shared,
 * loaded) a second worker added 14 % (1.45 → 1.66 images/s, `npm run bench -- ocr --compare-workers`),
 * not enough to take the last core from the desktop app.
 */
export function defaultPoolSize(cores: number = os.availableParallelism()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

const DEFAULT_JOB_TIMEOUT_MS = 120_000;

interface Job {
  image: Buffer;
  resolve: (page: OcrPage) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  settled: boolean;
}

interface Slot {
  worker?: Promise<Tesseract.Worker>;
  job?: Job;
  /** Stops the slot's current worker (timeout, abort, close). */
  kill?: () => void;
  /** Called when the slot's worker thread exits on its own (a crash inside the engine). */
  onCrash?: () => void;
}

interface ThreadHandle {
  on(event: 'exit', listener: (code: number) => void): unknown;
}

function abortError(): Error {
  const err = new Error('cancelled');
  err.name = 'AbortError';
  return err;
}

function threadOf(worker: Tesseract.Worker): ThreadHandle | undefined {
  const thread = (worker as unknown as { worker?: unknown }).worker;
  return thread && typeof (thread as ThreadHandle).on === 'function' ? (thread as ThreadHandle) : undefined;
}

function toPage(data: Tesseract.Page, ms: number): OcrPage {
  const lines: OcrLine[] = [];
  let paragraph = 0;
  for (const block of data.blocks ?? []) {
    for (const para of block.paragraphs) {
      for (const line of para.lines) {
        lines.push({ paragraph, words: line.words.map((w) => ({ text: w.text, confidence: w.confidence })) });
      }
      paragraph++;
    }
  }
  return { lines, confidence: data.confidence, ms };
}

export class OcrPool {
  readonly size: number;
  readonly langs: readonly OcrLanguage[];
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private readonly jobTimeoutMs: number;
  private files: EngineFiles | undefined;
  private closed = false;
  /** Workers started over the pool's life (restarts included); for tests and reports. */
  started = 0;

  constructor(private readonly opts: OcrPoolOptions) {
    this.size = Math.max(1, Math.floor(opts.size ?? defaultPoolSize()));
    this.langs = [...opts.langs];
    this.jobTimeoutMs = opts.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
    this.slots = Array.from({ length: this.size }, () => ({}));
  }

  /** e.g. "tesseract.js 7.0.0 (core 7.0.0)". */
  get engine(): string {
    return this.files?.engine ?? engineName();
  }

  /** Recognises the text in an encoded image (PNG, JPEG, PGM…). Rejects with an AbortError when `signal` fires. */
  recognize(image: Buffer, opts: { signal?: AbortSignal } = {}): Promise<OcrPage> {
    if (this.closed) return Promise.reject(new TriagemError('the OCR pool is closed', 'ocr-closed'));
    if (opts.signal?.aborted) return Promise.reject(abortError());
    return new Promise<OcrPage>((resolve, reject) => {
      const job: Job = { image, resolve, reject, signal: opts.signal, settled: false };
      if (opts.signal) {
        job.onAbort = () => {
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          else this.slots.find((s) => s.job === job)?.kill?.();
          this.settle(job, undefined, abortError());
        };
        opts.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Withdraws queued jobs and stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, undefined, new TriagemError('the OCR pool is closed', 'ocr-closed'));
    const stopping: Promise<unknown>[] = [];
    for (const slot of this.slots) {
      slot.kill?.();
      if (slot.worker) stopping.push(slot.worker.then((w) => w.terminate()).catch(() => undefined));
      slot.worker = undefined;
    }
    await Promise.all(stopping);
  }

  private settle(job: Job, page: OcrPage | undefined, err?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    if (err !== undefined) job.reject(err);
    else job.resolve(page as OcrPage);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0 || this.closed) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      void this.run(slot, job).finally(() => {
        slot.job = undefined;
        slot.kill = undefined;
        slot.onCrash = undefined;
        this.pump();
      });
    }
  }

  private async run(slot: Slot, job: Job): Promise<void> {
    let worker: Tesseract.Worker;
    try {
      slot.worker ??= this.start(slot);
      worker = await slot.worker;
    } catch (err) {
      slot.worker = undefined;
      this.settle(job, undefined, err);
      return;
    }
    if (job.settled) return;
    const started = performance.now();
    await new Promise<void>((done) => {
      const finish = (page: OcrPage | undefined, err?: unknown) => {
        clearTimeout(timer);
        this.settle(job, page, err);
        done();
      };
      // Stopping a worker is the only way to interrupt a recognition in progress; the slot starts a
      // fresh one for its next job.
      slot.kill = () => {
        slot.worker = undefined;
        void worker.terminate().catch(() => undefined);
        finish(undefined, abortError());
      };
      const timer = setTimeout(() => {
        slot.worker = undefined;
        void worker.terminate().catch(() => undefined);
        finish(undefined, new TriagemError(`reading the text took longer than ${Math.round(this.jobTimeoutMs / 1000)} s; stopped`, 'ocr-timeout'));
      }, this.jobTimeoutMs);
      slot.onCrash = () => finish(undefined, new TriagemError('the OCR engine stopped unexpectedly on this image', 'ocr-crashed'));
      worker.recognize(job.image, {}, { text: false, blocks: true }).then(
        (result) => finish(toPage(result.data, performance.now() - started)),
        (err: unknown) => finish(undefined, new TriagemError(`the OCR engine could not read this image: ${String(err)}`, 'ocr-failed')),
      );
    });
  }

  private start(slot: Slot): Promise<Tesseract.Worker> {
    this.files ??= engineFiles(this.opts.dataDir, this.langs);
    const files = this.files;
    this.started++;
    const starting: Promise<Tesseract.Worker> = new Promise<Tesseract.Worker>((resolve, reject) => {
      let ready = false;
      Tesseract.createWorker(
        [...this.langs],
        Tesseract.OEM.LSTM_ONLY,
        {
          workerPath: files.workerPath,
          corePath: files.corePath,
          langPath: files.langPath,
          // Never read or write a cached copy of the data in the working directory.
          cacheMethod: 'none',
          gzip: true,
          logger: () => undefined,
          // tesseract.js throws from its message handler when no errorHandler is set, which would
          // crash the process; job errors also arrive through the rejected promise.
          errorHandler: (e: unknown) => {
            if (!ready) reject(new TriagemError(`the OCR engine failed to start: ${String(e)}`, 'ocr-start'));
          },
        },
        // Tesseract prints diagnostics ("Image too small to scale!!") to stdout, which would
        // corrupt `--json` output; send them to the wasm file system's /dev/null instead.
        { debug_file: '/dev/null' } as unknown as Partial<Tesseract.InitOptions>,
      ).then(
        (worker) => {
          ready = true;
          if (this.closed || slot.worker !== starting) {
            void worker.terminate();
            reject(new TriagemError('the OCR pool is closed', 'ocr-closed'));
            return;
          }
          // A thread that exits while still the slot's worker died on its own (stopping one on
          // purpose clears slot.worker first).
          threadOf(worker)?.on('exit', () => {
            if (slot.worker !== starting) return;
            slot.worker = undefined;
            slot.onCrash?.();
          });
          resolve(worker);
        },
        (err: unknown) => reject(new TriagemError(`the OCR engine failed to start: ${String(err)}`, 'ocr-start')),
      );
    });
    return starting;
  }
}
