/** `bench/results.svg`: the results as six small, hand-drawn charts (no charting dependency). */
import type { BenchResults } from './results.js';

const COLS = 3;
const PANEL_W = 380;
const PANEL_H = 350;
const GAP = 10;
const TOP = 58;
const WIDTH = GAP + COLS * (PANEL_W + GAP);
const HEIGHT = TOP + 2 * (PANEL_H + GAP);
const MARGIN = { left: 62, right: 16, top: 46, bottom: 52 };
const COLOR = {
  text: '#1f2328',
  muted: '#59636e',
  grid: '#e6e8eb',
  axis: '#8c959f',
  p50: '#0550ae',
  p95: '#3b82c4',
  p99: '#8fb8e0',
  floor: '#6e7781',
  stack: '#0550ae',
  clients: '#bc4c00',
  jvm: '#1a7f37',
  good: '#1a7f37',
  bad: '#cf222e',
  band: '#f6f8fa',
};

const esc = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const fmt = (n: number) => {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 10_000) return `${Math.round(n / 1000)}k`;
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(1).replace(/\.0$/, '')}k`;
  if (Math.abs(n) >= 10) return String(Math.round(n));
  return n.toFixed(1).replace(/\.0$/, '');
};

interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

function text(x: number, y: number, value: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(value)}</text>`;
}

function niceLinearTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(v);
  if ((ticks.at(-1) ?? 0) < max) ticks.push((ticks.at(-1) ?? 0) + step);
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let p = Math.floor(Math.log10(min)); p <= Math.ceil(Math.log10(max)); p++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** p;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
    }
  }
  // Too many labels on a short axis: keep the powers of ten.
  return ticks.length > 8 ? ticks.filter((v) => Number.isInteger(Math.log10(v))) : ticks;
}

class Panel {
  readonly parts: string[] = [];
  readonly plot: Box;

  constructor(
    readonly box: Box,
    title: string,
    subtitle: string,
  ) {
    this.plot = {
      x: box.x + MARGIN.left,
      y: box.y + MARGIN.top,
      w: box.w - MARGIN.left - MARGIN.right,
      h: box.h - MARGIN.top - MARGIN.bottom,
    };
    this.parts.push(
      `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" rx="6" fill="#fff" stroke="${COLOR.grid}"/>`,
      text(box.x + 12, box.y + 20, title, `font-size="13.5" font-weight="600" fill="${COLOR.text}"`),
      text(box.x + 12, box.y + 36, subtitle, `font-size="11" fill="${COLOR.muted}"`),
    );
  }

  empty(message: string): string {
    this.parts.push(
      text(
        this.box.x + this.box.w / 2,
        this.box.y + this.box.h / 2,
        message,
        `font-size="12" fill="${COLOR.muted}" text-anchor="middle"`,
      ),
    );
    return this.svg();
  }

  /** Horizontal grid lines and labels for `ticks`, placed by `y`. */
  yAxis(ticks: readonly number[], y: (v: number) => number, label: string): void {
    const { x, w } = this.plot;
    for (const tick of ticks) {
      const ty = y(tick);
      this.parts.push(
        `<line x1="${x}" x2="${x + w}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="${COLOR.grid}"/>`,
        text(x - 6, ty + 3.5, fmt(tick), `font-size="10" fill="${COLOR.muted}" text-anchor="end"`),
      );
    }
    const cy = this.plot.y + this.plot.h / 2;
    this.parts.push(
      text(
        this.box.x + 14,
        cy,
        label,
        `font-size="10.5" fill="${COLOR.muted}" text-anchor="middle" transform="rotate(-90 ${this.box.x + 14} ${cy})"`,
      ),
    );
  }

  xLabels(labels: readonly { x: number; label: string }[], title: string): void {
    const base = this.plot.y + this.plot.h;
    this.parts.push(
      `<line x1="${this.plot.x}" x2="${this.plot.x + this.plot.w}" y1="${base}" y2="${base}" stroke="${COLOR.axis}"/>`,
    );
    for (const { x, label } of labels) {
      this.parts.push(text(x, base + 14, label, `font-size="10" fill="${COLOR.muted}" text-anchor="middle"`));
    }
    this.parts.push(
      text(
        this.plot.x + this.plot.w / 2,
        base + 30,
        title,
        `font-size="10.5" fill="${COLOR.muted}" text-anchor="middle"`,
      ),
    );
  }

  legend(items: readonly { color: string; label: string; dash?: string }[]): void {
    let x = this.box.x + 16;
    const y = this.box.y + this.box.h - 10;
    for (const item of items) {
      this.parts.push(
        `<line x1="${x}" x2="${x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="${item.color}" stroke-width="3"${item.dash ? ` stroke-dasharray="${item.dash}"` : ''}/>`,
        text(x + 20, y, item.label, `font-size="10.5" fill="${COLOR.text}"`),
      );
      x += 30 + item.label.length * 5.4;
    }
  }

  line(points: readonly { x: number; y: number }[], color: string, dash?: string): void {
    if (points.length === 0) return;
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    this.parts.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      ...points.map((p) => `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="3" fill="${color}"/>`),
    );
  }

  svg(): string {
    return `<g>${this.parts.join('')}</g>`;
  }
}

function boxAt(index: number): Box {
  const col = index % COLS;
  const row = Math.floor(index / COLS);
  return { x: GAP + col * (PANEL_W + GAP), y: TOP + row * (PANEL_H + GAP), w: PANEL_W, h: PANEL_H };
}

function latencyPanel(results: BenchResults): string {
  const fan = results.fanOut;
  const panel = new Panel(
    boxAt(0),
    'Fan-out latency',
    'PutEvents accepted → received, per delivery (log scale)',
  );
  if (!fan || fan.sizes.length === 0) return panel.empty('fan-out not run');
  const { plot } = panel;
  const sizes = fan.sizes;
  const values = sizes.flatMap((s) => [
    s.switchboard.latencyMs.p50,
    s.switchboard.latencyMs.p99,
    s.floor.latencyMs.p50,
  ]);
  const min = Math.max(0.1, Math.min(...values) * 0.7);
  const max = Math.max(...values) * 1.3;
  const y = (v: number) =>
    plot.y +
    plot.h -
    ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * plot.h;
  const x = (i: number) =>
    plot.x + (sizes.length === 1 ? plot.w / 2 : 16 + (i * (plot.w - 32)) / (sizes.length - 1));
  panel.yAxis(logTicks(min, max), y, 'milliseconds');
  panel.xLabels(
    sizes.map((s, i) => ({ x: x(i), label: s.subscribers.toLocaleString('en-US') })),
    'subscribers on the channel',
  );
  panel.line(
    sizes.map((s, i) => ({ x: x(i), y: y(s.floor.latencyMs.p50) })),
    COLOR.floor,
    '5 4',
  );
  panel.line(
    sizes.map((s, i) => ({ x: x(i), y: y(s.switchboard.latencyMs.p99) })),
    COLOR.p99,
  );
  panel.line(
    sizes.map((s, i) => ({ x: x(i), y: y(s.switchboard.latencyMs.p95) })),
    COLOR.p95,
  );
  panel.line(
    sizes.map((s, i) => ({ x: x(i), y: y(s.switchboard.latencyMs.p50) })),
    COLOR.p50,
  );
  panel.legend([
    { color: COLOR.p50, label: 'p50' },
    { color: COLOR.p95, label: 'p95' },
    { color: COLOR.p99, label: 'p99' },
    { color: COLOR.floor, label: 'floor p50 (bare posts)', dash: '5 4' },
  ]);
  return panel.svg();
}

function throughputPanel(results: BenchResults): string {
  const fan = results.fanOut;
  const panel = new Panel(
    boxAt(1),
    'Deliveries per second',
    `Switchboard vs a bare PostToConnection loop (concurrency ${results.method.publishConcurrency})`,
  );
  if (!fan || fan.sizes.length === 0) return panel.empty('fan-out not run');
  const { plot } = panel;
  const sizes = fan.sizes;
  const ticks = niceLinearTicks(
    Math.max(...sizes.flatMap((s) => [s.switchboard.deliveriesPerSecond, s.floor.deliveriesPerSecond])) *
      1.12,
  );
  const top = ticks.at(-1) ?? 1;
  const y = (v: number) => plot.y + plot.h - (v / top) * plot.h;
  panel.yAxis(ticks, y, 'deliveries / s');
  const group = plot.w / sizes.length;
  const bar = Math.min(34, group * 0.32);
  panel.xLabels(
    sizes.map((s, i) => ({ x: plot.x + group * (i + 0.5), label: s.subscribers.toLocaleString('en-US') })),
    'subscribers on the channel',
  );
  sizes.forEach((s, i) => {
    const cx = plot.x + group * (i + 0.5);
    const bars = [
      { v: s.switchboard.deliveriesPerSecond, color: COLOR.p50, x: cx - bar - 1 },
      { v: s.floor.deliveriesPerSecond, color: COLOR.floor, x: cx + 1 },
    ];
    for (const b of bars) {
      panel.parts.push(
        `<rect x="${b.x.toFixed(1)}" y="${y(b.v).toFixed(1)}" width="${bar.toFixed(1)}" height="${(plot.y + plot.h - y(b.v)).toFixed(1)}" fill="${b.color}"/>`,
      );
    }
    const label = `×${s.ratio.deliveriesPerSecond.toFixed(2)}`;
    panel.parts.push(
      text(
        cx,
        y(Math.max(s.switchboard.deliveriesPerSecond, s.floor.deliveriesPerSecond)) - 5,
        label,
        `font-size="10.5" font-weight="600" fill="${COLOR.text}" text-anchor="middle"`,
      ),
    );
  });
  panel.legend([
    { color: COLOR.p50, label: 'Switchboard' },
    { color: COLOR.floor, label: 'floor' },
    { color: '#fff', label: '×: Switchboard / floor' },
  ]);
  return panel.svg();
}

function costPanel(results: BenchResults): string {
  const cost = results.dynamoCost;
  const panel = new Panel(
    boxAt(2),
    'DynamoDB read units per fan-out',
    cost
      ? `${cost.connections.toLocaleString('en-US')} connections, ${cost.subscribers} subscribed (log scale)`
      : '',
  );
  if (!cost) return panel.empty('DynamoDB cost not run');
  const { plot } = panel;
  const pick = (c: typeof cost.query) =>
    cost.source === 'reported' ? (c.reported ?? c.estimated) : c.estimated;
  const bars = [
    { label: 'Query (channel)', v: pick(cost.query), color: COLOR.p50 },
    { label: 'Scan, eventual', v: pick(cost.scan), color: COLOR.bad },
    { label: 'Scan, strong', v: pick(cost.scanConsistent), color: '#e5858c' },
  ];
  const min = Math.max(0.1, Math.min(...bars.map((b) => b.v)) / 2);
  const max = Math.max(...bars.map((b) => b.v)) * 2.5;
  const y = (v: number) =>
    plot.y +
    plot.h -
    ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * plot.h;
  panel.yAxis(logTicks(min, max), y, 'read units');
  const slot = plot.w / bars.length;
  panel.xLabels(
    bars.map((b, i) => ({ x: plot.x + slot * (i + 0.5), label: b.label })),
    cost.source === 'reported' ? 'as reported by DynamoDB Local' : 'computed from item sizes',
  );
  bars.forEach((b, i) => {
    const cx = plot.x + slot * (i + 0.5);
    const w = slot * 0.46;
    panel.parts.push(
      `<rect x="${(cx - w / 2).toFixed(1)}" y="${y(b.v).toFixed(1)}" width="${w.toFixed(1)}" height="${(plot.y + plot.h - y(b.v)).toFixed(1)}" fill="${b.color}"/>`,
      text(
        cx,
        y(b.v) - 5,
        fmt(b.v),
        `font-size="11" font-weight="600" fill="${COLOR.text}" text-anchor="middle"`,
      ),
    );
  });
  panel.parts.push(
    text(
      plot.x + plot.w,
      plot.y + 4,
      `scan / query: ×${fmt(cost.ratio)}`,
      `font-size="11.5" font-weight="600" fill="${COLOR.bad}" text-anchor="end"`,
    ),
  );
  return panel.svg();
}

function memoryPanel(results: BenchResults): string {
  const soak = results.soak;
  const panel = new Panel(
    boxAt(3),
    'Soak: memory (RSS)',
    soak ? `${soak.clients.toLocaleString('en-US')} connections; shaded: publishing` : '',
  );
  if (!soak || soak.series.length < 2) return panel.empty('soak not run');
  const { plot } = panel;
  const series = soak.series;
  const tMax = series.at(-1)?.t ?? 1;
  const all = series.flatMap((p) => [p.stackMiB, p.clientsMiB, p.jvmMiB ?? 0]);
  const ticks = niceLinearTicks(Math.max(...all) * 1.1);
  const top = ticks.at(-1) ?? 1;
  const x = (t: number) => plot.x + (t / tMax) * plot.w;
  const y = (v: number) => plot.y + plot.h - (v / top) * plot.h;
  const connectedAt = series[1]?.t ?? 0;
  const publishEnd = connectedAt + soak.publishSeconds;
  panel.parts.push(
    `<rect x="${x(connectedAt).toFixed(1)}" y="${plot.y}" width="${(x(Math.min(publishEnd, tMax)) - x(connectedAt)).toFixed(1)}" height="${plot.h}" fill="${COLOR.band}"/>`,
  );
  panel.yAxis(ticks, y, 'MiB');
  const tTicks = niceLinearTicks(tMax, 5).filter((t) => t <= tMax);
  panel.xLabels(
    tTicks.map((t) => ({ x: x(t), label: `${fmt(t)}` })),
    'seconds since the soak clients started connecting',
  );
  const path = (pick: (p: (typeof series)[number]) => number | undefined, color: string) => {
    const points = series
      .filter((p) => Number.isFinite(pick(p)))
      .map((p) => ({ x: x(p.t), y: y(pick(p) as number) }));
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    panel.parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
  };
  path((p) => p.stackMiB, COLOR.stack);
  path((p) => p.clientsMiB, COLOR.clients);
  if (soak.memoryMiB.jvm) path((p) => p.jvmMiB, COLOR.jvm);
  panel.legend([
    { color: COLOR.stack, label: 'stack (Node)' },
    { color: COLOR.clients, label: `clients (${soak.clientWorkers} procs)` },
    ...(soak.memoryMiB.jvm ? [{ color: COLOR.jvm, label: 'DynamoDB Local' }] : []),
  ]);
  return panel.svg();
}

function soakPanel(results: BenchResults): string {
  const soak = results.soak;
  const panel = new Panel(
    boxAt(4),
    'Soak: deliveries',
    soak
      ? `${soak.eventsPublished} events at ${soak.eventsPerSecond}/s, ${soak.tenants.length} tenant groups`
      : '',
  );
  if (!soak) return panel.empty('soak not run');
  const { box } = panel;
  const rows: [string, string, string][] = [
    [
      'delivered',
      `${soak.delivered.toLocaleString('en-US')} / ${soak.expectedDeliveries.toLocaleString('en-US')}`,
      soak.delivered === soak.expectedDeliveries ? COLOR.good : COLOR.bad,
    ],
    ['lost', String(soak.lost), soak.lost === 0 ? COLOR.good : COLOR.bad],
    [
      'unexpected (other tenant / channel)',
      String(soak.unexpected),
      soak.unexpected === 0 ? COLOR.good : COLOR.bad,
    ],
    ['duplicated', String(soak.duplicated), soak.duplicated === 0 ? COLOR.good : COLOR.muted],
    [
      'latency p50 / p95 / p99',
      `${fmt(soak.latencyMs.p50)} / ${fmt(soak.latencyMs.p95)} / ${fmt(soak.latencyMs.p99)} ms`,
      COLOR.text,
    ],
    ['deliveries per second', soak.deliveriesPerSecond.toLocaleString('en-US'), COLOR.text],
    [
      'stack RSS: connected / peak / end',
      `${Math.round(soak.memoryMiB.stack.connected)} / ${Math.round(soak.memoryMiB.stack.peak)} / ${Math.round(soak.memoryMiB.stack.end)} MiB`,
      COLOR.text,
    ],
  ];
  rows.forEach(([label, value, color], i) => {
    const ry = box.y + 78 + i * 38;
    panel.parts.push(
      text(box.x + 18, ry, label, `font-size="12" fill="${COLOR.muted}"`),
      text(
        box.x + box.w - 18,
        ry,
        value,
        `font-size="${i < 3 ? 17 : 14}" font-weight="600" fill="${color}" text-anchor="end"`,
      ),
      `<line x1="${box.x + 18}" x2="${box.x + box.w - 18}" y1="${ry + 12}" y2="${ry + 12}" stroke="${COLOR.grid}"/>`,
    );
  });
  return panel.svg();
}

function coldStartPanel(results: BenchResults): string {
  const cold = results.coldStart;
  const panel = new Panel(
    boxAt(5),
    'Handler cold start: module init',
    cold
      ? `bundled handler, import() in a fresh Node process, median of ${cold.runsPerHandler}; bar: range`
      : '',
  );
  if (!cold || cold.handlers.length === 0) return panel.empty('cold start not run');
  const { plot } = panel;
  const labelWidth = 70;
  const left = plot.x - MARGIN.left + labelWidth + 18;
  const width = plot.x + plot.w - left;
  const ticks = niceLinearTicks(Math.max(...cold.handlers.map((h) => h.initMaxMs)) * 1.05);
  const top = ticks.at(-1) ?? 1;
  const x = (v: number) => left + (v / top) * width;
  const rowH = plot.h / cold.handlers.length;
  for (const tick of ticks) {
    panel.parts.push(
      `<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${plot.y}" y2="${plot.y + plot.h}" stroke="${COLOR.grid}"/>`,
      text(
        x(tick),
        plot.y + plot.h + 14,
        fmt(tick),
        `font-size="10" fill="${COLOR.muted}" text-anchor="middle"`,
      ),
    );
  }
  panel.parts.push(
    text(
      left + width / 2,
      plot.y + plot.h + 30,
      'milliseconds',
      `font-size="10.5" fill="${COLOR.muted}" text-anchor="middle"`,
    ),
  );
  cold.handlers.forEach((h, i) => {
    const cy = plot.y + rowH * (i + 0.5);
    const barH = Math.min(16, rowH * 0.6);
    panel.parts.push(
      text(left - 8, cy + 4, h.handler, `font-size="11" fill="${COLOR.text}" text-anchor="end"`),
      `<rect x="${left}" y="${(cy - barH / 2).toFixed(1)}" width="${(x(h.initMedianMs) - left).toFixed(1)}" height="${barH.toFixed(1)}" fill="${COLOR.p95}"/>`,
      `<line x1="${x(h.initMinMs).toFixed(1)}" x2="${x(h.initMaxMs).toFixed(1)}" y1="${cy.toFixed(1)}" y2="${cy.toFixed(1)}" stroke="${COLOR.text}" stroke-width="1.2"/>`,
      `<line x1="${x(h.initMinMs).toFixed(1)}" x2="${x(h.initMinMs).toFixed(1)}" y1="${(cy - 4).toFixed(1)}" y2="${(cy + 4).toFixed(1)}" stroke="${COLOR.text}"/>`,
      `<line x1="${x(h.initMaxMs).toFixed(1)}" x2="${x(h.initMaxMs).toFixed(1)}" y1="${(cy - 4).toFixed(1)}" y2="${(cy + 4).toFixed(1)}" stroke="${COLOR.text}"/>`,
      text(
        x(h.initMaxMs) + 5,
        cy + 4,
        `${Math.round(h.initMedianMs)}`,
        `font-size="10" fill="${COLOR.muted}"`,
      ),
    );
  });
  return panel.svg();
}

export function renderSvg(results: BenchResults): string {
  const m = results.machine;
  const title = `Switchboard benchmark${results.mode === 'quick' ? ' (quick)' : ''}`;
  const subtitle =
    `${results.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB · ` +
    `Node ${m.node} · local stack + DynamoDB Local + ${results.method.clientWorkers} client processes on one machine · load ${m.loadAverageAtStart[0]}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="title" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<title id="title">${esc(`${title}: fan-out latency and throughput against a bare PostToConnection floor, DynamoDB read units of the fan-out Query against a scan-all, soak deliveries and memory, handler cold starts`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#f6f8fa"/>`,
    text(GAP + 2, 26, title, `font-size="18" font-weight="700" fill="${COLOR.text}"`),
    text(GAP + 2, 45, subtitle, `font-size="11.5" fill="${COLOR.muted}"`),
    latencyPanel(results),
    throughputPanel(results),
    costPanel(results),
    memoryPanel(results),
    soakPanel(results),
    coldStartPanel(results),
    '</svg>',
    '',
  ].join('\n');
}
