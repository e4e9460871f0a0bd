import { TriagemError, UsageError } from '../../engine/errors.js';
import { addTag, filesWithTag, listTags, removeTag, type TagChange } from '../../engine/search/tags.js';
import { COMMON_OPTIONS, parse, type Command } from '../command.js';
import { openExistingLibrary } from '../library-options.js';

const USAGE = `triagem tag add <tag> <path>...
triagem tag remove <tag> <path>...
triagem tag list [<tag>]

Tags mark images so searches can be narrowed to them (\`triagem search "..." --tag <tag>\`). A tag
belongs to the image, not the path: every copy of the photo carries it, and a renamed file keeps it.
The images must be in the library (\`triagem index\` first). \`list\` shows every tag with its count,
or with a tag, the files that carry it.

  --library <file>       library file (default: the app's library)
  --json                 machine-readable output

Exit codes: 0 done, 1 some paths are not in the library (the others are still tagged) or fatal
error, 2 usage error.`;

export const tagCommand: Command = {
  name: 'tag',
  summary: 'Add, remove or list tags on images (for search --tag)',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, COMMON_OPTIONS);
    const [action, tag, ...paths] = positionals;
    if (action !== 'add' && action !== 'remove' && action !== 'list') throw new UsageError('say what to do: tag add|remove|list');
    if (action !== 'list' && (!tag || paths.length === 0)) throw new UsageError(`tag ${action} needs a tag and at least one path`);
    if (action === 'list' && paths.length > 0) throw new UsageError('tag list takes at most one tag');
    const library = openExistingLibrary(values.library, action === 'list' ? 'read' : 'write');
    try {
      if (action === 'list') {
        if (tag === undefined) {
          const tags = listTags(library);
          if (values.json) io.out(JSON.stringify({ tags }));
          else io.out(tags.map((t) => `${String(t.contents).padStart(6)}  ${t.tag}`).join('\n') || '(no tags)');
        } else {
          const files = filesWithTag(library, tag);
          if (values.json) io.out(JSON.stringify({ tag, files: files.map((f) => ({ path: f.path, sha256: f.sha256 })) }));
          else if (files.length) io.out(files.map((f) => f.path).join('\n'));
          else io.err(`no image carries the tag "${tag}"`);
        }
        return 0;
      }
      let change: TagChange;
      try {
        change = action === 'add' ? addTag(library, tag, paths) : removeTag(library, tag, paths);
      } catch (err) {
        if (err instanceof TriagemError && err.code === 'bad-tag') throw new UsageError(err.message);
        throw err;
      }
      if (values.json) io.out(JSON.stringify({ tag, action, ...change }));
      else {
        const verb = action === 'add' ? 'tagged' : 'untagged';
        io.out(`${verb} ${change.changed.length} file(s) "${tag}"${change.unchanged.length ? `; ${change.unchanged.length} already ${action === 'add' ? 'had it' : 'lacked it'}` : ''}`);
      }
      for (const f of change.failed) io.err(`${f.path}: ${f.error}`);
      return change.failed.length > 0 ? 1 : 0;
    } finally {
      library.close();
    }
  },
};
