// The casualties-by-month chart: a real time axis (every month from the first to the last,
// empty months at zero), round y ticks, the low–high band, x ticks spaced for their labels.
import { number, plural, range, svg, titled } from "./dom.js";

// Every month from `first` to `last` ("YYYY-MM"), both included.
export function monthsBetween(first, last) {
  const out = [];
  let [y, m] = first.split("-").map(Number);
  const [ly, lm] = last.split("-").map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, "0")}`);
    m += 1;
    if (m > 12) { m = 1; y += 1; }
  }
  return out;
}

// A round step for about `count` ticks up to `max`: 1, 2 or 5 times a power of ten.
export function niceStep(max, count) {
  const raw = Math.max(1, max / count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw);
  return Math.max(1, step);
}

export function monthChart(chart, data) {
  chart.replaceChildren();
  const W = 1000, H = 220, left = 48, right = 12, top = 12, bottom = 30;
  if (data instanceof Error) {
    chart.append(svg("text", { x: 20, y: 30, class: "muted" }, `Not shown: ${data.message}`));
    return;
  }
  const known = new Map(data.rows.filter((r) => /^\d{4}-\d{2}$/.test(r.key))
    .map((r) => [r.key, r]));
  if (!known.size) {
    chart.append(svg("text", { x: 20, y: 30, class: "muted" }, "No casualties."));
    return;
  }
  const keys = [...known.keys()].sort();
  const months = monthsBetween(keys[0], keys[keys.length - 1]);
  const zero = { best: 0, low: 0, high: 0 };
  const rows = months.map((m) => ({ key: m, killed: known.has(m) ? known.get(m).killed : zero,
    incidents: known.has(m) ? known.get(m).incidents : 0 }));
  const max = Math.max(1, ...rows.map((r) => Math.max(r.killed.high, r.killed.best)));
  const yStep = niceStep(max, 4);
  const yMax = Math.ceil(max / yStep) * yStep;
  const plotW = W - left - right, plotH = H - top - bottom;
  const step = plotW / rows.length;
  const x = (i) => left + step * i;
  const y = (v) => top + plotH - (v / yMax) * plotH;

  // y axis: round ticks with grid lines.
  for (let v = 0; v <= yMax; v += yStep) {
    chart.append(svg("line", { x1: left, y1: y(v), x2: W - right, y2: y(v),
      stroke: v ? "#e6e9ee" : "#999", class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y(v) + 4, "font-size": 11, "text-anchor": "end",
      class: "y-tick" }, number(v)));
  }
  // The low–high band, over every month (empty ones at zero).
  const mid = (i) => x(i) + step / 2;
  const band = rows.map((r, i) => `${mid(i).toFixed(1)},${y(r.killed.high).toFixed(1)}`)
    .concat(rows.map((r, i) => `${mid(i).toFixed(1)},${y(r.killed.low).toFixed(1)}`)
      .reverse());
  chart.append(titled(svg("polygon", { points: band.join(" "), fill: "var(--band)",
    opacity: 0.8, class: "band" }), "low–high range"));
  // A bar per month, empty months included (height zero), each with its figures.
  rows.forEach((r, i) => {
    const height = Math.max(0, y(0) - y(r.killed.best));
    chart.append(titled(svg("rect", { x: (x(i) + step * 0.15).toFixed(2), y: y(r.killed.best),
      width: Math.max(0.5, step * 0.7).toFixed(2), height, fill: "var(--accent)",
      class: "month", "data-month": r.key, "data-best": r.killed.best }),
    `${r.key}: ${r.killed.best} killed` + (range(r.killed) ? ` (${range(r.killed)})` : "") +
      `, ${plural(r.incidents, "incident", "incidents")}`));
  });
  // x axis: ticks far enough apart for their labels: months, or years when the span is long.
  const labelWidth = 58;
  const maxTicks = Math.max(1, Math.floor(plotW / labelWidth));
  const every = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600].find((s) => rows.length / s <= maxTicks)
    || 1200;
  rows.forEach((r, i) => {
    const [year, month] = r.key.split("-").map(Number);
    const index = year * 12 + month - 1;
    if (index % every !== 0) return;
    chart.append(svg("line", { x1: x(i), y1: y(0), x2: x(i), y2: y(0) + 5, stroke: "#999" }));
    chart.append(svg("text", { x: x(i), y: H - bottom + 18, "font-size": 11,
      "text-anchor": i === 0 ? "start" : "middle", class: "x-tick" },
    every >= 12 ? String(year) : r.key));
  });
  chart.dataset.months = String(rows.length);
}
