// Electron main: window, IPC relay, thumbnail scheme. No engine work happens here.
import { app, BrowserWindow, ipcMain, net, protocol, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEVICE_REQUESTS, type DeviceRequest } from '../engine/models/types.js';
import { resolveLibraryPath, resolveModelsDir } from '../engine/paths.js';
import { OP_NAMES, parseInput, sha256, type OpName, type OpResult } from '../shared/contract.js';
import { EVENT_CHANNEL, THUMB_SCHEME, opChannel } from '../shared/ipc.js';
import { EngineHost } from './engine-host.js';

const here = path.dirname(fileURLToPath(import.meta.url));

protocol.registerSchemesAsPrivileged([
  { scheme: THUMB_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

function deviceFromEnv(): DeviceRequest {
  const value = process.env.TRIAGEM_DEVICE;
  return DEVICE_REQUESTS.find((d) => d === value) ?? 'auto';
}

// The CLI resolves the same places (paths.ts mirrors app.getPath('userData')), so models downloaded
// with `triagem models download` and libraries built with `triagem index` open here unchanged.
const engine = new EngineHost(path.join(here, 'engine.js'), {
  libraryPath: resolveLibraryPath(),
  modelsDir: resolveModelsDir(),
  device: deviceFromEnv(),
});

let mainWindow: BrowserWindow | undefined;

/** Only our own page, loaded in our own window, may drive the engine. */
function fromOurWindow(event: IpcMainInvokeEvent): boolean {
  return mainWindow !== undefined && event.sender === mainWindow.webContents && event.senderFrame === mainWindow.webContents.mainFrame;
}

function registerIpc(): void {
  for (const op of OP_NAMES) {
    ipcMain.handle(opChannel(op), (event, raw: unknown) => relay(op, event, raw));
  }
  engine.onEvent((name, payload) => {
    mainWindow?.webContents.send(EVENT_CHANNEL, name, payload);
  });
}

async function relay<K extends OpName>(op: K, event: IpcMainInvokeEvent, raw: unknown): Promise<OpResult<K>> {
  if (!fromOurWindow(event)) return { ok: false, error: { code: 'forbidden', message: 'request from an unknown frame' } };
  const parsed = parseInput(op, raw);
  if (!parsed.ok) return parsed;
  return engine.invoke(op, parsed.value);
}

/** `triagem-thumb://<sha256>`: the sandboxed renderer cannot read files, so main streams the thumbnail. */
function registerThumbnails(): void {
  protocol.handle(THUMB_SCHEME, async (request) => {
    const id = new URL(request.url).hostname;
    if (!sha256.safeParse(id).success) return new Response('bad thumbnail id', { status: 400 });
    const result = await engine.invoke('thumbnail.get', { sha256: id, bytes: false });
    if (!result.ok) return new Response(result.error.message, { status: 404 });
    return net.fetch(pathToFileURL(result.value.path).toString());
  });
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 860,
    show: false,
    title: 'Triagem',
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  // The window only ever shows our own UI; links never navigate it or open new ones.
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (!app.isPackaged && devUrl) void win.loadURL(devUrl);
  else void win.loadFile(path.join(here, '../renderer/index.html'));
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = undefined;
  });
  mainWindow = win;
}

if (!app.requestSingleInstanceLock()) {
  // A second copy would open the same SQLite library for writing.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow?.isMinimized()) mainWindow.restore();
    mainWindow?.focus();
  });
  void app.whenReady().then(() => {
    registerIpc();
    registerThumbnails();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => engine.stop());
}
