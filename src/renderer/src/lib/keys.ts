// The keyboard map, declared once: the window's handler and the "?" help dialog both read it.
// Keys are matched on `KeyboardEvent.code` (the physical key), so digits and letters work the same
// on a Brazilian ABNT2 keyboard, where Shift+1 types "!" and "/" sits on its own key.

export type Command =
  | { kind: 'label'; n: number }
  | { kind: 'accept' }
  | { kind: 'clear' }
  | { kind: 'keep' }
  | { kind: 'reject' }
  | { kind: 'unflag' }
  | { kind: 'grid' }
  | { kind: 'loupe' }
  | { kind: 'compare' }
  | { kind: 'similar' }
  | { kind: 'tag' }
  | { kind: 'info' }
  | { kind: 'undo' }
  | { kind: 'help' }
  | { kind: 'selectAll' };

export interface Matched {
  command: Command;
  /** Shift held on a marking key: mark, then go to the next photo. */
  advance: boolean;
}

const MARKING = new Set<Command['kind']>(['label', 'accept', 'clear', 'keep', 'reject', 'unflag']);

export function isMarking(command: Command): boolean {
  return MARKING.has(command.kind);
}

function digit(code: string): number | null {
  const m = /^(?:Digit|Numpad)([0-9])$/.exec(code);
  return m ? Number(m[1]) : null;
}

export function matchKey(e: Pick<KeyboardEvent, 'code' | 'key' | 'shiftKey' | 'ctrlKey' | 'metaKey' | 'altKey'>): Matched | null {
  const mod = e.ctrlKey || e.metaKey;
  if (e.altKey) return null;
  if (mod) {
    if (e.code === 'KeyZ' && !e.shiftKey) return { command: { kind: 'undo' }, advance: false };
    if (e.code === 'KeyA') return { command: { kind: 'selectAll' }, advance: false };
    return null;
  }
  if (e.key === '?' || e.code === 'F1') return { command: { kind: 'help' }, advance: false };
  const advance = e.shiftKey;
  const d = digit(e.code);
  if (d !== null) return { command: d === 0 ? { kind: 'clear' } : { kind: 'label', n: d }, advance };
  switch (e.code) {
    case 'Enter':
    case 'NumpadEnter':
      return { command: { kind: 'accept' }, advance };
    case 'KeyP':
      return { command: { kind: 'keep' }, advance };
    case 'KeyX':
      return { command: { kind: 'reject' }, advance };
    case 'KeyU':
      return { command: { kind: 'unflag' }, advance };
  }
  if (e.shiftKey) return null;
  switch (e.code) {
    case 'KeyG':
      return { command: { kind: 'grid' }, advance: false };
    case 'KeyE':
      return { command: { kind: 'loupe' }, advance: false };
    case 'KeyC':
      return { command: { kind: 'compare' }, advance: false };
    case 'KeyV':
      return { command: { kind: 'similar' }, advance: false };
    case 'KeyK':
      return { command: { kind: 'tag' }, advance: false };
    case 'KeyI':
      return { command: { kind: 'info' }, advance: false };
  }
  return null;
}

/** Rows of the help dialog: the keys as printed on a keyboard, and the i18n key of what they do. */
export const HELP: { section: 'marks' | 'navigate' | 'views' | 'other'; keys: string[]; does: HelpText }[] = [
  { section: 'marks', keys: ['1', '…', '9'], does: 'help.label' },
  { section: 'marks', keys: ['Enter'], does: 'help.accept' },
  { section: 'marks', keys: ['0'], does: 'help.clear' },
  { section: 'marks', keys: ['P'], does: 'help.keep' },
  { section: 'marks', keys: ['X'], does: 'help.reject' },
  { section: 'marks', keys: ['U'], does: 'help.unflag' },
  { section: 'marks', keys: ['Shift', '+', '@key'], does: 'help.advance' },
  { section: 'marks', keys: ['Ctrl', '+', 'Z'], does: 'help.undo' },
  { section: 'navigate', keys: ['←', '→', '↑', '↓'], does: 'help.arrows' },
  { section: 'navigate', keys: ['Home', 'End'], does: 'help.homeEnd' },
  { section: 'navigate', keys: ['Shift', '+', '←→↑↓'], does: 'help.extend' },
  { section: 'navigate', keys: ['@space'], does: 'help.toggle' },
  { section: 'navigate', keys: ['Ctrl', '+', 'A'], does: 'help.selectAll' },
  { section: 'views', keys: ['G'], does: 'help.grid' },
  { section: 'views', keys: ['E'], does: 'help.loupe' },
  { section: 'views', keys: ['C'], does: 'help.compare' },
  { section: 'views', keys: ['I'], does: 'help.info' },
  { section: 'other', keys: ['V'], does: 'help.similar' },
  { section: 'other', keys: ['K'], does: 'help.tag' },
  { section: 'other', keys: ['?'], does: 'help.help' },
  { section: 'other', keys: ['Esc'], does: 'help.escape' },
];

export type HelpText =
  | 'help.label'
  | 'help.accept'
  | 'help.clear'
  | 'help.keep'
  | 'help.reject'
  | 'help.unflag'
  | 'help.advance'
  | 'help.undo'
  | 'help.arrows'
  | 'help.homeEnd'
  | 'help.extend'
  | 'help.toggle'
  | 'help.selectAll'
  | 'help.grid'
  | 'help.loupe'
  | 'help.compare'
  | 'help.info'
  | 'help.similar'
  | 'help.tag'
  | 'help.help'
  | 'help.escape';

/** Typing in a field or pressing a button must not mark photos. */
export function typingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    return !['checkbox', 'radio', 'range', 'button', 'submit'].includes(type);
  }
  return false;
}
