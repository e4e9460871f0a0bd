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
function describe(args) {
  const a = args[0];
  if (a && typeof a === 'object') return `${a.host ?? a.path ?? ''}:${a.port ?? ''}`;
  return args.map(String).join(':');
}

globalThis.fetch = async (input) => {
  throw attempt('fetch', typeof input === 'string' ? input : (input && input.url) || input);
};
net.Socket.prototype.connect = function connect(...args) {
  throw attempt('connect', describe(args));
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
