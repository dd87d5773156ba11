// `npm run build`: the console's stylesheet and script ship next to the compiled code (dist/src/console/assets).
import { cpSync } from 'node:fs';

cpSync('src/console/assets', 'dist/src/console/assets', { recursive: true });
