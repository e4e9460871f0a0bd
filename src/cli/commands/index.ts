import type { CommandEntry } from '../command.js';

// The command list. Each command lives in its own module, loaded only when it runs; add one entry
// here per command.
export const COMMANDS: CommandEntry[] = [
  { name: 'index', summary: 'Add the images in folders to the library (incremental; run again to update)', load: async () => (await import('./index-cmd.js')).indexCommand },
  { name: 'sort', summary: 'Sort images into labels (copy/move into label folders, CSV/JSON results, undoable)', load: async () => (await import('./sort.js')).sortCommand },
  { name: 'undo', summary: 'Revert a `triagem sort` copy/move from its journal (safe to run again)', load: async () => (await import('./undo.js')).undoCommand },
  { name: 'verify-export', summary: 'Check an export folder against its manifest-sha256.txt (nothing lost, nothing altered)', load: async () => (await import('./verify-export.js')).verifyExportCommand },
  { name: 'search', summary: 'Find images by description (any language the model knows), with filters', load: async () => (await import('./search.js')).searchCommand },
  { name: 'similar', summary: 'Find images that look like a given image (in the library or not)', load: async () => (await import('./similar.js')).similarCommand },
  { name: 'duplicates', summary: 'Group identical and near-identical images', load: async () => (await import('./duplicates.js')).duplicatesCommand },
  { name: 'eval', summary: 'Measure sorting against checked labels: accuracy, F1, kappa, baseline, threshold, few-shot', load: async () => (await import('./eval.js')).evalCommand },
  { name: 'agreement', summary: "Agreement between two annotators: Cohen's kappa, observed agreement, disagreements", load: async () => (await import('./agreement.js')).agreementCommand },
  { name: 'tag', summary: 'Add, remove or list tags on images (for search --tag)', load: async () => (await import('./tag.js')).tagCommand },
  { name: 'models', summary: 'Manage models: list, download, import, verify, remove', load: async () => (await import('./models.js')).modelsHelp },
  { name: 'models list', summary: 'List catalog models and installed models', load: async () => (await import('./models.js')).listCommand },
  { name: 'models download', summary: 'Download a catalog model (resumable; verified against pinned checksums)', load: async () => (await import('./models.js')).downloadCommand },
  { name: 'models import', summary: 'Validate a local model folder (transformers.js or Immich layout) and copy it into the models folder', load: async () => (await import('./models.js')).importCommand },
  { name: 'models verify', summary: 'Re-hash an installed model against its manifest', load: async () => (await import('./models.js')).verifyCommand },
  { name: 'models remove', summary: 'Delete an installed model', load: async () => (await import('./models.js')).removeCommand },
  { name: 'doctor', summary: 'Check this install: execution providers (CPU/CUDA/…), models, library, and why a GPU is not used', load: async () => (await import('./doctor.js')).doctorCommand },
  { name: 'serve', summary: 'Run the Triagem interface in your browser (local server on 127.0.0.1)', load: async () => (await import('./serve.js')).serveCommand },
  { name: 'debug tokens', summary: 'Print the token ids and attention mask fed to the text model, as JSON', load: async () => (await import('./debug.js')).debugTokens },
  { name: 'debug tensor', summary: 'Write the vision input for an image as raw little-endian float32, channel-first [3,H,W]', load: async () => (await import('./debug.js')).debugTensor },
  { name: 'debug embed', summary: 'Print the L2-normalized embedding of a text or an image, as JSON', load: async () => (await import('./debug.js')).debugEmbed },
];
