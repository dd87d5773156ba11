import type { Config } from '../config/schema.js';
import type { SessionLimits } from './sessions.js';

/** CONSOLE_SESSION_IDLE / CONSOLE_SESSION_MAX in milliseconds. */
export function consoleSessionLimits(config: Config): SessionLimits {
  return { idleMs: config.consoleSession.idle * 1000, absoluteMs: config.consoleSession.max * 1000 };
}
