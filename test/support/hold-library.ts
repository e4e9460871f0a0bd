// A second process for the writer-lock tests: opens a library for writing and holds it.
//   node --import tsx test/support/hold-library.ts <library> <command> [holdMs]
// Prints "holding <pid>" once it has the lock, then closes the library after holdMs (default: when
// stdin ends or receives a line).
import { Library } from '../../src/engine/library/library.js';

const [file, command, holdMs] = process.argv.slice(2);
const library = Library.open(file, { mode: 'write', command, waitMs: 60_000 });
process.stdout.write(`holding ${process.pid}\n`);
const release = () => {
  library.close();
  process.stdout.write('released\n');
  process.exit(0);
};
if (holdMs) setTimeout(release, Number(holdMs));
else {
  process.stdin.on('data', release);
  process.stdin.on('end', release);
}
