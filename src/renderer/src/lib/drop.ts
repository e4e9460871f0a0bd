// What a drop on the window carries. A file manager dropping folders into a browser sends
// `text/uri-list` with file:// URIs (RFC 2483: one per line, `#` comments); Electron gives real
// paths for the dropped File objects through the preload.
import type { TriagemShell } from '../env.js';

/** Absolute local paths from a `text/uri-list` body; anything not file:// is ignored. */
export function pathsFromUriList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      continue;
    }
    if (url.protocol !== 'file:') continue;
    // file://host/share is a Windows UNC path; file:///C:/x a drive path; file:///x POSIX.
    let p = decodeURIComponent(url.pathname);
    if (/^\/[A-Za-z]:\//.test(p)) p = p.slice(1).replace(/\//g, '\\');
    else if (url.host && url.host !== 'localhost') p = `\\\\${url.host}${p.replace(/\//g, '\\')}`;
    if (p.length > 1 && (p.endsWith('/') || p.endsWith('\\'))) p = p.slice(0, -1);
    out.push(p);
  }
  return [...new Set(out)];
}

/** Paths of whatever was dropped: Electron's real paths first, else the URI list. */
export function droppedPaths(data: DataTransfer | null, shell: TriagemShell | null): string[] {
  if (!data) return [];
  if (shell && data.files.length > 0) {
    const paths = shell.pathsForFiles([...data.files]).filter((p) => p !== '');
    if (paths.length) return paths;
  }
  return pathsFromUriList(data.getData('text/uri-list'));
}

/** A drag that may carry files or folders (the payload itself is only readable on drop). */
export function carriesFiles(data: DataTransfer | null): boolean {
  if (!data) return false;
  return [...data.types].some((t) => t === 'Files' || t === 'text/uri-list');
}

const IMAGE_EXT = /\.(jpe?g|jpe|jfif|png|webp|gif|bmp|dib|tiff?|avif|heic|heif|hif)$/i;

export function looksLikeImage(p: string): boolean {
  return IMAGE_EXT.test(p);
}
