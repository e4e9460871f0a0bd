import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TriagemError, errorMessage } from '../errors.js';
import { userDataDir } from '../paths.js';

const KEY_FILE = 'journal.key';
const KEY_BYTES = 32;
const cache = new Map<string, Buffer>();

/**
 * The secret this user's Triagem signs export journals with (HMAC-SHA256), kept in the user data
 * folder, readable by the user only. `undo` acts only on journals signed with it, so a journal
 * crafted by someone else (left in a scraped archive, say) cannot make it delete or create files.
 * Created on first use; two processes racing to create it end up sharing one key.
 */
export function journalKey(dataDir: string = userDataDir()): Buffer {
  const dir = path.resolve(dataDir);
  const cached = cache.get(dir);
  if (cached) return cached;
  const file = path.join(dir, KEY_FILE);
  let key = readKey(file);
  if (!key) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = path.join(dir, `.${KEY_FILE}.${process.pid}.${randomBytes(4).toString('hex')}`);
      fs.writeFileSync(tmp, randomBytes(KEY_BYTES).toString('hex'), { flag: 'wx', mode: 0o600 });
      try {
        // link() never replaces: whoever links first wins, and every process reads that key.
        fs.linkSync(tmp, file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') {
          // No hard links on this file system (FAT, some network mounts): exclusive create instead.
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
          fs.copyFileSync(tmp, file, fs.constants.COPYFILE_EXCL);
        }
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TriagemError(`cannot create the journal signing key: ${errorMessage(err)}`, 'journal-key', file);
      }
    }
    key = readKey(file);
    if (!key) throw new TriagemError('the journal signing key is damaged (expected 64 hex digits)', 'journal-key', file);
  }
  cache.set(dir, key);
  return key;
}

function readKey(file: string): Buffer | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TriagemError(`cannot read the journal signing key: ${errorMessage(err)}`, 'journal-key', file);
  }
  if (!/^[0-9a-f]{64}$/.test(text)) throw new TriagemError('the journal signing key is damaged (expected 64 hex digits)', 'journal-key', file);
  return Buffer.from(text, 'hex');
}
