// The incident map: country outlines, a graticule, and every incident given (binned when
// many), on a plain equirectangular frame fitted to them.
import { number, plural, shown, svg, titled, where } from "./dom.js";

// Country outlines: Natural Earth 1:110m as TopoJSON (static/vendor), decoded here: each arc
// is a run of quantized, delta-encoded points; a negative index means the arc reversed.
let outlines = null;

export async function loadOutlines() {
  if (outlines !== null) return outlines;
  try {
    const topology = await (await fetch(new URL("vendor/countries-110m.json",
      import.meta.url))).json();
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
    map.append(titled(svg("path", { d, fill: "#fbfbf8", stroke: "#9aa6b5",
      "stroke-width": 0.7, class: "country" }), country.name));
  }
}

// A GeoJSON feature as the map needs it, whichever shape its properties have (nested
// `killed`/`location`, or flat `killed_best`, `location`, `country`).
export function point(feature) {
  const p = feature.properties || {};
  const [lon, lat] = feature.geometry.coordinates;
  const killed = p.killed_best ?? (p.killed && p.killed.best) ?? 0;
  return { id: feature.id ?? p.id, lon, lat, killed: Number(killed) || 0, date: p.date,
    where: where(p) };
}

// Draws `features` (GeoJSON) on `map` and says what the reader should know about them.
// Past `maxPoints` placed incidents, grid bins: each a circle at its incidents' mean
// position, sized by how many it holds; `onArea(bbox)` hears a click on one. `onIncident(id)`
// hears a click on a single incident.
export function drawMap(map, features, { total, error, maxPoints, onIncident, onArea }) {
  map.replaceChildren();
  const placed = features.filter((f) => f.geometry && f.geometry.coordinates).map(point);
  const W = 800, H = 400;
  let [x0, x1, y0, y1] = [-20, 30, -5, 25];  // the Sahel, until there are points
  if (placed.length) {
    let [a, b, c, d] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const p of placed) {
      a = Math.min(a, p.lon); b = Math.max(b, p.lon); c = Math.min(c, p.lat); d = Math.max(d, p.lat);
    }
    const pad = 2;
    [x0, x1, y0, y1] = [a - pad, b + pad, c - pad, d + pad];
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
  if (placed.length > maxPoints) {
    const CELL = 16;
    const bins = new Map();
    for (const p of placed) {
      const key = `${Math.floor(px(p.lon) / CELL)},${Math.floor(py(p.lat) / CELL)}`;
      const bin = bins.get(key) || { n: 0, killed: 0, lon: 0, lat: 0, key };
      bin.n += 1; bin.killed += p.killed; bin.lon += p.lon; bin.lat += p.lat;
      bins.set(key, bin);
    }
    const lonAt = (x) => x0 + (x / W) * (x1 - x0);
    const latAt = (y) => y0 + ((H - y) / H) * (y1 - y0);
    const fixed = (v) => String(Math.round(v * 1000) / 1000);
    for (const bin of bins.values()) {
      const [cx, cy] = bin.key.split(",").map(Number);
      const bbox = [lonAt(cx * CELL), latAt((cy + 1) * CELL), lonAt((cx + 1) * CELL),
        latAt(cy * CELL)].map((v, i) => Math.max(i % 2 ? -90 : -180, Math.min(i % 2 ? 90 : 180, v)));
      const dot = svg("circle", { cx: px(bin.lon / bin.n), cy: py(bin.lat / bin.n),
        r: Math.min(CELL, 2.5 + Math.sqrt(bin.n)), fill: "var(--accent)", "fill-opacity": 0.55,
        stroke: "#7a1a14", class: "bin", "data-count": bin.n });
      titled(dot, `${plural(bin.n, "incident", "incidents")}, ${number(bin.killed)} killed ` +
        "(click: only this area)");
      dot.addEventListener("click", () => onArea(bbox.map(fixed).join(",")));
      map.append(dot);
    }
  } else {
    for (const p of placed) {
      const dot = svg("circle", { cx: px(p.lon), cy: py(p.lat),
        r: Math.min(18, 3 + Math.sqrt(p.killed)), fill: "var(--accent)", "fill-opacity": 0.55,
        stroke: "#7a1a14", "data-id": p.id });
      titled(dot, `${p.where || p.id}, ${shown(p.date)}: ${p.killed} killed`);
      dot.addEventListener("click", () => onIncident(p.id));
      map.append(dot);
    }
  }
  if (error) {
    map.append(svg("text", { x: 16, y: 26, "font-size": 13 }, `Not shown: ${error.message}`));
  } else if (!placed.length) {
    map.append(svg("text", { x: 16, y: 26, "font-size": 13 }, "No incident with coordinates here."));
  }
  map.dataset.points = String(placed.length);
  const unplaced = total - placed.length;
  return error ? "" : [
    placed.length > maxPoints ? `${number(placed.length)} incidents in grid bins (the number ` +
      "in each is its size; click one to see only its area)." : "",
    unplaced > 0 ? `${plural(unplaced, "matching incident has", "matching incidents have")} ` +
      "no coordinates." : ""].filter(Boolean).join(" ");
}

