/**
 * The young generation's cap for every tokenmill server process (docs/architecture.md, decision 9).
 * V8 sizes the young generation from the machine's memory: on a large machine Node 20 lets it grow
 * to 32 MB and Node 24 to ~110 MB, resident for the life of the process, where tokenmill's
 * short-lived garbage (~25 KB per token) needs far less: with 8 MB semi-spaces (16 MB in all) the
 * embedded server measured the same tokens/s and 20–90 MB less RSS under load.
 *
 * V8 reads it only at start-up, so it is a command-line option: `npm start`, the Dockerfile and
 * `tokenmill serve` pass it, and node:cluster workers get it from their primary.
 */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=8';

/** `execArgv` with the young generation's cap, unless the operator chose a size of their own. */
export function withServerFlags(execArgv: readonly string[]): string[] {
  return execArgv.some((a) => a.startsWith('--max-semi-space-size')) ? [...execArgv] : [...execArgv, YOUNG_GENERATION_FLAG];
}
