import { doctor, type DoctorReport } from '../../app/index.js';
import { COMMON_OPTIONS, parse, type Command } from '../command.js';
import { formatBytes, safe } from '../format.js';
import { withApp } from '../options.js';

const USAGE = `triagem doctor [--device auto|cpu|cuda|dml|coreml] [--library <file>] [--models-dir <dir>] [--json]

Checks this install and says what it will run on: which execution providers work here (each is
tried on a one-node test graph, so no model is needed), which one --device would use and why not a
GPU, the CPU's vector extensions (inference speed depends on them), where models and the library
live, which models are installed and which model a Portuguese or an English job would use.
Changes nothing. Exit codes: 0 done, 1 fatal error, 2 usage error.`;

export const VERSION = '0.1.0';

function human(r: DoctorReport): string {
  const lines = [
    `Triagem ${r.triagem} — Node ${r.node} on ${r.platform}`,
    `CPU: ${r.cpu.model}, ${r.cpu.cores} cores${r.cpu.flags.length ? `, ${r.cpu.flags.join(' ')}` : ''}`,
    `ONNX Runtime ${r.onnxruntime.version} (backends in this build: ${r.onnxruntime.backends.join(', ')})`,
    '',
    'Execution providers:',
    ...r.providers.map((p) => `  ${p.usable ? 'ok ' : 'no '} ${p.provider.padEnd(6)} ${p.usable ? '' : safe(p.reason ?? '')}`.trimEnd()),
    '',
    `In use (--device ${r.device.requested}): ${r.device.provider.toUpperCase()} — ${safe(r.device.reason)}`,
    '',
    `Models folder: ${safe(r.modelsDir)}`,
    ...(r.models.length ? r.models.map((m) => `  ${m.installed ? 'installed' : 'available'}  ${m.id}${m.isDefault ? ' (default)' : ''}${m.problem ? ` — PROBLEM: ${safe(m.problem)}` : ''}`) : ['  (none)']),
    `Default model for Portuguese: ${safe(r.defaultModel.pt)}`,
    `Default model for English: ${safe(r.defaultModel.en)}`,
    '',
    `Library: ${safe(r.library.path)}${r.library.exists ? '' : ' (not created yet)'}`,
  ];
  if (r.library.exists) {
    if (r.library.error) lines.push(`  cannot be read: ${safe(r.library.error)}`);
    else lines.push(`  ${formatBytes(r.library.bytes ?? 0)}, ${r.library.files} files; embeddings: ${r.library.models?.join(', ') || 'none'}`);
  }
  lines.push(`Data folder: ${safe(r.dataDir)}`);
  return lines.join('\n');
}

export const doctorCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values } = parse(argv, COMMON_OPTIONS, false);
    const report = await withApp(values, (app) => doctor(app, VERSION));
    io.out(values.json ? JSON.stringify(report, null, 2) : human(report));
    return 0;
  },
};
