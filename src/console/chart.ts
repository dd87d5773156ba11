import { html, type Html } from './html.js';

/** Tokens issued per hour, one value per hour, oldest first. */
export interface HourlySeries {
  /** start of each hour, epoch ms */
  hours: number[];
  counts: number[];
}

/**
 * A bar chart as server-rendered SVG: numbers only, no script, styled by the stylesheet (CSP
 * style-src 'self'). The same series is in a table for screen readers and for copying.
 */
export function hourlyChart(series: HourlySeries, label: string, id = 'chart-title'): Html {
  const width = 720;
  const height = 180;
  const left = 40;
  const bottom = 24;
  const top = 10;
  const max = Math.max(1, ...series.counts);
  const plotH = height - bottom - top;
  const barW = (width - left) / series.counts.length;
  const total = series.counts.reduce((a, b) => a + b, 0);
  const tickEvery = Math.max(1, Math.ceil(series.counts.length / 6));
  const bars = series.counts.map((c, i) => {
    const h = Math.round((c / max) * plotH);
    const x = left + i * barW + 2;
    const hour = new Date(series.hours[i] ?? 0).toISOString().slice(11, 16);
    return html`<rect class="bar" x="${x.toFixed(1)}" y="${height - bottom - h}" width="${(barW - 4).toFixed(1)}" height="${h}"><title>${hour} UTC: ${c}</title></rect
      >${i % tickEvery === 0 ? html`<text class="tick" x="${x.toFixed(1)}" y="${height - 6}">${hour}</text>` : ''}`;
  });
  return html`<figure class="chart">
    <svg viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${id}" preserveAspectRatio="none">
      <title id="${id}">${label}: ${total} in the last ${series.counts.length} hours, at most ${Math.max(0, ...series.counts)} in one hour</title>
      <line class="axis" x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}"></line>
      <text class="tick" x="0" y="${top + 8}">${max}</text>
      <text class="tick" x="0" y="${height - bottom}">0</text>
      ${bars}
    </svg>
    <figcaption>${label} (UTC hours). Total: ${total}.</figcaption>
  </figure>`;
}
