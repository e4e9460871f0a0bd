// The hostile corpus of issue B, generated: what a scraped channel or a seized drive throws at the
// indexer. Each case says what a correct run does with it; the test checks that nothing crashes,
// hangs or changes a byte, and that every case gets that answer.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { colour, encodeImage, pixels } from '../../support/index-fixtures.js';
import { Prng } from '../../support/synthetic/prng.js';

export type Expect =
  /** Indexed: a row in the library. */
  | 'indexed'
  /** Listed in `failed` with a reason. */
  | 'failed'
  /** Counted as skipped (not an image) or not a regular file at all: no row, no failure. */
  | 'skipped'
  /** A symbolic link leading out of the folder: reported in `warnings`, not followed. */
  | 'warning'
  /** Unreadable to an ordinary user (chmod 000): failed as one, indexed as root. */
  | 'denied';

export interface CorpusCase {
  /** Path relative to the corpus root, as the scan reports it. */
  rel: string;
  kind: string;
  expect: Expect;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A PNG whose header claims `w`×`h` over a few real bytes of data: the classic decompression bomb header. */
function bombPng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real small JPEG with its SOF0 frame size patched to `w`×`h`. */
function bombJpeg(jpeg: Buffer, w: number, h: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      out.writeUInt16BE(h, i + 5);
      out.writeUInt16BE(w, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

/** A GIF whose screen and image claim 65535×65535. */
function bombGif(): Buffer {
  const header = Buffer.from('GIF89a', 'ascii');
  const screen = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00]);
  const image = Buffer.from([0x2c, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b]);
  return Buffer.concat([header, screen, image]);
}

/** Sets the EXIF Orientation value of a JPEG written with orientation `from` to any number (0, 9…). */
function patchOrientation(jpeg: Buffer, value: number): Buffer {
  const out = Buffer.from(jpeg);
  // Tag 0x0112, type SHORT (3), count 1, in either byte order.
  for (let i = 0; i < out.length - 10; i++) {
    if (out[i] === 0x01 && out[i + 1] === 0x12 && out[i + 2] === 0x00 && out[i + 3] === 0x03) {
      out.writeUInt16BE(value, i + 8);
      return out;
    }
    if (out[i] === 0x12 && out[i + 1] === 0x01 && out[i + 2] === 0x03 && out[i + 3] === 0x00) {
      out.writeUInt16LE(value, i + 8);
      return out;
    }
  }
  throw new Error('no orientation tag');
}

/** Writes the corpus under `root` (which must exist) and lists its cases. `outside` is a folder beside it. */
export async function writeHostileCorpus(root: string, outside: string): Promise<CorpusCase[]> {
  const cases: CorpusCase[] = [];
  const put = (rel: string, data: Buffer | string, kind: string, expect: Expect) => {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
    cases.push({ rel, kind, expect });
  };
  const jpeg = await encodeImage(colour('red'), { format: 'jpeg', width: 64, height: 48, seed: 1 });
  const png = await encodeImage(colour('green'), { format: 'png', width: 40, height: 30, seed: 2 });
  const webp = await encodeImage(colour('blue'), { format: 'webp', width: 40, height: 30, seed: 3 });
  const prng = new Prng(77);
  const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(prng.next() * 256)));

  // Corrupt, truncated, empty.
  put('corrupt.jpg', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), noise(3000)]), 'corrupt', 'failed');
  put('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'truncated', 'failed');
  put('truncated.png', png.subarray(0, Math.floor(png.length / 2)), 'truncated', 'failed');
  put('empty.jpg', Buffer.alloc(0), '0-byte', 'failed');
  put('empty.png', Buffer.alloc(0), '0-byte', 'failed');
  put('corrupt.bmp', Buffer.concat([Buffer.from('BM'), noise(80)]), 'corrupt', 'failed');
  put('fake.heic', Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic'), noise(200)]), 'corrupt', 'failed');
  // Mislabelled extensions: the bytes decide.
  put('png-named.jpg', png, 'mislabelled extension', 'indexed');
  put('jpeg-named.gif', jpeg, 'mislabelled extension', 'indexed');
  put('webp-named.png', webp, 'mislabelled extension', 'indexed');
  put('semextensao', jpeg, 'no extension', 'indexed');
  // Decompression bomb headers.
  put('bomb.png', bombPng(100_000, 100_000), 'decompression bomb header', 'failed');
  put('bomb.jpg', bombJpeg(jpeg, 65_500, 65_500), 'decompression bomb header', 'failed');
  put('bomb.gif', bombGif(), 'decompression bomb header', 'failed');
  // Not images at all, named as images.
  put('text.jpg', 'hello, I am not a JPEG\n', 'non-image named .jpg', 'failed');
  put('zip.jpg', Buffer.concat([Buffer.from('PK\x03\x04'), noise(500)]), 'non-image named .jpg', 'failed');
  put('elf.png', Buffer.concat([Buffer.from('\x7fELF'), noise(500)]), 'non-image named .png', 'failed');
  put('notes.txt', 'just notes', 'non-image', 'skipped');
  // Animated GIF (first frame), CMYK and 16-bit TIFF.
  const frames = 3;
  const anim = Buffer.concat(Array.from({ length: frames }, (_, i) => pixels(colour(['red', 'green', 'blue'][i]), 32, 24, i)));
  put('animated.gif', await sharp(anim, { raw: { width: 32, height: 24 * frames, channels: 3, pageHeight: 24 } as never }).gif({ loop: 0 }).toBuffer(), 'animated GIF', 'indexed');
  put('cmyk.tif', await sharp(pixels(colour('yellow'), 40, 30, 5), { raw: { width: 40, height: 30, channels: 3 } }).toColourspace('cmyk').tiff().toBuffer(), 'CMYK TIFF', 'indexed');
  put('rgb16.tif', await sharp(pixels(colour('purple'), 40, 30, 6), { raw: { width: 40, height: 30, channels: 3 } }).toColourspace('rgb16').tiff().toBuffer(), '16-bit TIFF', 'indexed');
  // EXIF orientation: every valid value and two invalid ones.
  for (let o = 1; o <= 8; o++) put(`orient/o${o}.jpg`, await encodeImage(colour('orange'), { format: 'jpeg', width: 50, height: 30, seed: 10 + o, orientation: o }), 'EXIF orientation', 'indexed');
  const oriented = await encodeImage(colour('orange'), { format: 'jpeg', width: 50, height: 30, seed: 30, orientation: 6 });
  put('orient/o0.jpg', patchOrientation(oriented, 0), 'odd EXIF orientation', 'indexed');
  put('orient/o9.jpg', patchOrientation(await encodeImage(colour('orange'), { format: 'jpeg', width: 50, height: 30, seed: 31, orientation: 6 }), 9), 'odd EXIF orientation', 'indexed');
  // Names.
  // 245 bytes of UTF-8: near the 255-byte limit of most file systems.
  const long = `${'ação-'.repeat(34)}fim.jpg`;
  put(long, await encodeImage(colour('pink'), { format: 'jpeg', seed: 40 }), 'very long name', 'indexed');
  put('nova\nlinha.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 41 }), 'name with newline', 'indexed');
  put('📷🔥 foto.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 42 }), 'name with emoji', 'indexed');
  put('ctl\u0001\u007f\u001b[31m.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 43 }), 'name with control characters', 'indexed');
  put('\ttab\r.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 44 }), 'name with tab and CR', 'indexed');
  put('-rf --no-preserve-root.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 45 }), 'name like an option', 'indexed');
  put('=HYPERLINK("x").jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 46 }), 'name like a formula', 'indexed');
  put('back\\slash.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 47 }), 'name with backslash', 'indexed');
  put('gnp.\u202Egpj.jpg', await encodeImage(colour('pink'), { format: 'jpeg', seed: 48 }), 'name with RTL override', 'indexed');
  // Deep nesting.
  put(`${Array.from({ length: 60 }, (_, i) => `n${i}`).join('/')}/fundo.jpg`, await encodeImage(colour('brown'), { format: 'jpeg', seed: 50 }), 'deep nesting (60 levels)', 'indexed');
  // Unreadable file and folder.
  put('locked.jpg', await encodeImage(colour('gray'), { format: 'jpeg', seed: 60 }), 'unreadable file (chmod 000)', 'denied');
  put('cofre/dentro.jpg', await encodeImage(colour('gray'), { format: 'jpeg', seed: 61 }), 'unreadable folder (chmod 000)', 'denied');
  // Huge (sparse) file: refused by size, never read.
  const huge = path.join(root, 'huge.jpg');
  fs.writeFileSync(huge, jpeg.subarray(0, 4));
  fs.truncateSync(huge, 2 * 1024 ** 3);
  cases.push({ rel: 'huge.jpg', kind: 'huge file (2 GiB, sparse)', expect: 'failed' });
  // A folder named like an image.
  put('pasta.jpg/dentro.png', png, 'folder named .jpg', 'indexed');

  // Links: loops, escaping, devices; a FIFO.
  fs.symlinkSync('loop.jpg', path.join(root, 'loop.jpg'));
  cases.push({ rel: 'loop.jpg', kind: 'symlink loop (file)', expect: 'failed' });
  fs.mkdirSync(path.join(root, 'laço'));
  fs.symlinkSync('../laço', path.join(root, 'laço', 'volta'));
  fs.symlinkSync('b', path.join(root, 'laço', 'a'));
  fs.symlinkSync('a', path.join(root, 'laço', 'b'));
  cases.push({ rel: 'laço/volta', kind: 'symlink loop (folder)', expect: 'skipped' });
  cases.push({ rel: 'laço/a', kind: 'symlink loop (a→b→a)', expect: 'failed' });
  cases.push({ rel: 'laço/b', kind: 'symlink loop (b→a→b)', expect: 'failed' });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'privada.jpg'), await encodeImage(colour('red'), { format: 'jpeg', seed: 70 }));
  fs.symlinkSync(outside, path.join(root, 'fora'));
  cases.push({ rel: 'fora', kind: 'symlink leaving the folder', expect: 'warning' });
  fs.symlinkSync('/dev/zero', path.join(root, 'zero.jpg'));
  cases.push({ rel: 'zero.jpg', kind: 'symlink to a device', expect: 'warning' });
  if (spawnSync('mkfifo', [path.join(root, 'pipe.jpg')]).status === 0) cases.push({ rel: 'pipe.jpg', kind: 'FIFO named .jpg', expect: 'skipped' });

  // Readable by an unprivileged user, except what must not be.
  const open = (dir: string) => {
    fs.chmodSync(dir, 0o755);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) open(full);
      else if (e.isFile()) fs.chmodSync(full, 0o644);
    }
  };
  open(root);
  fs.chmodSync(path.join(root, 'locked.jpg'), 0o000);
  fs.chmodSync(path.join(root, 'cofre'), 0o000);
  return cases;
}

/** Undoes the chmod 000 so the corpus can be removed. */
export function unlockCorpus(root: string): void {
  for (const rel of ['locked.jpg', 'cofre']) fs.chmodSync(path.join(root, rel), rel === 'cofre' ? 0o755 : 0o644);
}
