// A model catalog served by the loopback Hub mock: the colour model's files under the two ids the
// real catalog ships (the multilingual default for Portuguese and the English default), so the
// window's first run can download with real progress, cancel and resume, with no network.
import fs from 'node:fs';
import path from 'node:path';
import { parseCatalog, type CatalogFile } from '../../src/engine/models/catalog.js';
import { startHubMock, sha256, type HubMock } from './hub-mock.js';
import { colourModelDir } from './models.js';

export const HUB_REPO = 'triagem-test/colour-clip';
export const HUB_REVISION = '0123456789abcdef0123456789abcdef01234567';
export const MULTILINGUAL_ID = 'siglip2-b16-224';
export const ENGLISH_ID = 'clip-vit-b32';

export interface ModelHub {
  hub: HubMock;
  /** Pass as TRIAGEM_CATALOG. */
  catalogFile: string;
  close(): Promise<void>;
}

function walk(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? walk(dir, r) : [r];
  });
}

export async function startModelHub(dir: string): Promise<ModelHub> {
  const source = await colourModelDir();
  // The generator's stamp and manifest are bookkeeping, not files a Hub repo would hold.
  const files = walk(source).filter((p) => p !== 'triagem-model.json' && !path.basename(p).startsWith('.'));
  const hub = await startHubMock({
    repo: HUB_REPO,
    revision: HUB_REVISION,
    files: files.map((p) => ({ path: p, content: fs.readFileSync(path.join(source, p)), lfs: p.endsWith('.onnx') })),
  });
  const pin = (p: string): CatalogFile => {
    const content = fs.readFileSync(path.join(source, p));
    return { path: p, size: content.length, sha256: sha256(content) };
  };
  const shared = files.filter((p) => !p.endsWith('.onnx')).map(pin);
  const quantized = [pin('onnx/vision_model_quantized.onnx'), pin('onnx/text_model_quantized.onnx')];
  const base = {
    family: 'clip',
    layout: 'xenova',
    repo: HUB_REPO,
    revision: HUB_REVISION,
    license: 'MIT',
    scoring: { kind: 'softmax', logitScale: 100, logitBias: 0 },
    defaultPrecision: 'quantized',
    files: shared,
    precisions: { quantized },
  } as const;
  const catalog = parseCatalog({
    version: 1,
    models: [
      { ...base, id: ENGLISH_ID, name: 'CLIP ViT-B/32 (test stand-in)', description: 'Colour test model standing in for CLIP ViT-B/32.', languages: ['en'], default: true },
      {
        ...base,
        id: MULTILINGUAL_ID,
        name: 'SigLIP2 B/16 (test stand-in)',
        description: 'Colour test model standing in for the multilingual SigLIP2.',
        languages: ['pt', 'en'],
        default: false,
        defaultFor: ['pt'],
      },
    ],
  });
  fs.mkdirSync(dir, { recursive: true });
  const catalogFile = path.join(dir, 'catalog.json');
  fs.writeFileSync(catalogFile, JSON.stringify(catalog));
  return { hub, catalogFile, close: () => hub.close() };
}
