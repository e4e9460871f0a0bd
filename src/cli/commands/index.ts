import type { Command } from '../command.js';
import { indexCommand } from './index-cmd.js';
import { sortCommand } from './sort.js';
import { undoCommand } from './undo.js';
import { verifyExportCommand } from './verify-export.js';
import { serveCommand } from './serve.js';
import { debugEmbed, debugTensor, debugTokens } from './debug.js';
import { MODELS_COMMANDS } from './models.js';
import { searchCommand } from './search.js';
import { similarCommand } from './similar.js';
import { duplicatesCommand } from './duplicates.js';
import { tagCommand } from './tag.js';

// Each command lives in its own module; add one line here per command.
export const COMMANDS: Command[] = [
  indexCommand,
  sortCommand,
  undoCommand,
  verifyExportCommand,
  debugTokens,
  debugTensor,
  debugEmbed,
  ...MODELS_COMMANDS,
  serveCommand,
  searchCommand,
  similarCommand,
  duplicatesCommand,
  tagCommand,
];
