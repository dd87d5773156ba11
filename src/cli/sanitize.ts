/**
 * Characters the CLI never prints raw: C0 controls but tab and newline (ESC starts terminal
 * escape sequences, CR overwrites a line), DEL, C1 controls (U+009B is a one-byte CSI), and the
 * bidirectional marks, embeddings, overrides and isolates that reorder what a terminal shows
 * (Unicode UAX #9; "Trojan Source", CVE-2021-42574): U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069. Client names, error descriptions and claims come from elsewhere and may hold any.
 */
const UNSAFE_TEXT = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

/** The same set where JSON.stringify leaves it raw (it escapes C0 itself): DEL, C1 and bidi. */
const UNSAFE_IN_JSON = /[\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

const codePoint = (ch: string): string => (ch.codePointAt(0) ?? 0).toString(16);

/** Human output: each unsafe character becomes visible `\u{hex}` text (tab and newline stay). */
export function safeText(text: string): string {
  return text.replace(UNSAFE_TEXT, (ch) => `\\u{${codePoint(ch)}}`);
}

/**
 * `--json` output: pretty JSON whose unsafe characters are `\uXXXX` escapes. They can only occur
 * inside strings (JSON's own syntax is ASCII), so the text still parses to exactly the value.
 */
export function safeJson(value: unknown): string {
  return (JSON.stringify(value, null, 2) ?? 'null').replace(UNSAFE_IN_JSON, (ch) => `\\u${codePoint(ch).padStart(4, '0')}`);
}
