// RFC 6749 §5.2 / threat model C1: error_description holds only %x20-21 / %x23-5B / %x5D-7E (one rule, shared with the verifier).
import { sanitizeDescription } from '../protocol/index.js';

/**
 * Base of every protocol error. `description` is public (RFC 6749 §5.2 charset, never echoes input);
 * `detail` is private and goes to the log line only.
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly description: string | undefined;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, error: string, description?: string, options: { detail?: string; headers?: Record<string, string> } = {}) {
    super(description ?? error);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
    this.description = description;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The wire body: `{"error","error_description"}`, the description limited to RFC 6749 §5.2's characters. */
  toJSON(): { error: string; error_description?: string } {
    return this.description === undefined ? { error: this.error } : { error: this.error, error_description: sanitizeDescription(this.description) };
  }
}
