import os from 'node:os';
import path from 'node:path';

/**
 * Where Triagem keeps its own data when the user names no place. Mirrors Electron's
 * app.getPath('userData') so the CLI and the desktop app share models and libraries.
 */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.TRIAGEM_DATA_DIR) return path.resolve(env.TRIAGEM_DATA_DIR);
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Triagem');
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Triagem');
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'Triagem');
}

/** `--models-dir`, else TRIAGEM_MODELS_DIR, else `<user data>/models`. */
export function resolveModelsDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.TRIAGEM_MODELS_DIR) return path.resolve(env.TRIAGEM_MODELS_DIR);
  return path.join(userDataDir(env), 'models');
}

/** `--library`, else TRIAGEM_LIBRARY, else `<user data>/library.sqlite`. */
export function resolveLibraryPath(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.TRIAGEM_LIBRARY) return path.resolve(env.TRIAGEM_LIBRARY);
  return path.join(userDataDir(env), 'library.sqlite');
}

/** The repository's `resources/` folder (catalog, label presets), found relative to this file. */
export function resourcesDir(): string {
  return path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../resources');
}
