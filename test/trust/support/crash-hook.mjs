// Loaded into a child process of the trust suite (NODE_OPTIONS=--import=...): SIGKILLs the process
// at an exact point, the Nth call of one file operation, so kill -9 tests hit every step of a move
// or an index run instead of wherever a timer happens to land.
//
// TRIAGEM_CRASH_AT="<op>:<n>[:after]"  ops: journal (a write to an export journal), fsync (an fsync
// of one), unlink, link, rename, open-write (a file opened for writing), read (a file opened for
// reading), sync (FileHandle.sync: a copy made durable). Default: killed just before the call;
// ":after" kills right after it returned.
import fs from 'node:fs';

const spec = process.env.TRIAGEM_CRASH_AT;
if (spec) {
  const [op, nText, when] = spec.split(':');
  const n = Number(nText);
  let count = 0;
  const die = () => process.kill(process.pid, 'SIGKILL');
  const hit = (name) => name === op && ++count === n;
  const fdPath = (fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '';
    }
  };
  const wrapSync = (obj, key, name, pick = () => true) => {
    const original = obj[key];
    obj[key] = function (...args) {
      if (pick(args) && hit(name)) {
        if (when !== 'after') die();
        const out = original.apply(this, args);
        die();
        return out;
      }
      return original.apply(this, args);
    };
  };
  const wrapAsync = (obj, key, name, pick = () => true) => {
    const original = obj[key];
    obj[key] = async function (...args) {
      if (pick(args) && hit(name)) {
        if (when !== 'after') die();
        const out = await original.apply(this, args);
        die();
        return out;
      }
      return original.apply(this, args);
    };
  };
  const isJournalFd = (args) => fdPath(args[0]).includes('.triagem-journal-');
  const writes = (flags) => typeof flags === 'number' ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0 : /[wa+]/.test(String(flags ?? 'r'));
  wrapSync(fs, 'writeSync', 'journal', isJournalFd);
  wrapSync(fs, 'fsyncSync', 'fsync', isJournalFd);
  wrapAsync(fs.promises, 'unlink', 'unlink');
  wrapAsync(fs.promises, 'link', 'link');
  wrapAsync(fs.promises, 'rename', 'rename');
  wrapAsync(fs.promises, 'open', 'open-write', (args) => writes(args[1]));
  wrapAsync(fs.promises, 'open', 'read', (args) => !writes(args[1]));
  wrapAsync(fs.promises, 'writeFile', 'open-write');
  const probe = await fs.promises.open(process.execPath, 'r');
  const fileHandle = Object.getPrototypeOf(probe);
  await probe.close();
  wrapAsync(fileHandle, 'sync', 'sync');
}
