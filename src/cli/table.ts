/** Tiny aligned-column formatting for people (scripts use --json). */

const EMPTY = '-';

function cell(value: unknown): string {
  if (value === null || value === undefined || value === '') return EMPTY;
  // One line per row: a value never breaks the table.
  return String(value).replace(/[\r\n\t]+/g, ' ');
}

/** Columns separated by two spaces, each as wide as its widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map(cell), ...rows.map((r) => headers.map((_, i) => cell(r[i])))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `key  value` lines with the keys aligned. */
export function details(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n') + '\n';
}

/** An ISO date as `YYYY-MM-DD HH:MM` (UTC); null as `-`. */
export function shortDate(iso: string | null | undefined): string {
  if (!iso) return EMPTY;
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/** Epoch seconds as `YYYY-MM-DD HH:MM` (UTC). */
export function shortEpoch(seconds: number): string {
  return shortDate(new Date(seconds * 1000).toISOString());
}
