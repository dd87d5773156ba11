// The young generation's cap (docs/architecture.md, decision 9): every way the server is started
// passes it, and an operator's own size wins.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { YOUNG_GENERATION_FLAG, withServerFlags } from '../../src/lib/node-flags.js';

t.test('withServerFlags adds the cap unless a size is already chosen', async (t) => {
  t.same(withServerFlags([]), [YOUNG_GENERATION_FLAG]);
  t.same(withServerFlags(['--inspect']), ['--inspect', YOUNG_GENERATION_FLAG], 'other options are kept, in order');
  t.same(withServerFlags(['--max-semi-space-size=32']), ['--max-semi-space-size=32'], "the operator's size wins");
  t.same(withServerFlags(['--max-semi-space-size', '2']), ['--max-semi-space-size', '2']);
  const input = ['--inspect'];
  withServerFlags(input);
  t.same(input, ['--inspect'], 'the argument is not changed');
});

t.test('npm start, the Docker image and the README start the server with it', async (t) => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
  t.equal(pkg.scripts.start, `node ${YOUNG_GENERATION_FLAG} dist/src/server.cjs`);
  t.match(readFileSync('Dockerfile', 'utf8'), `CMD ["node", "${YOUNG_GENERATION_FLAG}", "dist/src/server.cjs"]`);
  const readme = readFileSync('README.md', 'utf8');
  const starts = readme.split('\n').filter((l) => /^(#.*; )?node .*dist\/src\/server\.cjs/.test(l));
  t.ok(starts.length >= 2, `the README's start commands (${starts.length})`);
  for (const line of starts) t.match(line, `node ${YOUNG_GENERATION_FLAG} `, line);
});
