/** An error the CLI reports as one line `tokenmill: <message>` with its exit code (1 unless told). */
export class CliError extends Error {
  readonly exitCode: number;
  /** the `error` member of the JSON form (--json): a server's OAuth error code, or the CLI's own */
  code = 'cli_error';
  /** what to do about it, printed after the message */
  hint: string | undefined;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A non-2xx HTTP answer: its status and, when the body is `{error, error_description}`, those. */
export class HttpError extends CliError {
  readonly status: number;
  readonly description: string | undefined;
  constructor(status: number, statusText: string, text: string) {
    super(httpErrorLine(status, statusText, text));
    this.name = 'HttpError';
    this.status = status;
    const body = parseErrorBody(text);
    this.code = body?.error ?? `http_${status}`;
    this.description = body?.error_description;
  }
}

/** The server could not be reached (refused, timed out, DNS…). */
export class NetworkError extends CliError {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
    this.code = 'unreachable';
  }
}

function parseErrorBody(text: string): { error: string; error_description?: string } | null {
  try {
    const body = JSON.parse(text) as unknown;
    if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
      const d = (body as { error_description?: unknown }).error_description;
      return { error: (body as { error: string }).error, ...(typeof d === 'string' && d ? { error_description: d } : {}) };
    }
  } catch {
    // not JSON
  }
  return null;
}

/** A usage error (bad or missing flags the parser cannot see): exit code 2, like commander's own. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
    this.code = 'usage_error';
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
