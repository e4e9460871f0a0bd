// Loaded into child processes of the trust suite (NODE_OPTIONS=--import=...): refuses and logs every
// network attempt, like no-network.ts does in the test process. Plain JS so it needs no loader.
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';

const log = process.env.TRIAGEM_NET_LOG;

function describe(args) {
  const [a, b] = args;
  if (typeof a === 'string' || typeof a === 'number') return `${a}${typeof b === 'string' || typeof b === 'number' ? `:${b}` : ''}`;
  if (a instanceof URL) return a.href;
  if (a && typeof a === 'object') return a.url ?? `${a.host ?? a.hostname ?? a.path ?? '?'}${a.port !== undefined ? `:${a.port}` : ''}`;
  return '?';
}

// Unix-domain sockets and named pipes are local IPC (tsx talks to its parent over one), not network.
function isLocalIpc(args) {
  const [a] = args;
  const p = typeof a === 'string' ? a : Array.isArray(a) && a[0] && typeof a[0] === 'object' ? a[0].path : a && typeof a === 'object' ? a.path : undefined;
  return typeof p === 'string' && (p.startsWith('/') || p.startsWith('\\\\.\\pipe\\') || p.startsWith('\\\\?\\pipe\\'));
}

function refuse(via, args) {
  if (log) fs.appendFileSync(log, `${JSON.stringify({ via, target: describe(args), pid: process.pid })}\n`);
  return Object.assign(new Error(`network access refused by the trust suite (${via})`), { code: 'ENETUNREACH' });
}

function patch(obj, key, via, async = false, allowIpc = false) {
  const original = obj[key];
  if (typeof original !== 'function') return;
  if (allowIpc) {
    obj[key] = function (...args) {
      if (isLocalIpc(args)) return original.apply(this, args);
      throw refuse(via, args);
    };
    return;
  }
  obj[key] = async
    ? async (...args) => {
        throw refuse(via, args);
      }
    : (...args) => {
        throw refuse(via, args);
      };
}

patch(net.Socket.prototype, 'connect', 'net.Socket.connect', false, true);
patch(net, 'connect', 'net.connect', false, true);
patch(net, 'createConnection', 'net.createConnection', false, true);
patch(tls, 'connect', 'tls.connect');
patch(dgram, 'createSocket', 'dgram.createSocket');
patch(http, 'request', 'http.request');
patch(http, 'get', 'http.get');
patch(https, 'request', 'https.request');
patch(https, 'get', 'https.get');
for (const fn of ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveTxt', 'resolveMx', 'resolveSrv', 'reverse']) {
  patch(dns, fn, `dns.${fn}`);
  patch(dns.promises, fn, `dns.promises.${fn}`, true);
}
patch(globalThis, 'fetch', 'fetch', true);
