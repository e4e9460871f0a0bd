import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, sniffDelimiter } from '../src/engine/eval/csv-read.js';
import { readLabelCsv, readLabels, readLabelTree, readPredictionsCsv } from '../src/engine/eval/truth.js';
import { tempDir } from './support/index-fixtures.js';

let work: string;
beforeAll(() => {
  work = tempDir('eval-truth');
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function write(rel: string, content: string | Buffer): string {
  const file = path.join(work, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe('parseCsv', () => {
  it('strips a BOM, reads CRLF, quotes, doubled quotes and line breaks inside quotes, and counts lines', () => {
    const text = '\uFEFFpath,label\r\n"a, b.jpg",meme\r\n"diz ""oi"".png","duas\r\nlinhas"\r\nc.jpg,doc\r\n';
    expect(parseCsv(text, 'x.csv')).toEqual([
      { line: 1, fields: ['path', 'label'] },
      { line: 2, fields: ['a, b.jpg', 'meme'] },
      { line: 3, fields: ['diz "oi".png', 'duas\r\nlinhas'] },
      { line: 5, fields: ['c.jpg', 'doc'] },
    ]);
  });

  it('skips blank lines, keeps a last row without a newline, and keeps empty fields', () => {
    expect(parseCsv('a,b\n\n\nc,\n,d', 'x.csv')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 4, fields: ['c', ''] },
      { line: 5, fields: ['', 'd'] },
    ]);
  });

  it('takes ";" from a Portuguese-locale spreadsheet and tab from a TSV', () => {
    expect(sniffDelimiter('caminho;rótulo\nfoto,1.jpg;dia')).toBe(';');
    expect(sniffDelimiter('"a;b",c\n')).toBe(',');
    expect(sniffDelimiter('path\tlabel\n')).toBe('\t');
    expect(parseCsv('caminho;rótulo\r\nfoto,1.jpg;dia', 'x.csv')[1].fields).toEqual(['foto,1.jpg', 'dia']);
  });

  it('an unclosed quote is an error naming the file and the line it opened on', () => {
    expect(() => parseCsv('path,label\na.jpg,meme\n"b.jpg,doc\nc.jpg,doc\n', '/t/gabarito.csv')).toThrow('/t/gabarito.csv:3: unclosed quote');
  });
});

describe('ground truth from a CSV', () => {
  it('resolves relative paths against the CSV folder, keeps absolute ones, and lists labels in order', () => {
    const abs = path.join(work, 'elsewhere', 'x.jpg');
    const file = write('csv1/sub/gabarito.csv', `\uFEFFpath,label\r\nfotos/1.jpg,noite\r\n../2.jpg,dia\r\n${abs},Noite\r\n`);
    const set = readLabelCsv(file, 'truth');
    expect(set.kind).toBe('csv');
    expect(set.labels).toEqual(['noite', 'dia']);
    expect([...set.entries]).toEqual([
      [path.join(work, 'csv1/sub/fotos/1.jpg'), 'noite'],
      [path.join(work, 'csv1/2.jpg'), 'dia'],
      // "Noite" is the same label as "noite", as sort labels are compared.
      [abs, 'noite'],
    ]);
    expect(set.problems).toEqual([]);
  });

  it('reads a file without a header as path,label by position', () => {
    const set = readLabelCsv(write('csv2/g.csv', 'a.jpg,dia\nb.jpg,noite\n'), 'truth');
    expect(set.entries.get(path.join(work, 'csv2/a.jpg'))).toBe('dia');
    expect(set.entries.size).toBe(2);
  });

  it('finds columns by name in any order, in Portuguese too', () => {
    const set = readLabelCsv(write('csv3/g.csv', 'nota;rótulo;arquivo\nx;dia;a.jpg\n'), 'truth');
    expect([...set.entries]).toEqual([[path.join(work, 'csv3/a.jpg'), 'dia']]);
  });

  it('reports bad rows by line and goes on with the rest', () => {
    const file = write('csv4/g.csv', 'path,label\na.jpg,dia\nb.jpg,\n,noite\nc.jpg\na.jpg,noite\nd.jpg,unsure\ne.jpg,noite\n');
    const set = readLabelCsv(file, 'truth');
    expect([...set.entries.keys()].map((p) => path.basename(p))).toEqual(['a.jpg', 'e.jpg']);
    expect(set.problems.map((p) => [p.line, p.message])).toEqual([
      [3, `no label for b.jpg`],
      [4, 'no path'],
      [5, 'expected at least 2 fields, found 1'],
      [6, `${path.join(work, 'csv4/a.jpg')} is labelled "noite" here but "dia" on line 2; keeping line 2`],
      [7, `${path.join(work, 'csv4/d.jpg')} is marked "unsure": no ground truth, left out`],
    ]);
    expect(set.problems.every((p) => p.file === file)).toBe(true);
  });

  it('an annotator may use "unsure" as a label', () => {
    const set = readLabelCsv(write('csv5/g.csv', 'a.jpg,unsure\n'), 'annotations');
    expect([...set.entries.values()]).toEqual(['unsure']);
  });

  it('a header naming only one of the two columns is an error at line 1', () => {
    const file = write('csv6/g.csv', 'path,classificação\na.jpg,dia\n');
    expect(() => readLabelCsv(file, 'truth')).toThrow(`${file}:1: the header row has no a label column`);
  });

  it('empty, missing, UTF-16 and non-UTF-8 files are errors naming the file', () => {
    expect(() => readLabels(write('csv7/empty.csv', '\uFEFF'), 'truth')).toThrow(/empty.csv: is empty/);
    expect(() => readLabels(path.join(work, 'nope.csv'), 'truth')).toThrow(/nope.csv: cannot read labels/);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('path,label\n', 'utf16le')]);
    expect(() => readLabels(write('csv7/u16.csv', utf16), 'truth')).toThrow(/u16.csv: is UTF-16 text; save it as "CSV UTF-8"/);
    expect(() => readLabels(write('csv7/latin1.csv', Buffer.from([0x61, 0x2c, 0xe7, 0x0a])), 'truth')).toThrow(/latin1.csv: is not UTF-8/);
  });
});

describe('predictions from a CSV', () => {
  it('reads the results CSV of `triagem sort`: path column wins, unsure rows keep their best label', () => {
    const file = write(
      'pred1/triagem-results.csv',
      'image_name,label,score,path,sha256,score:dia,score:noite\r\n' +
        'a.jpg,dia,0.900000,/fotos/a.jpg,AB12,0.900000,0.100000\r\n' +
        'b.jpg,unsure,0.550000,/fotos/b.jpg,cd34,0.450000,0.550000\r\n',
    );
    const set = readPredictionsCsv(file);
    expect(set.labels).toEqual(['dia', 'noite']);
    expect(set.entries.get('/fotos/a.jpg')).toEqual({ path: '/fotos/a.jpg', label: 'dia', score: 0.9, top: 'dia', sha256: 'ab12' });
    expect(set.entries.get('/fotos/b.jpg')).toEqual({ path: '/fotos/b.jpg', label: 'unsure', score: 0.55, top: 'noite', sha256: 'cd34' });
  });

  it('reads path;label;score with decimal commas, and reports a score that is not a number', () => {
    const set = readPredictionsCsv(write('pred2/p.csv', 'caminho;rótulo;score\na.jpg;dia;0,75\nb.jpg;noite;muito\nc.jpg;noite;\n'));
    expect(set.entries.get(path.join(work, 'pred2/a.jpg'))?.score).toBe(0.75);
    expect(set.entries.get(path.join(work, 'pred2/c.jpg'))?.score).toBeNull();
    expect(set.problems.map((p) => [p.line, p.message])).toEqual([[3, 'score "muito" is not a number; row left out']]);
  });
});

describe('ground truth from a folder tree', () => {
  it('one folder per label, images at any depth; hidden, non-image and unsure entries handled', () => {
    const root = path.join(work, 'tree');
    write('tree/dia/1.jpg', 'x');
    write('tree/dia/2023/praia/2.PNG', 'x');
    write('tree/dia/.DS_Store', 'x');
    write('tree/dia/notas.txt', 'x');
    write('tree/noite/3.webp', 'x');
    write('tree/.escondida/4.jpg', 'x');
    write('tree/vazia/.keep', '');
    write('tree/solta.jpg', 'x');
    write('tree/triagem-results.csv', 'x');
    write('tree/unsure/5.jpg', 'x');
    const set = readLabelTree(root, 'truth');
    expect(set.kind).toBe('folders');
    expect(set.labels).toEqual(['dia', 'noite', 'vazia']);
    expect([...set.entries].map(([p, l]) => [path.relative(root, p), l]).sort()).toEqual([
      ['dia/1.jpg', 'dia'],
      ['dia/2023/praia/2.PNG', 'dia'],
      ['noite/3.webp', 'noite'],
    ]);
    expect(set.problems).toEqual([
      { file: path.join(root, 'solta.jpg'), message: 'is not inside a label folder; left out' },
      { file: path.join(root, 'unsure'), message: '1 image(s) in "unsure" have no ground truth; left out' },
    ]);
    expect(readLabels(root, 'truth').entries.size).toBe(3);
  });

  it('a folder without label folders is an error naming it', () => {
    write('flat/a.jpg', 'x');
    expect(() => readLabelTree(path.join(work, 'flat'), 'truth')).toThrow(/flat: has no label folders/);
  });

  it('label folder names decomposed by macOS are NFC labels', () => {
    write('nfd/cafe\u0301/a.jpg', 'x');
    expect(readLabelTree(path.join(work, 'nfd'), 'truth').labels).toEqual(['café']);
  });
});
