// The window's logic that needs no browser: what a drop carries, the key map on a Brazilian ABNT2
// keyboard, Intl formatting, and the two translations staying complete and in step.
import { describe, expect, it } from 'vitest';
import en from '../src/renderer/src/i18n/en.js';
import ptBR from '../src/renderer/src/i18n/pt-BR.js';
import { pathsFromUriList } from '../src/renderer/src/lib/drop.js';
import { formatBytes, formatDuration, formatGps, formatNumber } from '../src/renderer/src/lib/format.js';
import { HELP, isMarking, matchKey } from '../src/renderer/src/lib/keys.js';

type Key = Parameters<typeof matchKey>[0];
const key = (code: string, k: string, mods: Partial<Key> = {}): Key => ({ code, key: k, shiftKey: false, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe('drops from a file manager', () => {
  it('reads file:// URIs from text/uri-list, skipping comments and other schemes', () => {
    const list = ['# dropped by Nautilus', 'file:///home/ana/Fotos/pauta%20hoje/', 'file:///home/ana/Fotos/a%C3%A7%C3%A3o.jpg', 'https://example.org/x.jpg', '', 'file:///home/ana/Fotos/pauta%20hoje'].join('\r\n');
    expect(pathsFromUriList(list)).toEqual(['/home/ana/Fotos/pauta hoje', '/home/ana/Fotos/ação.jpg']);
  });

  it('turns Windows drive and UNC URIs into Windows paths', () => {
    expect(pathsFromUriList('file:///C:/Users/ana/Fotos')).toEqual(['C:\\Users\\ana\\Fotos']);
    expect(pathsFromUriList('file://servidor/redacao/fotos')).toEqual(['\\\\servidor\\redacao\\fotos']);
  });

  it('ignores what is not a URI', () => {
    expect(pathsFromUriList('not a uri\n/tmp/x')).toEqual([]);
  });
});

describe('the key map matches physical keys', () => {
  it('Shift+digit on ABNT2 (which types "!", "@", "#"…) still assigns that label, and advances', () => {
    expect(matchKey(key('Digit1', '!', { shiftKey: true }))).toEqual({ command: { kind: 'label', n: 1 }, advance: true });
    expect(matchKey(key('Digit2', '@', { shiftKey: true }))).toEqual({ command: { kind: 'label', n: 2 }, advance: true });
    expect(matchKey(key('Numpad9', '9'))).toEqual({ command: { kind: 'label', n: 9 }, advance: false });
    expect(matchKey(key('Digit0', '0'))).toEqual({ command: { kind: 'clear' }, advance: false });
  });

  it('letters by position, whatever the layout prints on them', () => {
    expect(matchKey(key('KeyX', 'x', { shiftKey: true }))).toEqual({ command: { kind: 'reject' }, advance: true });
    expect(matchKey(key('KeyP', 'p'))?.command).toEqual({ kind: 'keep' });
    expect(matchKey(key('KeyU', 'u'))?.command).toEqual({ kind: 'unflag' });
    expect(matchKey(key('Enter', 'Enter', { shiftKey: true }))).toEqual({ command: { kind: 'accept' }, advance: true });
    expect(matchKey(key('KeyE', 'e'))?.command).toEqual({ kind: 'loupe' });
    expect(matchKey(key('KeyV', 'v'))?.command).toEqual({ kind: 'similar' });
    expect(matchKey(key('KeyK', 'k'))?.command).toEqual({ kind: 'tag' });
  });

  it('"?" on ABNT2 sits on its own key (IntlRo) and still opens the map; Ctrl+Z undoes', () => {
    expect(matchKey(key('IntlRo', '?', { shiftKey: true }))?.command).toEqual({ kind: 'help' });
    expect(matchKey(key('Slash', '?', { shiftKey: true }))?.command).toEqual({ kind: 'help' });
    expect(matchKey(key('KeyZ', 'z', { ctrlKey: true }))?.command).toEqual({ kind: 'undo' });
    expect(matchKey(key('KeyZ', 'z', { metaKey: true }))?.command).toEqual({ kind: 'undo' });
  });

  it('leaves the browser and system shortcuts alone', () => {
    expect(matchKey(key('KeyC', 'c', { ctrlKey: true }))).toBeNull();
    expect(matchKey(key('KeyE', 'e', { altKey: true }))).toBeNull();
    expect(matchKey(key('KeyG', 'G', { shiftKey: true }))).toBeNull();
    expect(matchKey(key('KeyQ', 'q'))).toBeNull();
  });

  it('marks are told apart from view keys, and the help lists every command once', () => {
    expect(isMarking({ kind: 'accept' })).toBe(true);
    expect(isMarking({ kind: 'loupe' })).toBe(false);
    const does = HELP.map((h) => h.does);
    expect(new Set(does).size).toBe(does.length);
  });
});

describe('Intl formatting in both languages', () => {
  it('numbers and sizes read the way each language writes them', () => {
    expect(formatNumber('pt-BR', 20000)).toBe('20.000');
    expect(formatNumber('en', 20000)).toBe('20,000');
    expect(formatBytes('pt-BR', 4_800_000)).toBe('4,8 MB');
    expect(formatBytes('en', 785_000_000)).toBe('785 MB');
    expect(formatBytes('en', 999)).toBe('999 B');
    expect(formatGps('pt-BR', -23.55, -46.63)).toBe('23,55000° S, 46,63000° W');
  });

  it('durations', () => {
    expect(formatDuration('pt-BR', 42)).toMatch(/^42\s?s$/);
    expect(formatDuration('pt-BR', 300)).toMatch(/^5\s?min$/);
  });
});

type Tree = { readonly [key: string]: string | Tree };

function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of leaves(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

describe('translations', () => {
  const pt = leaves(ptBR);
  const eng = leaves(en as Tree);

  it('English has exactly the keys Portuguese has, each one translated (only names and units read the same)', () => {
    expect([...eng.keys()].sort()).toEqual([...pt.keys()].sort());
    const same = [...pt].filter(([k, v]) => eng.get(k) === v).map(([k]) => k);
    expect(same.sort()).toEqual(
      ['app.title', 'common.none', 'duplicates.resolution', 'evaluate.f1', 'firstRun.otherTitle', 'firstRun.rate', 'index.rate', 'info.gps', 'info.pixels', 'info.sha256'].sort(),
    );
    for (const [k, v] of eng) expect(v.trim(), k).not.toBe('');
  });

  it('both languages use the same placeholders in every string', () => {
    const vars = (s: string) => [...s.matchAll(/\{\{(\w+)/g)].map((m) => m[1]).sort();
    for (const [k, v] of pt) expect(vars(eng.get(k) ?? ''), k).toEqual(vars(v));
  });

  it('every plural has its one and other forms', () => {
    for (const tree of [pt, eng]) {
      for (const k of tree.keys()) {
        if (k.endsWith('_one')) expect(tree.has(k.replace(/_one$/, '_other')), k).toBe(true);
        if (k.endsWith('_other')) expect(tree.has(k.replace(/_other$/, '_one')), k).toBe(true);
      }
    }
  });
});
