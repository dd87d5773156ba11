import pino, { type Logger } from 'pino';

/**
 * JSON logs on stdout. Request lines are built by plugins/request-log.ts from safe fields only;
 * the redaction list is the second line of defence for anything logged by mistake (REQ-O1).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'client_secret', 'client_assertion', 'token', 'access_token', 'body', 'req.body', '*.client_secret', '*.client_assertion', '*.token', '*.access_token', '*.authorization'],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Asynchronous stdout: lines are coalesced while a write is pending, so logging one line per
    // request does not cost a blocking write each; the process entry flushes at shutdown.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
