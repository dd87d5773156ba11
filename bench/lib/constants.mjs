// Paths and fixed parameters shared by the benchmark modules.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The bench/ directory. */
export const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(HERE, '..');
export const DIST_SERVER = join(ROOT, 'dist/src/server.cjs');
export const AUDIENCE = 'https://api.example.com';
export const SCOPES = 'api:read api:write';
export const TOKEN_TTL = 300;
export const PEER_SECRET = 'bench-secret-0123456789abcdef0123456789abcdef';
export const ASSERTION_LIFETIME = 240; // tokenmill refuses exp more than 300 s ahead
export const RSS_LIMIT_MB = 150;
