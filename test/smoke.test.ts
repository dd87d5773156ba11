import t from 'tap';
import { loadConfig } from '../src/config/load.js';
t.test('config defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.port, 8080);
  t.equal(c.issuer, 'http://127.0.0.1:8080');
  t.throws(() => loadConfig({ PORT: 'abc' }), /PORT/);
});
