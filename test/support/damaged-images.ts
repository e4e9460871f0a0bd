// A JPEG whose scan data is partly overwritten: libjpeg decodes through the damage (grey, smeared
// blocks) with "Corrupt JPEG data" warnings, so indexing keeps it with a warning rather than failing.
import sharp from 'sharp';

export async function damagedJpeg(width = 400, height = 300): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 256;
  const jpg = await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const sos = jpg.indexOf(Buffer.from([0xff, 0xda]));
  const damaged = Buffer.from(jpg);
  for (let i = sos + 400; i < sos + 2400; i++) damaged[i] = (i * 31) & 0xff;
  return damaged;
}
