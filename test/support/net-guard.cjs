// Preloaded with `node --require` into a child process (and, through inherited execArgv, into its
// worker threads): every attempt to reach the network is appended to $TRIAGEM_NET_LOG and fails.
// Used to prove the OCR engine never fetches anything.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const dns = require('node:dns');
const dgram = require('node:dgram');
const { isMainThread } = require('node:worker_threads');

const logFile = process.env.TRIAGEM_NET_LOG;
function attempt(kind, target) {
  const line = `${kind} ${String(target)} ${isMainThread ? 'main' : 'worker'}\n`;
  if (logFile) fs.appendFileSync(logFile, line);
  return new Error(`network access blocked by the test: ${line.trim()}`);
}

globalThis.fetch = async (input) => {
  throw attempt('fetch', typeof input === 'string' ? input : (input && input.url) || input);
};
// Local IPC (a Unix socket or Windows pipe, given as a path: tsx talks to its parent that way) is
// not the network; TCP, given as a port and host, is.
const localConnect = net.Socket.prototype.connect;
function target(args) {
  const a = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (a && typeof a === 'object') return a;
  if (typeof a === 'string' && !/^\d+$/.test(a)) return { path: a };
  return { port: a, host: args[1] };
}
net.Socket.prototype.connect = function connect(...args) {
  const t = target(args);
  if (t.path !== undefined && t.port === undefined) return localConnect.apply(this, args);
  throw attempt('connect', `${t.host ?? 'localhost'}:${t.port}`);
};
dns.lookup = function lookup(host) {
  throw attempt('dns', host);
};
dns.promises.lookup = async (host) => {
  throw attempt('dns', host);
};
dgram.Socket.prototype.send = function send() {
  throw attempt('udp', 'send');
};
