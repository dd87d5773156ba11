// Paths and fixed parameters shared by the benchmark modules.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench/ directory. */
export const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(HERE, '..');
export const DIST_SERVER = join(ROOT, 'dist/src/server.cjs');
/** Node's options in `npm start` (the young generation's cap): tokenmill is measured as it is run. */
export const SERVER_NODE_ARGS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start.match(/^node((?: --\S+)*) dist\/src\/server\.cjs$/)?.[1] ?? '')
  .trim()
  .split(' ')
  .filter(Boolean);
export const AUDIENCE = 'https://api.example.com';
export const SCOPES = 'api:read api:write';
export const TOKEN_TTL = 300;
export const PEER_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
export const ASSERTION_LIFETIME = 240; // tokenmill refuses exp more than 300 s ahead
export const RSS_LIMIT_MB = 150;
