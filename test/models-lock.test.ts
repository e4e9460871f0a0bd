// The per-model download lock (proper-lockfile underneath): busy while held, in this process or
// another; taken over once stale; a lock that was just created is busy, not stale; a lost lock is
// noticed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TriagemError } from '../src/engine/errors.js';
import { lockDownload } from '../src/engine/models/lock.js';

const roots: string[] = [];
function cacheDir(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-lock-'));
  roots.push(root);
  return path.join(root, '.downloads', 'model-0123456789ab');
}

afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

describe('download lock', () => {
  it('refuses a second holder while held, with a busy error naming the model, and is free again once released', async () => {
    const dir = cacheDir();
    const first = await lockDownload(dir, 'm');
    const second = await lockDownload(dir, 'm').catch((e: unknown) => e);
    expect(second).toBeInstanceOf(TriagemError);
    expect((second as TriagemError).code).toBe('busy');
    expect(String(second)).toMatch(/"m" is already being downloaded by another run/);
    await first.release();
    const third = await lockDownload(dir, 'm');
    third.assertHeld();
    await third.release();
    // Released locks leave nothing behind.
    expect(fs.readdirSync(path.dirname(dir))).toEqual([]);
  });

  it('a lock folder created an instant ago by someone else is busy, not stale', async () => {
    const dir = cacheDir();
    fs.mkdirSync(`${dir}.lock`, { recursive: true });
    await expect(lockDownload(dir, 'm')).rejects.toMatchObject({ code: 'busy' });
  });

  it('takes over a lock left by a run that died (not refreshed for longer than the stale time)', async () => {
    const dir = cacheDir();
    fs.mkdirSync(`${dir}.lock`, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(`${dir}.lock`, old, old);
    const lock = await lockDownload(dir, 'm');
    lock.assertHeld();
    await lock.release();
  });

  it('is busy while another process holds it, and free once that process exits', async () => {
    const dir = cacheDir();
    const script = `import { lockDownload } from ${JSON.stringify(path.join(repoRoot, 'src/engine/models/lock.ts'))};
      await lockDownload(${JSON.stringify(dir)}, 'm');
      process.stdout.write('held\\n');
      process.stdin.on('data', () => process.exit(0));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      await expect(lockDownload(dir, 'm')).rejects.toMatchObject({ code: 'busy' });
      // A normal exit releases the lock (proper-lockfile's exit hook), no waiting for staleness.
      const exited = new Promise((r) => child.on('exit', r));
      child.stdin.write('bye\n');
      await exited;
      const lock = await lockDownload(dir, 'm');
      await lock.release();
    } finally {
      child.kill('SIGKILL');
    }
  }, 30_000);

  it('notices when the lock is taken away and refuses to go on', async () => {
    const dir = cacheDir();
    const lock = await lockDownload(dir, 'm', { staleMs: 2000, updateMs: 1000 });
    // Another run that judged it stale removed it and took it.
    fs.rmSync(`${dir}.lock`, { recursive: true });
    fs.mkdirSync(`${dir}.lock`);
    await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve()));
    expect(() => lock.assertHeld()).toThrow(/lost the download lock of "m"/);
    await lock.release();
    // The other run's lock is left alone.
    expect(fs.existsSync(`${dir}.lock`)).toBe(true);
  }, 10_000);
});
