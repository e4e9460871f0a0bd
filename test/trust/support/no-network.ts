// The no-network check of the trust suite: while installed, every way this process could reach the
// network (TCP/TLS connects, UDP sockets, DNS lookups, http(s) requests, fetch) is recorded and
// refused, and child processes started with `childEnv()` load the same guard (no-network-preload.mjs),
// appending what they attempt to a log file. `useNoNetwork()` installs it around every test of a
// file and fails the test that made an attempt.
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { recordFigures } from './trust-fixtures.js';

export interface Attempt {
  via: string;
  target: string;
  pid: number;
}

const PRELOAD = fileURLToPath(new URL('./no-network-preload.mjs', import.meta.url));

type Patch = { obj: Record<string, unknown>; key: string; original: unknown };

let patches: Patch[] = [];
const attempts: Attempt[] = [];
let childLog: string | undefined;

function describe(args: unknown[]): string {
  const [a, b] = args;
  if (typeof a === 'string' || typeof a === 'number') return `${a}${typeof b === 'string' || typeof b === 'number' ? `:${b}` : ''}`;
  if (a instanceof URL) return a.href;
  if (a && typeof a === 'object') {
    const o = a as Record<string, unknown>;
    if (typeof o.url === 'string') return o.url;
    return `${String(o.host ?? o.hostname ?? o.path ?? '?')}${o.port !== undefined ? `:${String(o.port)}` : ''}`;
  }
  return '?';
}

/**
 * A Unix-domain socket or Windows named pipe: local IPC between processes on this machine, never
 * the network (tsx, for one, talks to its parent over such a pipe). Allowed, and not counted.
 */
function isLocalIpc(args: unknown[]): boolean {
  const [a] = args;
  const p = typeof a === 'string' ? a : Array.isArray(a) && a[0] && typeof a[0] === 'object' ? (a[0] as Record<string, unknown>).path : a && typeof a === 'object' ? (a as Record<string, unknown>).path : undefined;
  return typeof p === 'string' && (p.startsWith('/') || p.startsWith('\\\\.\\pipe\\') || p.startsWith('\\\\?\\pipe\\'));
}

function refuse(via: string, args: unknown[]): Error {
  attempts.push({ via, target: describe(args), pid: process.pid });
  return Object.assign(new Error(`network access refused by the trust suite (${via} ${describe(args)})`), { code: 'ENETUNREACH' });
}

function patch(obj: object, key: string, make: (original: (...args: unknown[]) => unknown) => (...args: unknown[]) => unknown): void {
  const target = obj as Record<string, unknown>;
  const original = target[key];
  if (typeof original !== 'function') return;
  patches.push({ obj: target, key, original });
  target[key] = make(original as (...args: unknown[]) => unknown);
}

export function installNoNetwork(): void {
  if (patches.length) return;
  const thrower = (via: string) => () =>
    function (this: unknown, ...args: unknown[]) {
      throw refuse(via, args);
    };
  const socketThrower = (via: string) => (original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (isLocalIpc(args)) return original.apply(this, args);
      throw refuse(via, args);
    };
  patch(net.Socket.prototype, 'connect', socketThrower('net.Socket.connect'));
  patch(net, 'connect', socketThrower('net.connect'));
  patch(net, 'createConnection', socketThrower('net.createConnection'));
  patch(tls, 'connect', thrower('tls.connect'));
  patch(dgram, 'createSocket', thrower('dgram.createSocket'));
  patch(http, 'request', thrower('http.request'));
  patch(http, 'get', thrower('http.get'));
  patch(https, 'request', thrower('https.request'));
  patch(https, 'get', thrower('https.get'));
  for (const fn of ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveMx', 'resolveSrv', 'reverse']) {
    patch(dns, fn, thrower(`dns.${fn}`));
    patch(dns.promises, fn, () =>
      async function (...args: unknown[]) {
        throw refuse(`dns.promises.${fn}`, args);
      },
    );
  }
  patch(globalThis, 'fetch', () =>
    async function (...args: unknown[]) {
      throw refuse('fetch', args);
    },
  );
  childLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'triagem-netlog-')), 'attempts.jsonl');
}

export function uninstallNoNetwork(): void {
  for (const p of patches.reverse()) p.obj[p.key] = p.original;
  patches = [];
}

/** Attempts so far (this process, and children started with childEnv()); clears them. */
export function takeAttempts(): Attempt[] {
  const out = attempts.splice(0);
  if (childLog && fs.existsSync(childLog)) {
    for (const line of fs.readFileSync(childLog, 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Attempt);
    fs.rmSync(childLog, { force: true });
  }
  return out;
}

/** Environment for a child process that must not reach the network either. */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  if (!childLog) throw new Error('installNoNetwork() first');
  const options = [process.env.NODE_OPTIONS ?? '', extra.NODE_OPTIONS ?? '', `--import=${PRELOAD}`].filter(Boolean).join(' ');
  return { ...process.env, ...extra, NODE_OPTIONS: options, TRIAGEM_NET_LOG: childLog };
}

/**
 * Installs the guard around every test of the calling file; a test that reached for the network
 * fails. The file's count of guarded tests and attempts goes into the suite's figures as `section`.
 */
export function useNoNetwork(section: string): void {
  const totals = { guardedTests: 0, connections: 0 };
  afterAll(() => recordFigures(`network: ${section}`, totals));
  beforeEach(() => {
    installNoNetwork();
    takeAttempts();
  });
  afterEach(() => {
    const made = takeAttempts();
    uninstallNoNetwork();
    totals.connections += made.length;
    totals.guardedTests++;
    expect(made, 'network connections attempted during the test').toEqual([]);
  });
}
