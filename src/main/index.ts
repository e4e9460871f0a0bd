// Electron main: window, IPC relay, thumbnail scheme. No engine work happens here.
import { app, BrowserWindow, dialog, ipcMain, Menu, net, protocol, screen, shell, type IpcMainInvokeEvent, type MenuItemConstructorOptions } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEVICE_REQUESTS, type DeviceRequest } from '../engine/models/types.js';
import { resolveLibraryPath, resolveModelsDir } from '../engine/paths.js';
import { OP_NAMES, parseInput, sha256, type OpName, type OpResult } from '../shared/contract.js';
import { EVENT_CHANNEL, THUMB_SCHEME, opChannel } from '../shared/ipc.js';
import { SHELL_CHANNELS } from '../shared/shell.js';
import { EngineHost } from './engine-host.js';
import { isAppUrl, windowOptions } from './security.js';
import { loadWindowState, saveWindowState, type WindowState } from './window-state.js';

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
const engine = new EngineHost(path.join(here, 'engine.js'), () => ({
  libraryPath: resolveLibraryPath(),
  modelsDir: resolveModelsDir(),
  device: deviceFromEnv(),
  // The UI language steers the default model (multilingual for Portuguese); known once app is ready.
  locale: app.getLocale(),
}));
const rendererIndex = path.join(here, '../renderer/index.html');
const windowStateFile = () => path.join(app.getPath('userData'), 'window-state.json');

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

/** Dialogs and "show in folder" for the renderer; only our own window may ask. */
function registerShell(): void {
  ipcMain.handle(SHELL_CHANNELS.pickFolders, async (event) => {
    if (!fromOurWindow(event) || !mainWindow) return [];
    const pt = app.getLocale().startsWith('pt');
    const result = await dialog.showOpenDialog(mainWindow, {
      title: pt ? 'Escolher pastas para indexar' : 'Choose folders to index',
      properties: ['openDirectory', 'multiSelections'],
    });
    return result.canceled ? [] : result.filePaths;
  });
  ipcMain.handle(SHELL_CHANNELS.showInFolder, (event, target: unknown) => {
    if (!fromOurWindow(event) || typeof target !== 'string' || !path.isAbsolute(target) || target.includes('\0')) return;
    if (fs.existsSync(target)) shell.showItemInFolder(target);
  });
}

function sendMenu(action: 'add-folders' | 'open-library' | 'shortcuts'): void {
  mainWindow?.webContents.send(SHELL_CHANNELS.menu, action);
}

/** A native menu in the UI's language: what a desktop user looks for first, with the usual accelerators. */
function buildMenu(): void {
  const pt = app.getLocale().startsWith('pt');
  const t = (ptText: string, en: string) => (pt ? ptText : en);
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: t('Arquivo', 'File'),
      submenu: [
        { label: t('Adicionar pastas…', 'Add folders…'), accelerator: 'CmdOrCtrl+O', click: () => sendMenu('add-folders') },
        { label: t('Abrir biblioteca…', 'Open library…'), accelerator: 'CmdOrCtrl+Shift+O', click: () => sendMenu('open-library') },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit', label: t('Sair', 'Quit') },
      ],
    },
    { role: 'editMenu', label: t('Editar', 'Edit') },
    {
      label: t('Exibir', 'View'),
      submenu: [
        { role: 'resetZoom', label: t('Tamanho real', 'Actual size') },
        { role: 'zoomIn', label: t('Aumentar', 'Zoom in') },
        { role: 'zoomOut', label: t('Diminuir', 'Zoom out') },
        { type: 'separator' },
        { role: 'togglefullscreen', label: t('Tela cheia', 'Full screen') },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    {
      label: t('Ajuda', 'Help'),
      submenu: [{ label: t('Atalhos de teclado', 'Keyboard shortcuts'), accelerator: 'Shift+/', click: () => sendMenu('shortcuts') }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

function createWindow(): void {
  const state = loadWindowState(windowStateFile(), screen.getAllDisplays().map((d) => d.workArea));
  const win = new BrowserWindow(windowOptions(path.join(here, '../preload/index.cjs'), state));
  if (state.maximized) win.maximize();
  win.once('ready-to-show', () => win.show());
  const devUrl = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;
  // The window only ever shows our own UI; links never navigate it or open new ones.
  win.webContents.on('will-navigate', (e, url) => {
    if (!isAppUrl(url, devUrl, rendererIndex)) e.preventDefault();
  });
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(rendererIndex);
  const remember = () => {
    const maximized = win.isMaximized();
    const bounds = maximized ? win.getNormalBounds() : win.getBounds();
    const next: WindowState = { ...bounds, maximized };
    saveWindowState(windowStateFile(), next);
  };
  win.on('close', remember);
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
    registerShell();
    registerThumbnails();
    buildMenu();
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
