import { write } from 'node:fs';
import pino, { type Logger } from 'pino';
import { FdDestination } from './lib/fd-destination.js';

let stdout: FdDestination | null = null;

/**
 * The process's one stdout destination. If stdout breaks (EPIPE: `| head`, a log shipper that
 * died), logging stops, with one line on stderr; the process carries on. What is pending is
 * written at exit, within a bounded time.
 */
export function stdoutDestination(): FdDestination {
  if (!stdout) {
    const dest = new FdDestination(1, (err) => write(2, `tokenmill: log output stopped: stdout failed with ${err.code ?? err.message}\n`, () => {}));
    process.on('exit', () => dest.flushSync());
    stdout = dest;
  }
  return stdout;
}

let timeMs = Number.NaN;
let timeField = '';

/**
 * pino's `time` field as ISO 8601 (what `pino.stdTimeFunctions.isoTime` writes), formatted once per
 * millisecond: at thousands of request lines a second most lines share their millisecond, and
 * `toISOString` costs ~0.5 µs a call where the cached string costs ~0.05.
 */
export function isoTimeField(now = Date.now()): string {
  if (now !== timeMs) {
    timeMs = now;
    timeField = `,"time":"${new Date(now).toISOString()}"`;
  }
  return timeField;
}

/**
 * JSON logs on stdout. Nothing request-derived is logged except the fields plugins/request-log.ts
 * picks (method, route, status, time, client_id, error code); errors are logged as name, message,
 * code and stack only. That is what keeps secrets, tokens and assertions out (REQ-O1), checked by
 * tests that search every captured line; a per-line redaction pass would cost every request.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: () => isoTimeField(),
    },
    // Asynchronous stdout: lines are written in batches (up to 10 ms, and while a write is pending),
    // so logging one line per request does not cost a write each; what is pending is written at exit.
    destination ?? stdoutDestination(),
  );
}

/** What an error contributes to a log line: never its other properties (a database error carries the statement's parameters). */
export function errorFields(err: unknown): { type: string; message: string; code?: string; stack?: string } {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}), ...(err.stack ? { stack: err.stack } : {}) };
}
