/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no scripts, no external
 * resources; a Content-Security-Policy forbids any fetch) built from ReportData.
 */
import { PAPER_U280_UTILISATION } from '../perf/paper.ts';
import type { ReportData, UtilisationRow } from './data.ts';
import { barChart, esc, fmt, logLogChart, stackedBarChart } from './svg.ts';

const CSS = `
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:820px;color:#111;line-height:1.4;padding:0 12px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin:28px 0 6px}
table.summary{border-collapse:collapse;font-size:13px}table.summary td{padding:2px 10px 2px 0;vertical-align:top}
table.summary td:first-child{color:#555;white-space:nowrap}
figure{margin:12px 0 24px;border:1px solid #ddd;padding:8px;border-radius:4px}
figcaption{font-size:12.5px;color:#333;margin-top:6px}
.note{background:#fff6d6;border-left:4px solid #e6b800;padding:6px 10px;font-size:13px}
svg.chart{max-width:100%;height:auto}
footer{font-size:12px;color:#666;margin-top:32px}
`;

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function utilisationChart(id: string, title: string, rows: readonly UtilisationRow[]): string {
  const max = Math.max(100, ...rows.map((r) => 100 * r.utilisation), ...rows.map((r) => 100 * (r.paper ?? 0)));
  return stackedBarChart({
    id,
    title,
    xLabel: 'utilisation of the device (%)',
    max,
    format: (v) => `${fmt(v)}`,
    rows: rows.map((r) => ({
      label: `${r.resource}: ${r.config.length > 28 ? `${r.config.slice(0, 27)}…` : r.config}`,
      note: `${pct(r.utilisation)} (${fmt(r.used)}/${r.available})`,
      segments: r.modules.map((m) => ({ key: m.name, value: 100 * m.utilisation, title: `${r.resource}, ${r.config}: ${m.name} ${fmt(m.used)} (${pct(m.utilisation)} of ${r.available}); ${m.detail}` })),
      markers: [...(r.limit !== undefined ? [{ value: 100 * r.limit, label: 'headroom limit' }] : []), ...(r.paper !== undefined ? [{ value: 100 * r.paper, label: 'FlightLLM U280 (paper table)', colour: '#D55E00' }] : [])],
    })),
  });
}

function figure(chart: string, caption: string): string {
  return `<figure>${chart}<figcaption>${caption}</figcaption></figure>`;
}

/** The whole page. */
export function renderReportHtml(d: ReportData): string {
  const p = d.perf;
  const title = `flightgen report: ${d.model} on ${d.preset}`;
  const summary: [string, string][] = [
    ['model', d.model],
    ['preset / device', `${d.preset} / ${d.device.board} (${d.device.part})`],
    ['clock', `${d.clockMHz} MHz`],
    ['performance-model configuration', `${d.perfConfig.label}: ${d.perfConfig.chains} x ${d.perfConfig.chainLength} MPE = ${d.perfConfig.macs} MACs; ${p.weights.precision} weights${p.weights.grouped ? ' with group multipliers' : ''}, ${p.weights.sparsity}, INT${p.weights.actBits} activations`],
    ['prefill', p.prefill ? `${p.prefill.tokens} tokens in ${fmt(p.prefill.ms)} ms, MPE utilisation ${pct(p.prefill.mpeUtilization)}` : 'none'],
    ['decode', `${fmt(p.decode.msPerToken)} ms per token = ${fmt(p.decodeTokensPerSec)} tokens/s; HBM ${pct(p.bandwidthUtilization)} of ${p.hbmPeakGBs.toFixed(1)} GB/s; MPE ${pct(p.mpeUtilization)}`],
    ['HBM roofline', `${fmt(p.rooflineTokensPerSec)} tokens/s (achieved/bound ${pct(p.rooflineRatio)})`],
  ];
  const parts: string[] = [];
  parts.push(`<h1>${esc(title)}</h1>`);
  parts.push(`<table class="summary">${summary.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`);

  parts.push('<h2>Resource utilisation per module</h2>');
  parts.push(
    figure(
      utilisationChart('chart-utilisation', `Estimated DSP / BRAM / URAM use on ${d.device.name.toUpperCase()} by module`, d.utilisation.rows),
      `Source: <b>estimate</b>, not synthesis: ${esc(d.utilisation.source)}. ${d.utilisation.rows.some((r) => r.config === 'perf config') ? `Rows "preset": ${esc(d.preset)} as generated; rows "perf config": the configuration the performance model compiled (${esc(d.perfConfig.label)}). ` : ''}Segments are modules (the MPE's MAC slices, the on-chip buffers, each placed in BRAM or URAM by the estimate); dashed black ticks mark the headroom limits (DSP ${pct(d.utilisation.headroom.dsp)}, BRAM ${pct(d.utilisation.headroom.bram)}, URAM ${pct(d.utilisation.headroom.uram)}, docs/targets.md)${d.device.name === 'u280' ? ` and dashed red ticks FlightLLM's U280 utilisation from the paper's table (DSP ${pct(PAPER_U280_UTILISATION.dsp)}, BRAM ${pct(PAPER_U280_UTILISATION.bram)}, URAM ${pct(PAPER_U280_UTILISATION.uram)})` : ''}. LUT and FF are not estimated; the control logic, the SFU and the platform shell are not included.`,
    ),
  );
  if (d.synth) {
    parts.push(
      figure(
        utilisationChart('chart-synth', `Synthesised LUT / FF / DSP / BRAM / URAM by module`, d.synth.rows),
        `Source: <b>${d.synth.estimate ? 'estimate from a synthesis report' : 'synthesis'}</b>, ${esc(d.synth.file)}: ${esc(d.synth.method)}. Per-module totals (instances multiplied out) as a fraction of the whole device; the largest seven modules by resource, the rest as "other modules".`,
      ),
    );
  }

  const r = d.roofline;
  const xs = r.points.map((q) => q.intensity);
  const ridge = r.peakOpsPerSec / r.hbmPeakBytesPerSec;
  const portRidge = r.peakOpsPerSec / r.readPortBytesPerSec;
  const x0 = Math.min(...xs, ridge, portRidge) / 10;
  const x1 = Math.max(...xs, ridge, portRidge) * 10;
  const roof = (bw: number, rx: number): [number, number][] => [
    [x0, bw * x0],
    [rx, r.peakOpsPerSec],
    [x1, r.peakOpsPerSec],
  ];
  parts.push('<h2>Roofline</h2>');
  parts.push(
    figure(
      logLogChart({
        id: 'chart-roofline',
        title: `Roofline: ${d.perfConfig.macs} MACs at ${d.clockMHz} MHz, ${d.device.name.toUpperCase()} HBM`,
        xLabel: 'operational intensity (ops per HBM byte, 2 ops per MAC)',
        yLabel: 'performance (ops/s)',
        lines: [
          { label: `HBM peak ${(r.hbmPeakBytesPerSec / 1e9).toFixed(1)} GB/s, compute ${fmt(r.peakOpsPerSec / 1e9)} Gops/s`, points: roof(r.hbmPeakBytesPerSec, ridge) },
          { label: `one ${((r.readPortBytesPerSec * 8) / (d.clockMHz * 1e6)).toFixed(0)}-bit read port: ${(r.readPortBytesPerSec / 1e9).toFixed(1)} GB/s`, points: roof(r.readPortBytesPerSec, portRidge), dashed: true },
        ],
        points: r.points.map((q) => ({ label: q.label, x: q.intensity, y: q.opsPerSec })),
      }),
      `Source: <b>performance model</b> (src/perf). Each point is a phase of the compiled program: operations = 2 x the MACs it performs, bytes = its HBM traffic, time = its predicted cycles at ${d.clockMHz} MHz. Roofs: compute = 2 x ${d.perfConfig.macs} MACs x clock; memory = the device's HBM peak (src/perf/memory.ts) and, dashed, the design's single AXI read port at one beat per cycle. ${r.points.map((q) => `${esc(q.label)}: ${fmt(q.intensity)} ops/byte, ${fmt(q.opsPerSec / 1e9)} Gops/s`).join('; ')}.`,
    ),
  );

  parts.push('<h2>Latency by operation class</h2>');
  parts.push(
    figure(
      stackedBarChart({
        id: 'chart-latency',
        title: 'Where the cycles go: critical path by instruction class',
        xLabel: "share of the phase's latency (%)",
        max: 100,
        rows: d.latency.phases.map((ph) => ({
          label: ph.phase.replace(/ \(.*\)$/, ''),
          note: `${fmt(ph.ms)} ms`,
          segments: ph.classes.map((c) => ({ key: c.cls, value: 100 * c.share, title: `${ph.phase}: ${c.cls} ${pct(c.share)} = ${fmt(c.ms)} ms` })),
        })),
      }),
      `Source: <b>performance model</b>: ${esc(d.latency.source)}. Each bar is 100% of a phase (decode: one token, averaged over the decode positions; prefill: the whole pass); the segment is the share of the critical path bound by that class (hover for ms). ${d.latency.phases
        .map((ph) => `${esc(ph.phase)}: ${ph.classes.slice(0, 3).map((c) => `${esc(c.cls)} ${pct(c.share)}`).join(', ')}`)
        .join('; ')}.`,
    ),
  );

  parts.push('<h2>Decode throughput</h2>');
  parts.push(
    figure(
      barChart({
        id: 'chart-throughput',
        title: `Decode tokens/s, ${d.model}, batch 1`,
        xLabel: 'tokens per second (log scale)',
        log: true,
        bars: d.throughput.map((t) => ({ label: t.label, value: t.tokensPerSec, group: t.kind, title: `${t.label}: ${fmt(t.tokensPerSec)} tokens/s. ${t.source}` })),
      }),
      `Sources: ${d.throughput.map((t) => `<b>${esc(t.kind)}</b> ${esc(t.label)} (${fmt(t.tokensPerSec)}): ${esc(t.source)}`).join('; ')}.${d.model === 'llama2-7b' ? ' Paper and GPU figures from ../shared/FLIGHTLLM.md.' : ` The paper's figures are for LLaMA2-7B and are left out for ${esc(d.model)}.`}`,
    ),
  );

  parts.push(`<footer>Generated by <code>flightgen report</code> at ${esc(d.generatedAt)}; the numbers are in data.json next to this page (docs/report.md).</footer>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
${parts.join('\n')}
</body></html>
`;
}
