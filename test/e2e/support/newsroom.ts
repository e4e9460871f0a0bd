// The photo set the window's end-to-end tests work on: what a reporter's folder of scraped
// material looks like — two Telegram channels and a WhatsApp export, camera and phone names that
// repeat across folders, an exact copy, a re-encoded near copy and one corrupt file.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { mix, writeScenePhoto } from '../../support/scene-photos.js';

type RGB = readonly [number, number, number];
const RED: RGB = [220, 20, 20];
const ORANGE: RGB = [255, 150, 10];
const GREEN: RGB = [30, 170, 50];
const BLUE: RGB = [25, 60, 230];
const YELLOW: RGB = [250, 240, 30];
const PURPLE: RGB = [128, 40, 165];
const GREY: RGB = [128, 128, 128];

export const LABELS_PT = ['vermelho', 'verde', 'azul', 'amarelo', 'roxo'];

export interface Newsroom {
  root: string;
  /** Files that index (the corrupt one excluded). */
  images: number;
  /** Distinct contents among them. */
  contents: number;
  corrupt: string;
  /** A red photo whose name also exists in another folder (an export name clash). */
  clashName: string;
}

const CAMERAS = [
  { make: 'Canon', model: 'Canon EOS R6' },
  { make: 'samsung', model: 'SM-A525M' },
  { make: 'Apple', model: 'iPhone 12' },
];

export async function writeNewsroom(root: string, scale = 1): Promise<Newsroom> {
  const jobs: Promise<void>[] = [];
  let seed = 100;
  let n = 0;
  const add = (rel: string, colour: RGB, extra: { camera?: boolean; date?: boolean } = {}) => {
    const i = n++;
    const base = new Date(2024, 2, 5, 9, 0, 0);
    jobs.push(
      writeScenePhoto(path.join(root, rel), {
        seed: seed++,
        colour,
        width: Math.round(900 * scale),
        height: Math.round(600 * scale),
        camera: extra.camera ? CAMERAS[i % CAMERAS.length] : undefined,
        takenAt: extra.date === false ? undefined : new Date(base.getTime() + i * 37 * 60_000),
        gps: i % 4 === 0 ? { lat: -23.55 + i * 0.001, lon: -46.63 - i * 0.001 } : undefined,
      }),
    );
  };
  // Reds, some close to the red/orange boundary: the model grows less sure of those, and review
  // shows them first. Past the boundary (orange) no label fits and scores fall to ~1/5.
  const reds = [0, 0.1, 0.2, 0.3, 0.46, 0.48, 0.5, 0.05, 0.15, 0.25, 0.49, 0.35];
  reds.forEach((t, i) => add(`Telegram/canal-a/IMG_${String(4100 + i).padStart(4, '0')}.jpg`, mix(RED, ORANGE, t), { camera: true }));
  add('Telegram/canal-b/IMG_4100.jpg', mix(RED, ORANGE, 0.12), { camera: true });
  for (let i = 0; i < 3; i++) add(`Telegram/canal-b/laranja_${i + 1}.jpg`, mix(RED, ORANGE, 0.75 + i * 0.1));
  for (let i = 0; i < 7; i++) add(`Telegram/canal-b/photo_${i + 1}@05-03-2024.jpg`, mix(GREEN, YELLOW, i * 0.05));
  for (let i = 0; i < 7; i++) add(`WhatsApp/IMG-20240305-WA00${10 + i}.jpg`, mix(BLUE, PURPLE, i * 0.05), { camera: true });
  for (let i = 0; i < 5; i++) add(`WhatsApp/IMG-20240306-WA00${20 + i}.jpg`, mix(YELLOW, ORANGE, i * 0.06));
  for (let i = 0; i < 5; i++) add(`Telegram/canal-a/roxo_${i + 1}.png`, mix(PURPLE, BLUE, i * 0.05), { date: false });
  add('Telegram/canal-b/cinza.jpg', GREY);
  await Promise.all(jobs);
  // The same bytes forwarded to another chat: an exact duplicate.
  fs.mkdirSync(path.join(root, 'WhatsApp/encaminhadas'), { recursive: true });
  fs.copyFileSync(path.join(root, 'Telegram/canal-b/photo_1@05-03-2024.jpg'), path.join(root, 'WhatsApp/encaminhadas/photo_1@05-03-2024.jpg'));
  // The same photo re-encoded smaller by a messaging app: a near duplicate.
  await sharp(path.join(root, 'WhatsApp/IMG-20240305-WA0010.jpg')).resize(480).jpeg({ quality: 60 }).toFile(path.join(root, 'WhatsApp/encaminhadas/IMG-20240305-WA0010-comprimida.jpg'));
  const corrupt = path.join(root, 'Telegram/canal-b/quebrada.jpg');
  fs.writeFileSync(corrupt, Buffer.from('not a jpeg at all, cut short by the download'));
  return { root, images: n + 2, contents: n + 1, corrupt, clashName: 'IMG_4100.jpg' };
}
