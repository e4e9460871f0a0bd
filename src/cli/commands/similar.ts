import { searchSimilar } from '../../app/index.js';
import { UsageError } from '../../shared/errors.js';
import { parse, type Command } from '../command.js';
import { safe } from '../format.js';
import { reportModel, withApp } from '../options.js';
import { FILTER_USAGE, QUERY_OPTIONS, printHits, queryOptions, responseJson } from './search.js';

const USAGE = `triagem similar <image> [options]

Finds images that look like <image>: an image already in the library (its stored embedding is used,
and it is left out of the results) or any image file, which is encoded on the fly and NOT added to
the library.

${FILTER_USAGE}

Exit codes: 0 done, 1 fatal error (e.g. the image cannot be read), 2 usage error.`;

export const similarCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, QUERY_OPTIONS);
    if (positionals.length !== 1) throw new UsageError('give exactly one image: triagem similar <image>');
    const opts = queryOptions(values);
    return withApp(values, async (app) => {
      const response = await searchSimilar(app, positionals[0], opts);
      reportModel(io, response.model, values.verbose);
      if (values.json) {
        io.out(
          JSON.stringify({
            image: response.queryPath,
            source: response.source,
            ...responseJson(response),
          }),
        );
      } else {
        if (response.source === 'file') io.err(`${safe(response.queryPath)} is not in the library: encoded it for this search only`);
        printHits(io, response);
      }
      return 0;
    });
  },
};
