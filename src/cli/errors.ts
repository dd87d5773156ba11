/** An error the CLI reports as one line `tokenmill: <message>` with its exit code (1 unless told). */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A usage error (bad or missing flags the parser cannot see): exit code 2, like commander's own. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** The reason a fetch failed, from its cause when it has one (ECONNREFUSED…, timeouts). */
export function networkReason(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    if (cause.name === 'AggregateError' && code) return code;
    return cause.message || code || String(cause);
  }
  return err instanceof Error ? err.message : String(err);
}

/** `<status> <error>: <error_description>` from an HTTP error response's body (JSON or not). */
export function httpErrorLine(status: number, statusText: string, text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    const { error, error_description: description } = body as { error: string; error_description?: unknown };
    return typeof description === 'string' && description ? `${status} ${error}: ${description}` : `${status} ${error}`;
  }
  return `${status} ${statusText || 'error'}`.trim();
}
