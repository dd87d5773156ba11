/**
 * The console's only way to produce HTML: a tagged template in which every interpolated value is
 * escaped, unless it is itself the result of `html` (already safe): there is no other way to
 * mark a string as markup. Arrays are rendered item by item.
 * Bidirectional-override and other invisible formatting characters are shown as visible code
 * points (`⟨U+202E⟩`), so a hostile client name cannot reorder the text around it.
 */
const SAFE = Symbol('console.safe-html');

export interface Html {
  readonly [SAFE]: true;
  readonly value: string;
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
// Bidi embeddings/overrides/isolates, marks, zero-width and other format characters (Cf), and C0/C1 controls except tab and newline.
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(INVISIBLE, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`).replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

const wrap = (value: string): Html => ({ [SAFE]: true, value });

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return (v as readonly Value[]).map(render).join('');
  if (typeof v === 'object' && SAFE in v) return v.value;
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return wrap(out);
}

export type { Value as HtmlValue };
