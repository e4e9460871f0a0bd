import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TriagemError } from '../errors.js';
import { resourcesDir } from '../paths.js';

const PresetSchema = z.object({
  name: z.string().min(1),
  language: z.string().min(1),
  description: z.string(),
  labels: z.array(z.string().min(1)).min(1),
  templates: z.array(z.string().includes('{}')).optional(),
});
const PresetFileSchema = z.object({ version: z.literal(1), presets: z.array(PresetSchema) });

export type LabelPreset = z.infer<typeof PresetSchema>;

export function presetsFile(): string {
  return path.join(resourcesDir(), 'labels', 'presets.json');
}

export function loadPresets(file: string = presetsFile()): LabelPreset[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TriagemError(`cannot read label presets: ${(err as Error).message}`, 'presets-unreadable', file);
  }
  const parsed = PresetFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new TriagemError(`invalid label presets: ${parsed.error.issues[0]?.message ?? 'bad shape'}`, 'presets-invalid', file);
  }
  return parsed.data.presets;
}

export function findPreset(name: string, presets: readonly LabelPreset[] = loadPresets()): LabelPreset {
  const preset = presets.find((p) => p.name === name);
  if (!preset) {
    throw new TriagemError(
      `unknown preset "${name}"; available: ${presets.map((p) => p.name).join(', ')}`,
      'unknown-preset',
    );
  }
  return preset;
}
