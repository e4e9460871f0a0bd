// Remembers the window's size, place and maximized state between runs (a small JSON file in the
// user data folder). A saved place that is no longer on any screen is dropped, so the window never
// opens off-screen after a monitor is unplugged.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const stateSchema = z.object({
  width: z.number().int().min(400).max(20_000),
  height: z.number().int().min(300).max(20_000),
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  maximized: z.boolean().default(false),
});
export type WindowState = z.infer<typeof stateSchema>;

export const DEFAULT_WINDOW_STATE: WindowState = { width: 1440, height: 900, maximized: false };

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function loadWindowState(file: string, screens: readonly Rect[]): WindowState {
  let state: WindowState;
  try {
    state = stateSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    return { ...DEFAULT_WINDOW_STATE };
  }
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y } = state;
  // At least a 100 px strip of the title bar must be on some screen.
  const visible = screens.some((s) => x + 100 > s.x && x < s.x + s.width - 100 && y >= s.y && y < s.y + s.height - 50);
  return visible ? state : { width: state.width, height: state.height, maximized: state.maximized };
}

export function saveWindowState(file: string, state: WindowState): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, file);
  } catch {
    // Losing the window size is not worth an error dialog.
  }
}
