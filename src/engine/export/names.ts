import path from 'node:path';

// Names Windows refuses whatever the extension; a label like "con" must still get a folder.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * A folder name for a label that is valid on Windows, macOS and Linux (exports often go to
 * exFAT USB drives): path separators and characters those systems reject become `_`, trailing
 * dots/spaces are dropped, accents are kept (NFC).
 */
export function labelFolderName(label: string): string {
  let name = label
    .split('{}')
    .join('')
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[. ]+$/, '');
  if (name === '' || name === '.' || name === '..') name = '_';
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  // Keep well under the 255-byte limit of most file systems, cutting on a character boundary.
  while (Buffer.byteLength(name, 'utf8') > 200) name = Array.from(name).slice(0, -1).join('');
  return name;
}

/** Distinct folder per label even when two labels clean up to the same name (case-insensitively). */
export function labelFolders(labels: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const label of labels) {
    const base = labelFolderName(label);
    let name = base;
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = `${base} (${n})`;
    taken.add(name.toLowerCase());
    out.set(label, name);
  }
  return out;
}

/** `foto.jpg`, 1 → `foto (1).jpg`; `.bashrc`, 2 → `.bashrc (2)`; `arquivo`, 1 → `arquivo (1)`. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const ext = path.extname(name);
  return `${name.slice(0, name.length - ext.length)} (${n})${ext}`;
}
