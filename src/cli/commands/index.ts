import type { Command } from '../command.js';

// Each command lives in its own module; add one line here per command.
export const COMMANDS: Command[] = [];
