// The dashboard: reads only the public JSON API (/api/v1/...), renders with the DOM, and
// follows /api/v1/stream. No third-party code; nothing is loaded from another host.
"use strict";

const API = "/api/v1";
const body = document.body;
const state = {
  asOf: body.dataset.asOf || "",       // "" = now (live)
  country: body.dataset.country || "",
  group: body.dataset.group || "jnim",
  first: null,                          // when the log began (ms), for the slider
  position: null,                       // the views' position last rendered
};

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
};
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
const range = (k) => (k.low === k.high ? "" : `${k.low}–${k.high}`);

async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null) query.set(k, v);
  if (state.asOf && !("as_of" in params)) query.set("as_of", state.asOf);
  const response = await fetch(`${API}${path}${query.size ? "?" + query : ""}`);
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    const error = new Error(problem.message || response.statusText);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// -- casualties ------------------------------------------------------------------------------

function tallyTable(table, data, label) {
  table.replaceChildren(el("tr", {}, el("th", {}, label), el("th", { class: "num" }, "killed"),
    el("th", { class: "num" }, "range"), el("th", { class: "num" }, "civilians"),
    el("th", { class: "num" }, "incidents")));
  if (!data.rows.length) {
    table.append(el("tr", {}, el("td", { colspan: 5, class: "muted empty" },
      state.asOf ? "No casualties known at that time." : "No casualties recorded.")));
    return;
  }
  for (const r of data.rows) {
    table.append(el("tr", { "data-key": r.key }, el("td", {}, r.name || r.key),
      el("td", { class: "num best" }, r.killed.best),
      el("td", { class: "num muted" }, range(r.killed)),
      el("td", { class: "num", title: r.civilians && r.civilians.reported_by != null ?
        `given for ${r.civilians.reported_by} of ${r.incidents} incidents` : "" },
        r.civilians && r.civilians.best !== null ? r.civilians.best : "—"),
      el("td", { class: "num" }, r.incidents)));
  }
}

function monthChart(data) {
  const chart = $("by-month");
  chart.replaceChildren();
  const rows = [...data.rows].filter((r) => r.key !== "(unknown)")
    .sort((a, b) => a.key.localeCompare(b.key));
  if (!rows.length) {
    chart.append(Object.assign(svg("text", { x: 20, y: 30, class: "muted" }),
      { textContent: "No casualties." }));
    return;
  }
  const W = 800, H = 220, left = 40, bottom = 30;
  const max = Math.max(1, ...rows.map((r) => Math.max(r.killed.high, r.killed.best)));
  const step = (W - left - 10) / rows.length;
  const y = (v) => H - bottom - (v / max) * (H - bottom - 10);
  chart.append(svg("line", { x1: left, y1: y(0), x2: W - 10, y2: y(0), stroke: "#999" }));
  const band = rows.map((r, i) => `${left + step * (i + 0.5)},${y(r.killed.high)}`)
    .concat(rows.map((r, i) => `${left + step * (i + 0.5)},${y(r.killed.low)}`).reverse());
  chart.append(svg("polygon", { points: band.join(" "), fill: "var(--band)", opacity: 0.8 }));
  rows.forEach((r, i) => {
    const x = left + step * i + step * 0.2, h = y(0) - y(r.killed.best);
    const bar = svg("rect", { x, y: y(r.killed.best), width: Math.max(1, step * 0.6),
      height: Math.max(0, h), fill: "var(--accent)" });
    bar.append(Object.assign(svg("title"), { textContent:
      `${r.key}: ${r.killed.best} killed (${r.killed.low}–${r.killed.high})` }));
    chart.append(bar);
    if (rows.length <= 24 || i % Math.ceil(rows.length / 24) === 0) {
      chart.append(Object.assign(svg("text", { x: x, y: H - 10, "font-size": 10 }),
        { textContent: r.key }));
    }
  });
  chart.append(Object.assign(svg("text", { x: 2, y: 16, "font-size": 10 }),
    { textContent: String(max) }));
}

// -- incidents: map, table, detail -----------------------------------------------------------

// Country outlines: Natural Earth 1:110m as TopoJSON (static/vendor), decoded here: each arc
// is a run of quantized, delta-encoded points; a negative index means the arc reversed.
let outlines = null;

async function loadOutlines() {
  if (outlines !== null) return outlines;
  try {
    const url = document.querySelector("script[src*='dashboard.js']").src
      .replace("dashboard.js", "vendor/countries-110m.json");
    const topology = await (await fetch(url)).json();
    const [sx, sy] = topology.transform.scale, [tx, ty] = topology.transform.translate;
    const arcs = topology.arcs.map((arc) => {
      let x = 0, y = 0;
      return arc.map(([dx, dy]) => { x += dx; y += dy; return [x * sx + tx, y * sy + ty]; });
    });
    const ring = (indexes) => indexes.flatMap((i, n) => {
      const points = i >= 0 ? arcs[i] : [...arcs[~i]].reverse();
      return n ? points.slice(1) : points;
    });
    outlines = [];
    for (const g of topology.objects.countries.geometries) {
      const polygons = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
      outlines.push({ name: g.properties.name, rings: polygons.flatMap((p) => p.map(ring)) });
    }
  } catch (error) {
    outlines = [];  // the map still shows its points on the graticule
  }
  return outlines;
}

function drawOutlines(map, px, py) {
  for (const country of outlines || []) {
    let d = "";
    for (const ring of country.rings) {
      let previous = null;
      for (const [lon, lat] of ring) {
        // A ring crossing the antimeridian is broken there, not drawn across the map.
        const jump = previous === null || Math.abs(lon - previous) > 180;
        d += `${jump ? "M" : "L"}${px(lon).toFixed(1)},${py(lat).toFixed(1)}`;
        previous = lon;
      }
    }
    const path = svg("path", { d, fill: "#fbfbf8", stroke: "#9aa6b5", "stroke-width": 0.7,
      class: "country" });
    path.append(Object.assign(svg("title"), { textContent: country.name }));
    map.append(path);
  }
}

async function incidentMap(incidents) {
  const map = $("map");
  await loadOutlines();
  map.replaceChildren();
  const placed = incidents.filter((i) => i.location && i.location.latitude != null);
  const W = 800, H = 400;
  let [x0, x1, y0, y1] = [-20, 30, -5, 25];  // the Sahel, until there are points
  if (placed.length) {
    const xs = placed.map((i) => i.location.longitude), ys = placed.map((i) => i.location.latitude);
    const pad = 2;
    [x0, x1, y0, y1] = [Math.min(...xs) - pad, Math.max(...xs) + pad,
                        Math.min(...ys) - pad, Math.max(...ys) + pad];
    const span = Math.max(x1 - x0, (y1 - y0) * 2, 12);
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    [x0, x1, y0, y1] = [cx - span / 2, cx + span / 2, cy - span / 4, cy + span / 4];
  }
  const px = (lon) => ((lon - x0) / (x1 - x0)) * W;
  const py = (lat) => H - ((lat - y0) / (y1 - y0)) * H;
  for (let lon = Math.ceil(x0); lon <= x1; lon += 1) {
    if (lon % 5 === 0) map.append(svg("line", { x1: px(lon), y1: 0, x2: px(lon), y2: H,
      stroke: "#d5dde8" }));
  }
  for (let lat = Math.ceil(y0); lat <= y1; lat += 1) {
    if (lat % 5 === 0) map.append(svg("line", { x1: 0, y1: py(lat), x2: W, y2: py(lat),
      stroke: "#d5dde8" }));
  }
  drawOutlines(map, px, py);
  for (const i of placed) {
    const dot = svg("circle", { cx: px(i.location.longitude), cy: py(i.location.latitude),
      r: 3 + Math.sqrt(i.killed.best), fill: "var(--accent)", "fill-opacity": 0.55,
      stroke: "#7a1a14", "data-id": i.id });
    dot.append(Object.assign(svg("title"), { textContent:
      `${i.location.name}, ${i.date}: ${i.killed.best} killed` }));
    dot.addEventListener("click", () => showIncident(i.id));
    map.append(dot);
  }
  if (!placed.length) {
    map.append(Object.assign(svg("text", { x: 20, y: 30 }),
      { textContent: "No incident with coordinates here." }));
  }
}

function incidentTable(incidents) {
  const table = $("incidents");
  table.replaceChildren(el("tr", {}, el("th", {}, "date"), el("th", {}, "where"),
    el("th", {}, "type"), el("th", { class: "num" }, "killed"), el("th", {}, "best from")));
  for (const i of incidents) {
    const basis = i.killed.basis;
    table.append(el("tr", { "data-id": i.id },
      el("td", {}, i.date || ""),
      el("td", {}, el("a", { href: `#${i.id}`, onclick: (e) => { e.preventDefault();
        showIncident(i.id); } }, [i.location && i.location.name, i.location &&
        i.location.country].filter(Boolean).join(", ") || i.id)),
      el("td", {}, i.type || ""),
      el("td", { class: "num" }, i.killed.best, " ",
        el("small", {}, range(i.killed))),
      el("td", { class: "muted" }, basis ? `${basis.source || "analysts"} (${basis.rule})` : "")));
  }
}

async function showIncident(id) {
  const box = $("incident-detail");
  try {
    const i = await api(`/incidents/${encodeURIComponent(id)}`);
    const basis = i.killed.basis || {};
    box.replaceChildren(
      el("h3", {}, `${i.location ? i.location.name : ""} — ${i.date} (${i.type})`),
      el("p", {}, `Killed: ${i.killed.best}`, i.killed.low !== i.killed.high ?
        ` (range ${i.killed.low}–${i.killed.high})` : "", i.killed.flagged ?
        el("span", { class: "flag" }, ` — ${i.killed.flagged}`) : null),
      el("p", { class: "muted" }, `Best from: ${basis.rule || "—"}, report ${basis.report ||
        "—"}, ${basis.source || "analysts"}, published ${basis.published || "—"}`),
      i.details_withdrawn ? el("p", { class: "withdrawn" },
        `Details come from a withdrawn report (${i.details_withdrawn}).`) : null,
      i.members && i.members.length > 1 ? el("p", { class: "muted" },
        `One event, ${i.members.length} records counted once: ${i.members.join(", ")}`) : null,
      el("table", {}, el("tr", {}, el("th", {}, "source"), el("th", {}, "report"),
        el("th", {}, "published"), el("th", { class: "num" }, "killed")),
        i.figures.map((f) => el("tr", {}, el("td", {}, f.source + (f.actor ? ` (${f.actor})` : "")),
          el("td", {}, f.report), el("td", {}, f.published || ""),
          el("td", { class: "num" }, f.killed, " ", el("small", {},
            f.low != null || f.high != null ? `${f.low ?? "?"}–${f.high ?? "?"}` : ""))))),
      el("p", {}, el("a", { href: `${API}/history/incident/${encodeURIComponent(id)}` },
        "history (every event, with provenance)")));
    box.hidden = false;
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, `Not known at that time (${error.message}).`));
    box.hidden = false;
  }
}

// -- leadership, operations, changes ---------------------------------------------------------

async function renderLeadership() {
  const box = $("leaders");
  try {
    const g = await api(`/groups/${encodeURIComponent(state.group)}/leadership`);
    box.replaceChildren(el("h3", {}, g.name),
      el("ul", { class: "current" }, g.leaders.map((l) => el("li", {},
        el("strong", {}, l.name), ` — ${l.role}`, l.since ? ` since ${l.since}` : ""))),
      g.former.length ? el("h3", {}, "Former") : null,
      el("ul", { class: "former" }, g.former.map((l) => el("li", {}, `${l.name} — ${l.role}`,
        l.until ? ` until ${l.until}` : "", ` (${l.reason}`, l.incident ?
          el("span", {}, ", ", el("a", { href: `#${l.incident}`, onclick: (e) => {
            e.preventDefault(); showIncident(l.incident); } }, l.incident)) : null, ")"))));
  } catch (error) {
    box.replaceChildren(el("p", { class: "muted" }, `No group '${state.group}' known (${error.message}).`));
  }
}

async function renderOperations() {
  const data = await api("/operations");
  const table = $("operations");
  table.replaceChildren(el("tr", {}, el("th", {}, "operation"), el("th", {}, "status"),
    el("th", {}, "lead"), el("th", { class: "num" }, "incidents"), el("th", { class: "num" }, "killed")));
  for (const o of data.operations) {
    table.append(el("tr", {}, el("td", {}, o.name), el("td", {}, o.status), el("td", {}, o.lead),
      el("td", { class: "num" }, o.incidents.length), el("td", { class: "num" }, o.killed.best)));
  }
}

async function renderChanges() {
  const box = $("change-list");
  if (!state.asOf) {
    box.replaceChildren(el("p", { class: "muted" }, "Move the slider back to compare with now."));
    return;
  }
  const data = await api("/changes", { from: state.asOf, by: "country", as_of: null });
  if (!data.rows.length) {
    box.replaceChildren(el("p", { class: "muted" }, "Nothing changed since then."));
    return;
  }
  box.replaceChildren(el("table", {}, el("tr", {}, el("th", {}, "country"),
    el("th", { class: "num" }, "then"), el("th", { class: "num" }, "now"), el("th", {}, "because of")),
    data.rows.map((r) => el("tr", {}, el("td", {}, r.key),
      el("td", { class: "num" }, r.before.best), el("td", { class: "num" }, r.after.best),
      el("td", {}, r.causes.map((c) => `${c.report} (${c.source || "?"})`).join("; "))))));
}

// -- everything, and the controls ------------------------------------------------------------

async function render() {
  const filters = { country: state.country };
  const [byCountry, byAdmin1, byMonth, incidents] = await Promise.all([
    api("/casualties", { by: "country" }), api("/casualties", { by: "admin1", ...filters }),
    api("/casualties", { by: "month", ...filters }), api("/incidents", { limit: 200, ...filters }),
  ]);
  tallyTable($("by-country"), byCountry, "country");
  tallyTable($("by-admin1"), byAdmin1, "admin1");
  monthChart(byMonth);
  await incidentMap(incidents.incidents);
  incidentTable(incidents.incidents);
  const select = $("country");
  const known = new Set([...select.options].map((o) => o.value));
  for (const r of byCountry.rows) {
    if (!known.has(r.key)) select.append(el("option", { value: r.key }, r.key));
  }
  select.value = state.country;
  await Promise.all([renderLeadership(), renderOperations(), renderChanges()]);
  body.dataset.rendered = String(state.position ?? "");
}

function sliderTime() {
  const v = Number($("slider").value);
  if (v >= 1000 || state.first === null) return "";
  const t = state.first + (Date.now() - state.first) * (v / 1000);
  return new Date(t).toISOString();
}

function showAsOf() {
  $("as-of-label").textContent = state.asOf ? state.asOf.replace("T", " ").slice(0, 19) : "now";
  $("live").className = state.asOf ? "live past" : "live";
  $("live").textContent = state.asOf ? "past" : "live";
  const url = new URL(location.href);
  for (const [k, v] of [["as_of", state.asOf], ["country", state.country], ["group", state.group]]) {
    if (v && !(k === "group" && v === "jnim")) url.searchParams.set(k, v);
    else url.searchParams.delete(k);
  }
  history.replaceState(null, "", url);
}

async function start() {
  try {
    const log = await api("/events", { limit: 1, as_of: null });
    if (log.events.length) state.first = Date.parse(log.events[0].recorded);
  } catch (error) { /* an empty or unreachable log: the slider stays at now */ }
  if (state.asOf && state.first !== null) {
    const t = Date.parse(state.asOf);
    if (!Number.isNaN(t)) {
      $("slider").value = String(Math.max(0, Math.min(999,
        Math.round(((t - state.first) / Math.max(1, Date.now() - state.first)) * 1000))));
    }
  }
  $("slider").addEventListener("input", () => { $("as-of-label").textContent =
    (sliderTime() || "now").replace("T", " ").slice(0, 19); });
  $("slider").addEventListener("change", () => { state.asOf = sliderTime(); showAsOf(); render(); });
  $("now").addEventListener("click", () => { $("slider").value = "1000"; state.asOf = "";
    showAsOf(); render(); });
  $("country").addEventListener("change", (e) => { state.country = e.target.value; showAsOf(); render(); });
  $("group").addEventListener("change", (e) => { state.group = e.target.value.trim() || "jnim";
    showAsOf(); renderLeadership(); });
  showAsOf();
  await render();
  follow();
}

function follow() {
  if (!window.EventSource) return;
  const stream = new EventSource(`${API}/stream`);
  stream.addEventListener("position", (e) => {
    const data = JSON.parse(e.data);
    const first = state.position === null;
    state.position = data.position;
    body.dataset.position = String(data.position);
    if (!first && !state.asOf) render();  // the live view follows; a past view stays put
  });
  stream.addEventListener("open", () => { $("live").classList.remove("off"); });
  stream.addEventListener("error", () => { if (!state.asOf) $("live").classList.add("off"); });
}

start();
