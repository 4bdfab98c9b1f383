/**
 * Tiny SVG chart helpers for the static report (src/report/html.ts): a horizontal bar chart
 * (linear or log axis), a horizontal stacked bar chart and a log-log line/point chart (the
 * roofline). Each returns one `<svg class="chart">` string with no scripts and no external
 * resources; every data mark carries `class="mark"` and a `data-value` attribute (the browser
 * test counts them) and a `<title>` tooltip. All text is escaped.
 */

/** Escapes text for HTML/SVG content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A number with about three significant digits, no exponent for ordinary magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a === 0) return '0';
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** SI-prefixed value for log axes (1k, 10M, 1G ...). */
export function si(x: number): string {
  const units: [number, string][] = [
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, u] of units) if (Math.abs(x) >= v) return `${+(x / v).toPrecision(3)}${u}`;
  return `${+x.toPrecision(3)}`;
}

/** A categorical palette (colour-blind friendly: Okabe-Ito plus greys). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000', '#999999', '#7f5f3f', '#3f7f5f', '#5f3f7f'];

const FONT = 'font-family="system-ui, sans-serif"';

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} font-size="12" ${attrs}>${esc(s)}</text>`;
}

function open(id: string, width: number, height: number, title: string): string {
  return `<svg class="chart" id="${esc(id)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>${text(width / 2, 18, title, 'font-size="14" font-weight="600" text-anchor="middle"')}`;
}

/** Linear or log scale mapping [d0, d1] to [r0, r1]. */
function scale(d0: number, d1: number, r0: number, r1: number, log: boolean): (v: number) => number {
  if (log) {
    const l0 = Math.log10(d0);
    const l1 = Math.log10(d1);
    return (v) => r0 + ((Math.log10(Math.max(v, d0)) - l0) / (l1 - l0 || 1)) * (r1 - r0);
  }
  return (v) => r0 + ((v - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

/** Decade ticks covering [lo, hi]. */
function decades(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) out.push(10 ** k);
  return out;
}

/** About `n` round linear ticks from 0 to max. */
function linearTicks(max: number, n = 5): number[] {
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + 1e-9 * max; v += step) out.push(+v.toPrecision(12));
  return out;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Colour group (legend entry). */
  readonly group: string;
  /** Tooltip text (defaults to label: value). */
  readonly title?: string;
}

export interface BarChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly bars: readonly Bar[];
  readonly log?: boolean;
  readonly width?: number;
  /** Value formatter for the bar-end labels. */
  readonly format?: (v: number) => string;
}

/** Horizontal bars, one row each, coloured by group, with a value label at the end. */
export function barChart(s: BarChartSpec): string {
  const width = s.width ?? 760;
  const left = 300;
  const right = width - 70;
  const rowH = 24;
  const top = 34;
  const groups = [...new Set(s.bars.map((b) => b.group))];
  const plotH = s.bars.length * rowH;
  const height = top + plotH + 44 + 18 * Math.ceil(groups.length / 3);
  const values = s.bars.map((b) => b.value).filter((v) => v > 0 && Number.isFinite(v));
  const f = s.format ?? fmt;
  let out = open(s.id, width, height, s.title);
  let x: (v: number) => number;
  let ticks: number[];
  if (s.log) {
    // Half a decade of room below the smallest bar so that it stays visible.
    ticks = decades(Math.min(...values) / 3, Math.max(...values));
    x = scale(ticks[0]!, ticks[ticks.length - 1]!, left, right, true);
  } else {
    ticks = linearTicks(Math.max(...values, 1e-12));
    x = scale(0, ticks[ticks.length - 1]!, left, right, false);
  }
  for (const t of ticks) {
    out += `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#ddd"/>`;
    out += text(x(t), top + plotH + 14, s.log ? si(t) : fmt(t), 'text-anchor="middle" fill="#444"');
  }
  out += text((left + right) / 2, top + plotH + 32, s.xLabel, 'text-anchor="middle"');
  s.bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = s.log ? left : x(0);
    const w = Math.max(1, x(b.value) - x0);
    const colour = PALETTE[groups.indexOf(b.group) % PALETTE.length]!;
    out += text(left - 6, y + rowH / 2 + 4, b.label.length > 44 ? `${b.label.slice(0, 43)}…` : b.label, 'text-anchor="end"');
    out += `<rect class="mark" data-value="${esc(b.value)}" data-label="${esc(b.label)}" x="${x0.toFixed(1)}" y="${(y + 3).toFixed(1)}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colour}"><title>${esc(b.title ?? `${b.label}: ${f(b.value)}`)}</title></rect>`;
    out += text(x0 + w + 4, y + rowH / 2 + 4, f(b.value), 'fill="#222"');
  });
  out += `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>`;
  out += legend(groups.map((g, i) => [g, PALETTE[i % PALETTE.length]!]), 10, top + plotH + 48, width);
  return `${out}</svg>`;
}

function legend(items: readonly (readonly [string, string])[], x0: number, y0: number, width: number, columns = 3): string {
  let out = '';
  const colW = (width - 20) / columns;
  items.forEach(([label, colour], i) => {
    const x = x0 + (i % columns) * colW;
    const y = y0 + Math.floor(i / columns) * 18;
    out += `<rect x="${x.toFixed(1)}" y="${(y - 10).toFixed(1)}" width="12" height="12" fill="${colour}"/>`;
    out += text(x + 16, y, label, '');
  });
  return out;
}

export interface StackSegment {
  readonly key: string;
  readonly value: number;
  readonly title?: string;
}

export interface StackMarker {
  readonly value: number;
  readonly label: string;
  /** Stroke colour (default black). */
  readonly colour?: string;
}

export interface StackRow {
  readonly label: string;
  readonly segments: readonly StackSegment[];
  /** Vertical ticks on the row (limits, reference values). */
  readonly markers?: readonly StackMarker[];
  /** Text after the bar (default: the total). */
  readonly note?: string;
}

export interface StackedChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly rows: readonly StackRow[];
  /** Axis maximum (default: the largest total). */
  readonly max?: number;
  readonly width?: number;
  readonly format?: (v: number) => string;
}

/** Horizontal stacked bars: one row per label, one coloured segment per key (shared legend). */
export function stackedBarChart(s: StackedChartSpec): string {
  const width = s.width ?? 760;
  const left = 230;
  const right = width - 150;
  const rowH = 30;
  const top = 34;
  const keys = [...new Set(s.rows.flatMap((r) => r.segments.filter((g) => g.value > 0).map((g) => g.key)))];
  const plotH = s.rows.length * rowH;
  const height = top + plotH + 44 + 18 * Math.ceil(keys.length / 3);
  const f = s.format ?? fmt;
  const totals = s.rows.map((r) => r.segments.reduce((a, g) => a + g.value, 0));
  const markerMax = Math.max(0, ...s.rows.flatMap((r) => (r.markers ?? []).map((m) => m.value)));
  const ticks = linearTicks(s.max ?? Math.max(...totals, markerMax, 1e-12));
  const x = scale(0, ticks[ticks.length - 1]!, left, right, false);
  let out = open(s.id, width, height, s.title);
  for (const t of ticks) {
    out += `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#ddd"/>`;
    out += text(x(t), top + plotH + 14, f(t), 'text-anchor="middle" fill="#444"');
  }
  out += text((left + right) / 2, top + plotH + 32, s.xLabel, 'text-anchor="middle"');
  s.rows.forEach((r, i) => {
    const y = top + i * rowH;
    out += text(left - 6, y + rowH / 2 + 4, r.label, 'text-anchor="end"');
    let acc = 0;
    for (const g of r.segments) {
      if (!(g.value > 0)) continue;
      const x0 = x(acc);
      const x1 = x(acc + g.value);
      acc += g.value;
      const colour = PALETTE[keys.indexOf(g.key) % PALETTE.length]!;
      out += `<rect class="mark" data-value="${esc(g.value)}" data-label="${esc(`${r.label} / ${g.key}`)}" x="${x0.toFixed(1)}" y="${(y + 4).toFixed(1)}" width="${Math.max(0.5, x1 - x0).toFixed(1)}" height="${rowH - 8}" fill="${colour}" stroke="#fff" stroke-width="0.5"><title>${esc(g.title ?? `${g.key}: ${f(g.value)}`)}</title></rect>`;
    }
    for (const m of r.markers ?? []) {
      const mx = x(m.value).toFixed(1);
      out += `<line x1="${mx}" x2="${mx}" y1="${y + 1}" y2="${y + rowH - 1}" stroke="${m.colour ?? '#000'}" stroke-width="2" stroke-dasharray="3,2"><title>${esc(`${m.label}: ${f(m.value)}`)}</title></line>`;
    }
    out += text(Math.max(x(acc), ...(r.markers ?? []).map((m) => x(m.value))) + 6, y + rowH / 2 + 4, r.note ?? f(acc), 'fill="#222"');
  });
  out += `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>`;
  out += legend(keys.map((k, i) => [k, PALETTE[i % PALETTE.length]!]), 10, top + plotH + 48, width);
  return `${out}</svg>`;
}

export interface LogLine {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface LogPoint {
  readonly label: string;
  readonly x: number;
  readonly y: number;
}

export interface LogLogSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly lines: readonly LogLine[];
  readonly points: readonly LogPoint[];
  readonly width?: number;
  readonly height?: number;
}

/** Log-log chart: polylines (roofs) and labelled points (the design's phases). */
export function logLogChart(s: LogLogSpec): string {
  const width = s.width ?? 760;
  const height = s.height ?? 460;
  const left = 80;
  const right = width - 20;
  const top = 34;
  const bottom = height - 50 - 18 * Math.ceil((s.lines.length + s.points.length) / 2);
  const xs = [...s.lines.flatMap((l) => l.points.map((p) => p[0])), ...s.points.map((p) => p.x)].filter((v) => v > 0);
  const ys = [...s.lines.flatMap((l) => l.points.map((p) => p[1])), ...s.points.map((p) => p.y)].filter((v) => v > 0);
  const xt = decades(Math.min(...xs), Math.max(...xs));
  const yt = decades(Math.min(...ys), Math.max(...ys));
  const x = scale(xt[0]!, xt[xt.length - 1]!, left, right, true);
  const y = scale(yt[0]!, yt[yt.length - 1]!, bottom, top, true);
  let out = open(s.id, width, height, s.title);
  for (const t of xt) {
    out += `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#ddd"/>`;
    out += text(x(t), bottom + 14, si(t), 'text-anchor="middle" fill="#444"');
  }
  for (const t of yt) {
    out += `<line x1="${left}" x2="${right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#ddd"/>`;
    out += text(left - 6, y(t) + 4, si(t), 'text-anchor="end" fill="#444"');
  }
  out += `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444"/>`;
  out += text((left + right) / 2, bottom + 32, s.xLabel, 'text-anchor="middle"');
  out += text(16, (top + bottom) / 2, s.yLabel, `text-anchor="middle" transform="rotate(-90 16 ${((top + bottom) / 2).toFixed(1)})"`);
  const items: [string, string][] = [];
  s.lines.forEach((l, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    const d = l.points.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out += `<path class="mark" data-value="${esc(l.points.map((p) => p[1]).join(','))}" data-label="${esc(l.label)}" d="${d}" fill="none" stroke="${colour}" stroke-width="2"${l.dashed ? ' stroke-dasharray="6,4"' : ''}><title>${esc(l.label)}</title></path>`;
    items.push([l.label, colour]);
  });
  s.points.forEach((p, i) => {
    const colour = PALETTE[(s.lines.length + i) % PALETTE.length]!;
    out += `<circle class="mark" data-value="${esc(p.y)}" data-x="${esc(p.x)}" data-label="${esc(p.label)}" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="6" fill="${colour}" stroke="#000"><title>${esc(`${p.label}: ${fmt(p.x)} ops/byte, ${si(p.y)} ops/s`)}</title></circle>`;
    // Alternate the labels above and below the points so that close points stay readable.
    out += text(x(p.x) + 9, y(p.y) + (i % 2 ? 16 : -8), p.label, 'fill="#222"');
    items.push([p.label, colour]);
  });
  out += legend(items, 10, bottom + 52, width, 2);
  return `${out}</svg>`;
}
