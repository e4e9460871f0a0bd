import type { Command } from '../command.js';
import { debugEmbed, debugTensor, debugTokens } from './debug.js';

// Each command lives in its own module; add one line here per command.
export const COMMANDS: Command[] = [
  debugTokens,
  debugTensor,
  debugEmbed,
];
