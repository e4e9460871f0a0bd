// A search of images' text shows, on each tile, the recognised text around the matched words with
// those words highlighted: the one line starts just before the first match.
import { describe, expect, it } from 'vitest';
import { leadToMatch, snippetParts } from '../src/renderer/src/lib/snippet.js';

describe('text snippets on tiles', () => {
  it('splits a snippet into plain and highlighted runs', () => {
    const text = 'A manifestação reuniu milhares na avenida Paulista.';
    const s = text.indexOf('manifestação');
    const p = text.indexOf('Paulista');
    expect(snippetParts({ text, highlights: [[p, p + 8], [s, s + 12]] })).toEqual([
      { text: 'A ', mark: false },
      { text: 'manifestação', mark: true },
      { text: ' reuniu milhares na avenida ', mark: false },
      { text: 'Paulista', mark: true },
      { text: '.', mark: false },
    ]);
  });

  it('ignores ranges outside the text and overlapping ones', () => {
    expect(snippetParts({ text: 'abc def', highlights: [[0, 3], [1, 2], [5, 99], [4, 4]] })).toEqual([
      { text: 'abc', mark: true },
      { text: ' def', mark: false },
    ]);
  });

  it('starts the line at a word shortly before the first match, moving the highlights with it', () => {
    const text = '… moradores do bairro relatam falta de água há cinco dias segundo a rádio';
    const at = text.indexOf('água');
    const cut = leadToMatch({ text, highlights: [[at, at + 4]] }, 12);
    expect(cut.text.startsWith('…')).toBe(true);
    expect(cut.text).toContain('falta de água');
    expect(cut.text.length).toBeLessThan(text.length - 20);
    const [[s, e]] = cut.highlights;
    expect(cut.text.slice(s, e)).toBe('água');
    expect(cut.text[1]).not.toBe(' ');
  });

  it('leaves a snippet whose first match is near its start as it is', () => {
    const snippet = { text: 'Eleições: a apuração começa', highlights: [[0, 8]] as [number, number][] };
    expect(leadToMatch(snippet)).toBe(snippet);
  });
});
