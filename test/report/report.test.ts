/**
 * `flightgen report` (src/cli/commands/report.ts, src/report/): generates the page for a small
 * configuration (the `tiny` preset and model, plus a small synthesis report), loads it from
 * file:// in headless Debian Chromium driven by playwright-core, and checks that it loads with
 * no console or page errors and no network requests, and that every chart has data marks.
 * A screenshot goes to test-artifacts/report.png. Chromium comes from `scripts/ensure-chromium.mjs`
 * (apt-get as root); without it and without root the browser test skips with a message.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerReport } from '../../src/cli/commands/report.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { esc } from '../../src/report/svg.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const HAVE_CHROMIUM = existsSync(CHROMIUM);
/** Skip only when Chromium is missing and we could not have installed it (not root). */
const SKIP_BROWSER = !HAVE_CHROMIUM && !IS_ROOT;
if (SKIP_BROWSER) console.warn(`report.test: SKIPPING the browser test: ${CHROMIUM} not found and not root (install it: sudo apt-get install -y chromium, or run node scripts/ensure-chromium.mjs as root)`);

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Runs `report -q` with `args`; throws what the action threw. */
async function report(args: string[]): Promise<string> {
  const program = new Command('flightgen').exitOverride();
  registerReport(program);
  for (const c of program.commands) c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    await program.parseAsync(['report', ...args], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  return err;
}

/** A minimal `flightgen synth --json` report (schema flightgen-synth-report/1, the fields the page reads). */
const SYNTH = {
  schema: 'flightgen-synth-report/1',
  method: 'hand-written fixture for the report test',
  estimate: false,
  available: { lut: 1303680, ff: 2607360, dsp: 9024, bram: 2016, uram: 960 },
  modules: [
    { name: 'mpe', instances: 1, total: { lut: 12000, ff: 15000, dsp: 64, bram: 4, uram: 0 } },
    { name: 'sfu', instances: 1, total: { lut: 8000, ff: 6000, dsp: 8, bram: 1, uram: 0 } },
    { name: 'ld_engine', instances: 1, total: { lut: 3000, ff: 4000, dsp: 0, bram: 2, uram: 1 } },
  ],
};

let out: string;
let progress: string;
/** The default preset and model (flightllm-u280, llama2-7b), short prefill/decode. */
let outLlama: string;
let progressLlama: string;

beforeAll(async () => {
  const d = await mkdtemp(join(tmpdir(), 'flightgen-report-'));
  dirs.push(d);
  out = join(d, 'report');
  await writeFile(join(d, 'synth.json'), JSON.stringify(SYNTH));
  progress = await report(['--out', out, '--preset', 'tiny', '--model', 'tiny', '--prefill', '8', '--decode', '8', '--synth-json', join(d, 'synth.json')]);
  outLlama = join(d, 'llama');
  progressLlama = await report(['--out', outLlama, '--prefill', '16', '--decode', '4', '--samples', '2']);
});

describe('flightgen report: files', () => {
  it('writes index.html and data.json with progress lines on stderr', async () => {
    expect(progress).toMatch(/^flightgen report: compiling tiny for tiny/m);
    expect(progress).toMatch(/wrote .*index\.html/);
    const data = JSON.parse(await readFile(join(out, 'data.json'), 'utf8'));
    expect(data.schema).toBe('flightgen-report/1');
    expect(data.perf.decodeTokensPerSec).toBeGreaterThan(0);
    expect(data.roofline.points.map((p: { phase: string }) => p.phase).sort()).toEqual(['decode', 'prefill']);
    expect(data.utilisation.rows.length).toBe(3);
    expect(data.synth.rows.length).toBe(5);
    // The paper's LLaMA2-7B figures are not put next to another model.
    expect(data.throughput.every((t: { kind: string }) => t.kind === 'perf model')).toBe(true);
  });

  it('defaults to llama2-7b on the flightllm-u280 preset as generated (6144 MACs)', async () => {
    expect(progressLlama).toMatch(/^flightgen report: compiling llama2-7b for flightllm-u280 \(384 x 16/m);
    const data = JSON.parse(await readFile(join(outLlama, 'data.json'), 'utf8'));
    expect(data.preset).toBe('flightllm-u280');
    expect(data.perfConfig.overrides).toEqual({});
    expect(data.perfConfig.macs).toBe(6144);
    expect(data.utilisation.rows.map((r: { config: string }) => r.config)).toEqual(['flightllm-u280', 'flightllm-u280', 'flightllm-u280']);
    expect(data.utilisation.rows[0].used).toBe(6144);
    expect(data.throughput.map((t: { kind: string }) => t.kind)).toEqual(expect.arrayContaining(['perf model', 'paper', 'GPU']));
  });

  it('is self-contained: no external resources, a CSP forbidding fetches, no scripts', async () => {
    const html = await readFile(join(out, 'index.html'), 'utf8');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    for (const id of ['chart-utilisation', 'chart-synth', 'chart-roofline', 'chart-latency', 'chart-throughput']) expect(html).toContain(`id="${id}"`);
    // Every chart is a figure with a caption naming its source.
    expect(html.match(/<figcaption>Sources?: /g)?.length).toBe(5);
  });

  it('escapes text', () => {
    expect(esc(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('reports bad input as one-line usage errors', async () => {
    await expect(report(['-q', '--out', join(out, 'x'), '--preset', 'tiny', '--model', 'tiny', '--prefill', '60', '--decode', '8'])).rejects.toThrow(UsageError);
    await expect(report(['-q', '--out', join(out, 'x'), '--preset', 'tiny', '--model', 'tiny', '--synth-json', join(out, 'missing.json')])).rejects.toThrow(/cannot read --synth-json/);
    await expect(report(['-q', '--out', join(out, 'x'), '--preset', 'tiny', '--model', 'tiny', '--synth-json', join(out, 'data.json')])).rejects.toThrow(/not a flightgen synth report/);
    await expect(report(['-q', '--out', join(out, 'x'), '--preset', 'tiny', '--model', 'llama2-7b', '--decode', '1', '--prefill', '0'])).rejects.toThrow(/^compile llama2-7b for tiny: /);
  });
});

describe.skipIf(SKIP_BROWSER)('flightgen report: in headless Chromium', () => {
  it('loads with no console errors, no network requests, and every chart has data', async () => {
    expect(HAVE_CHROMIUM, `${CHROMIUM} is missing: run node scripts/ensure-chromium.mjs (as root it installs Debian's chromium)`).toBe(true);
    const { chromium } = await import('playwright-core');
    const profile = await mkdtemp(join(tmpdir(), 'flightgen-chromium-'));
    dirs.push(profile);
    // A fresh profile and no background networking: the machine's network is closed.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 900, height: 800 },
    });
    try {
      const pages = [
        { dir: outLlama, title: 'flightgen report: llama2-7b on flightllm-u280', charts: ['chart-utilisation', 'chart-roofline', 'chart-latency', 'chart-throughput'], shot: 'report.png' },
        { dir: out, title: 'flightgen report: tiny on tiny', charts: ['chart-utilisation', 'chart-synth', 'chart-roofline', 'chart-latency', 'chart-throughput'], shot: 'report-tiny-synth.png' },
      ];
      for (const want of pages) {
        const page = await context.newPage();
        const errors: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
        page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
        page.on('request', (r) => requests.push(r.url()));
        const res = await page.goto(pathToFileURL(join(want.dir, 'index.html')).href, { waitUntil: 'load' });
        expect(res?.ok() ?? true).toBe(true);
        expect(await page.title()).toBe(want.title);
        const charts = await page.$$eval('svg.chart', (svgs) =>
          svgs.map((s) => ({
            id: s.id,
            marks: [...s.querySelectorAll('.mark[data-value]')].filter((m) => m.getAttribute('data-value') !== '' && (m as SVGGraphicsElement).getBBox().width + (m as SVGGraphicsElement).getBBox().height > 0).length,
            title: s.querySelector('title')?.textContent ?? '',
            texts: s.querySelectorAll('text').length,
            width: s.getBoundingClientRect().width,
            caption: s.closest('figure')?.querySelector('figcaption')?.textContent ?? '',
          })),
        );
        expect(charts.map((c) => c.id)).toEqual(want.charts);
        for (const c of charts) {
          expect(c.marks, `${c.id} has data marks`).toBeGreaterThan(0);
          expect(c.title, `${c.id} has a title`).not.toBe('');
          expect(c.texts, `${c.id} has axis labels`).toBeGreaterThan(3);
          expect(c.width, `${c.id} is laid out`).toBeGreaterThan(100);
          expect(c.caption, `${c.id} names its source`).toMatch(/^Sources?: /);
        }
        await mkdir(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, want.shot), fullPage: true });
        expect(errors, want.title).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), want.title).toEqual([]);
        await page.close();
      }
    } finally {
      await context.close();
    }
  });
});
