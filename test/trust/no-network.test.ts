// Trust suite, part 5: no network, ever. First the guard proves it sees every kind of attempt (in
// this process and in a child), so a pass below means something; then the whole job — index, sort
// with export, search, similar, duplicates, verify-export, undo — runs as real CLI processes and
// in-process under the guard, and not one connection or DNS lookup may happen.
import dgram from 'node:dgram';
import dns from 'node:dns';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { colourModelDir } from '../support/models.js';
import { writePhotoTree } from '../support/sort-fixtures.js';
import { childEnv, takeAttempts, useNoNetwork } from './support/no-network.js';
import { recordFigures, runNode, trustDir } from './support/trust-fixtures.js';

describe('trust: no network', () => {
  useNoNetwork('no network');
  let root: string;
  let modelDir: string;
  const figures = { commands: 0, connections: 0, guardCaught: 0 };

  beforeAll(async () => {
    root = trustDir('net');
    modelDir = await colourModelDir();
  });
  afterAll(() => {
    recordFigures('no-network', { ...figures });
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('the guard catches every kind of attempt, here and in child processes (so it can fail a test)', async () => {
    const tries: [string, () => unknown][] = [
      ['http', () => http.get('http://127.0.0.1:9/')],
      ['dns', () => dns.lookup('example.com', () => undefined)],
      ['dns.promises', () => dns.promises.lookup('example.com')],
      ['net', () => net.connect(443, '10.255.255.1')],
      ['socket', () => new net.Socket().connect(80, 'example.com')],
      ['udp', () => dgram.createSocket('udp4')],
      ['fetch', () => fetch('https://huggingface.co/')],
    ];
    for (const [, attempt] of tries) {
      try {
        await attempt();
      } catch {
        // refused, as it should be
      }
    }
    // Local IPC (a Unix socket) is not the network and stays allowed.
    const sock = path.join(root, 'ipc.sock');
    const server = net.createServer((c) => c.end('ok')).listen(sock);
    await new Promise((r) => server.once('listening', r));
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.createConnection(sock);
      let got = '';
      c.on('data', (d) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    server.close();
    expect(reply).toBe('ok');
    const script = [
      "fetch('http://example.com').catch(() => {});",
      "try { require('node:dns').lookup('example.com', () => {}); } catch {}",
      "try { require('node:net').connect(80, '1.2.3.4'); } catch {}",
    ].join(' ');
    const child = await runNode(['-e', script], childEnv());
    expect(child.code, child.stderr).toBe(0);
    const seen = takeAttempts();
    figures.guardCaught = seen.length;
    expect(seen.filter((a) => a.pid === process.pid).map((a) => a.via)).toEqual([
      'http.get',
      'dns.lookup',
      'dns.promises.lookup',
      'net.connect',
      'net.Socket.connect',
      'dgram.createSocket',
      'fetch',
    ]);
    expect(seen.filter((a) => a.pid !== process.pid).map((a) => a.via).sort()).toEqual(['dns.lookup', 'fetch', 'net.connect']);
  });

  it('index, sort + export, search, similar, duplicates, verify-export and undo make no connection (CLI processes and in-process)', async () => {
    const photos = path.join(root, 'fotos');
    const dest = path.join(root, 'saída');
    const lib = path.join(root, 'lib.sqlite');
    await writePhotoTree(photos);
    const env = childEnv({ TRIAGEM_DATA_DIR: process.env.TRIAGEM_DATA_DIR });
    const cli = (args: string[]) => runNode(['bin/triagem.js', ...args], env);
    const common = ['--library', lib, '--model', modelDir];
    const steps: string[][] = [
      ['index', photos, ...common],
      ['sort', '--source', photos, '--destination', dest, '--operation', 'copy', '--labels', 'vermelho, verde, azul', ...common],
      ['search', 'vermelho', ...common],
      ['similar', path.join(photos, 'viagem', 'foto.jpg'), ...common],
      ['duplicates', ...common],
      ['verify-export', dest],
    ];
    for (const args of steps) {
      const r = await cli(args);
      figures.commands++;
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    }
    const journal = fs.readdirSync(dest).find((f) => f.startsWith('.triagem-journal-'))!;
    const undo = await cli(['undo', path.join(dest, journal)]);
    figures.commands++;
    expect(undo.code, undo.stderr).toBe(0);
    // The same in this process (the guard is installed around the test).
    for (const args of steps.slice(0, 5)) {
      const r = await runCli(args[0] === 'sort' ? [...args.slice(0, 4), path.join(root, 'saída-2'), ...args.slice(5)] : args);
      figures.commands++;
      expect(r.code, `${args[0]}: ${r.err}`).toBe(0);
    }
    const made = takeAttempts();
    figures.connections += made.length;
    expect(made).toEqual([]);
  }, 300_000);
});
